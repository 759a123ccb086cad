"""Cityscapes: ``*_gtFine_labelIds.png`` (or ``*_gtFine_polygons.json``) -> ``*_labelTrainIds.png``
with the official 19 classes, and the train / val lists.

The id -> trainId table and the polygon drawing are cityscapesscripts' own
(``helpers.labels``, ``preparation.json2labelImg.createLabelImage``), the reference the
benchmark defines; only the atomic writing and the checks are done here.
"""
import glob
import os

import numpy as np

from ..checks import DatasetError, check_pair, image_size
from ..class_names import CITYSCAPES
from .labels import check_image_decodes, read_label, require_single_channel
from .report import PrepareReport
from .writing import list_entry, write_label_png, write_lines

NUM_CLASSES = 19
IGNORE_INDEX = 255
SOURCES = {'labelIds': '_gtFine_labelIds.png', 'polygons': '_gtFine_polygons.json'}


def cityscapes_labels():
    """cityscapesscripts' label list (namedtuples with ``name``, ``id``, ``trainId`` ...)."""
    from cityscapesscripts.helpers.labels import labels
    return labels


def train_id_lut():
    """[256] uint8 table: Cityscapes label id -> train id 0..18, 255 for ignored ids.

    Returns:
        tuple: (table, set of the label ids that exist).
    """
    lut = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    known = set()
    for label in cityscapes_labels():
        if label.id < 0:   # 'license plate' (-1): never in a labelIds PNG
            continue
        known.add(label.id)
        if 0 <= label.trainId < IGNORE_INDEX:
            lut[label.id] = label.trainId
    return lut, known


def train_ids_from_label_ids(path, lut, known):
    """Read one ``*_gtFine_labelIds.png`` and map it to train ids ([H, W] uint8)."""
    ids = require_single_channel(read_label(path), path)
    unknown = sorted(set(np.unique(ids).tolist()) - known)
    if unknown:
        raise DatasetError('label file {} holds value(s) {} that are no Cityscapes label id'.format(
            path, unknown[:10]))
    return lut[ids]


def train_ids_from_polygons(path):
    """Draw one ``*_gtFine_polygons.json`` as train ids with cityscapesscripts ([H, W] uint8)."""
    from cityscapesscripts.helpers.annotation import Annotation
    from cityscapesscripts.helpers.labels import name2label
    from cityscapesscripts.preparation.json2labelImg import createLabelImage
    annotation = Annotation()
    try:
        annotation.fromJsonFile(path)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DatasetError('cannot read polygons file {}: {!r}'.format(path, e)) from e
    for obj in annotation.objects:
        # createLabelImage exits the process on an unknown label; name the file instead.
        name = obj.label
        if name not in name2label and name.endswith('group'):
            name = name[:-len('group')]
        if not obj.deleted and name not in name2label:
            raise DatasetError('polygons file {} has an unknown label {!r}'.format(path, obj.label))
    return np.array(createLabelImage(annotation, 'trainIds'))


def _convert(image, source_path, source, lut, known):
    check_image_decodes(image)
    if source == 'labelIds':
        check_pair(image, source_path)
        train_ids = train_ids_from_label_ids(source_path, lut, known)
    else:
        if not os.path.isfile(source_path):
            raise DatasetError('polygons file not found: {}'.format(source_path))
        train_ids = train_ids_from_polygons(source_path)
        if image_size(image) != (train_ids.shape[1], train_ids.shape[0]):
            raise DatasetError('image is {}x{} (WxH), polygons file {} says {}x{}'.format(
                *image_size(image), source_path, train_ids.shape[1], train_ids.shape[0]))
    return train_ids


def prepare_cityscapes(root, source='labelIds', splits=('train', 'val')):
    """Write ``gtFine/<split>/<city>/*_gtFine_labelTrainIds.png`` and ``root/<split>.txt``.

    Args:
        root (str): the folder holding ``leftImg8bit/`` and ``gtFine/``.
        source (str): 'labelIds' (the PNGs) or 'polygons' (the JSON files).
        splits (tuple): the splits to convert.

    Returns:
        PrepareReport: images per split, histogram of train ids, failures.
    """
    if source not in SOURCES:
        raise ValueError('source must be one of {}, got {!r}'.format(sorted(SOURCES), source))
    for sub in ('leftImg8bit', 'gtFine'):
        if not os.path.isdir(os.path.join(root, sub)):
            raise DatasetError('Cityscapes folder {} not found: unpack leftImg8bit_trainvaltest.zip and '
                               'gtFine_trainvaltest.zip into {}'.format(os.path.join(root, sub), root))
    report = PrepareReport('Cityscapes ({}, from {})'.format(root, source), NUM_CLASSES, IGNORE_INDEX,
                           list(CITYSCAPES))
    lut, known = train_id_lut()
    for split in splits:
        images = sorted(glob.glob(os.path.join(root, 'leftImg8bit', split, '*', '*_leftImg8bit.png')))
        if not images:
            report.fail(os.path.join(root, 'leftImg8bit', split), 'no <city>/*_leftImg8bit.png images')
            continue
        entries = []
        for image in images:
            rel = os.path.relpath(image, os.path.join(root, 'leftImg8bit'))[:-len('_leftImg8bit.png')]
            base = os.path.join(root, 'gtFine', rel + '_gtFine')
            out_path = base + '_labelTrainIds.png'
            try:
                train_ids = _convert(image, base + SOURCES[source][len('_gtFine'):], source, lut, known)
                entry = list_entry(root, image, out_path)
                write_label_png(out_path, train_ids)
            except DatasetError as e:
                report.fail(image, str(e))
                continue
            report.labels_written += 1
            report.add_label(train_ids)
            entries.append(entry)
        path = os.path.join(root, split + '.txt')
        write_lines(path, entries)
        report.lists.append((path, len(entries)))
        report.images[split] = len(entries)
    return report
