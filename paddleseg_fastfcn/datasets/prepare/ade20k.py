"""ADE20K (ADEChallengeData2016 as distributed): check the layout and every pair, write the lists.

Layout: ``images/{training,validation}/*.jpg`` and ``annotations/{training,validation}/*.png``
with the same stems. Labels stay as distributed; ``PreparedADE20K`` maps them when it
reads them (0 -> 255 ignore, 1..150 -> 0..149), and the checks here apply that same
mapping, so the histogram shows the classes the model trains on.
"""
import os

import numpy as np

from ..checks import DatasetError, check_label_values, check_pair
from ..class_names import ADE20K as ADE20K_CLASS_NAMES
from ..prepared_ade20k import PreparedADE20K, where_to_put
from .labels import check_image_decodes, read_label, require_single_channel
from .report import PrepareReport
from .writing import list_entry, write_lines

SPLITS = (('train', 'training'), ('val', 'validation'))


def ade20k_train_ids(raw):
    """PNG values -> class ids as ``PreparedADE20K`` reads them: 0 -> 255, v -> v - 1."""
    ids = raw.astype(np.int64) - 1
    ids[ids < 0] = PreparedADE20K.IGNORE_INDEX
    return ids


def _split_entries(root, split, folder, report):
    img_dir = os.path.join(root, 'images', folder)
    ann_dir = os.path.join(root, 'annotations', folder)
    for d in (img_dir, ann_dir):
        if not os.path.isdir(d):
            report.fail(d, 'folder missing; ' + where_to_put(root))
            return None
    entries = []
    stems = set()
    for name in sorted(os.listdir(img_dir)):
        image = os.path.join(img_dir, name)
        stem, ext = os.path.splitext(name)
        if ext.lower() != '.jpg' or not os.path.isfile(image):
            report.skip(image, 'not a .jpg image')
            continue
        stems.add(stem)
        label = os.path.join(ann_dir, stem + '.png')
        try:
            check_pair(image, label)
            check_image_decodes(image)
            ids = ade20k_train_ids(require_single_channel(read_label(label), label))
            check_label_values(ids, label, PreparedADE20K.NUM_CLASSES, PreparedADE20K.IGNORE_INDEX)
            entry = list_entry(root, image, label)
        except DatasetError as e:
            report.fail(image, str(e))
            continue
        report.add_label(ids)
        entries.append(entry)
    for name in sorted(os.listdir(ann_dir)):
        stem, ext = os.path.splitext(name)
        if ext.lower() == '.png' and stem not in stems:
            report.fail(os.path.join(ann_dir, name), 'label without an image {}.jpg in {}'.format(stem, img_dir))
        elif ext.lower() != '.png':
            report.skip(os.path.join(ann_dir, name), 'not a .png label')
    report.images[split] = len(entries)
    return entries


def prepare_ade20k(root):
    """Check ``root`` (ADEChallengeData2016) and write ``root/train.txt`` and ``root/val.txt``.

    Every pair is checked (both files readable, same size, one-channel label with
    values 0..150); a failing pair is left out of its list and reported. A split whose
    folders are missing writes no list.

    Args:
        root (str): the ADEChallengeData2016 folder.

    Returns:
        PrepareReport: counts, histogram (of class ids 0..149, 255 = ignore), failures.

    Raises:
        DatasetError: ``root`` does not exist (the message says where to put the data).
    """
    if not os.path.isdir(root):
        raise DatasetError('ADE20K folder {} does not exist; {}'.format(root, where_to_put(root)))
    report = PrepareReport('ADE20K ({})'.format(root), PreparedADE20K.NUM_CLASSES,
                           PreparedADE20K.IGNORE_INDEX, list(ADE20K_CLASS_NAMES))
    for split, folder in SPLITS:
        entries = _split_entries(root, split, folder, report)
        if entries is None:
            continue
        path = os.path.join(root, split + '.txt')
        write_lines(path, entries)
        report.lists.append((path, len(entries)))
    return report
