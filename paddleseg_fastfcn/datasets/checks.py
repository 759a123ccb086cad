"""Input checks for segmentation datasets: every bad sample gets an error naming its file.

What PaddleSeg 2.8 does with bad input, and why it is replaced here:
- a file list entry pointing to nothing is accepted; the sample later fails inside
  ``Compose`` with ``'NoneType' object has no attribute 'astype'`` (no file name);
- an unreadable image fails the same way;
- a label value >= num_classes (and != ignore_index) is never detected: the loss
  then reads out of range or silently trains on garbage;
- an image and label of different sizes fail deep inside a transform, or (val mode,
  where the label is not transformed) are compared pixel-for-pixel with a resized
  prediction.

``ValidatedDataset`` wraps any PaddleSeg dataset that keeps ``file_list`` (the
file-list ``Dataset``, ``ADE20K``, ``Cityscapes``, ``PascalContext``...):
missing files are reported when it is built (for a file-list ``Dataset`` with the
list file and line number), the rest when a sample is read. ``validate_dataset``
is what the builder path calls; ``MiniADE20K`` runs the same checks itself.
"""
import os

import numpy as np
import paddle
from PIL import Image, UnidentifiedImageError


class DatasetError(ValueError):
    """A dataset file or entry is invalid; the message names the file (and line)."""


def list_file_entries(list_path, dataset_root, separator=' '):
    """Parse a PaddleSeg file list, keeping line numbers.

    Args:
        list_path (str): the list file (``image[sep]label`` per line).
        dataset_root (str): the directory the entries are relative to.
        separator (str): the field separator.

    Returns:
        list[tuple]: ``(line_number, image_path, label_path or None)`` per
        non-empty line, in PaddleSeg's order.
    """
    entries = []
    with open(list_path, 'r') as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            items = line.strip().split(separator)
            label = os.path.join(dataset_root, items[1]) if len(items) == 2 else None
            entries.append((lineno, os.path.join(dataset_root, items[0]), label))
    return entries


def check_files_exist(file_list, where=None):
    """Raise on the first entry whose image or label file does not exist.

    Args:
        file_list (list): ``[image_path, label_path or None]`` per sample.
        where (list[str] | None): per entry, where it was written (``list.txt:3``);
            None when the list was made by listing a directory.

    Raises:
        DatasetError: naming the missing file (and the list file and line).
    """
    for i, (image_path, label_path) in enumerate(file_list):
        for kind, path in (('image', image_path), ('label', label_path)):
            if path is not None and not os.path.isfile(path):
                origin = ' (listed at {})'.format(where[i]) if where else ''
                raise DatasetError('{} file not found: {}{}'.format(kind, path, origin))


def image_size(path, kind='image'):
    """``(width, height)`` of an image file from its header (no pixel decoding).

    Raises:
        DatasetError: the file is missing or not a readable image.
    """
    try:
        with Image.open(path) as im:
            return im.size
    except FileNotFoundError as e:
        raise DatasetError('{} file not found: {}'.format(kind, path)) from e
    except (UnidentifiedImageError, OSError) as e:
        raise DatasetError('cannot read {} file {}: {}'.format(kind, path, e)) from e


def check_pair(image_path, label_path):
    """Check that an image is readable and, if given, that its label has its size.

    Raises:
        DatasetError: unreadable file, or sizes differ (both files and sizes named).
    """
    img_size = image_size(image_path, 'image')
    if label_path is None:
        return
    label_size = image_size(label_path, 'label')
    if img_size != label_size:
        raise DatasetError(
            'image and label sizes differ: image {} is {}x{} (WxH), label {} is {}x{}'.format(
                image_path, img_size[0], img_size[1], label_path, label_size[0], label_size[1]))


def check_label_values(label, label_path, num_classes, ignore_index):
    """Raise if ``label`` holds a class id outside ``[0, num_classes)`` other than ignore.

    Args:
        label (np.ndarray): the label as the dataset hands it to the model
            (after the dataset's mapping, e.g. ADE20K's ``value - 1``).
        label_path (str): the file it was read from (for the message).
        num_classes (int): number of classes.
        ignore_index (int): the ignored value.

    Raises:
        DatasetError: naming the file and the offending values.
    """
    label = np.asarray(label)
    bad = (label != ignore_index) & ((label >= num_classes) | (label < 0))
    if bad.any():
        values = np.unique(label[bad])
        raise DatasetError(
            'label file {} holds class value(s) {} (after the dataset\'s label mapping) '
            'outside [0, {}) that are not the ignore index {}'.format(
                label_path, values[:10].tolist(), num_classes, ignore_index))


def read_checked(dataset, idx, read_sample):
    """Read sample ``idx`` with ``read_sample(idx)`` and check it.

    Args:
        dataset: a dataset with ``file_list``, ``num_classes``, ``ignore_index``.
        idx (int): sample index.
        read_sample (callable): the dataset's own reader (its ``__getitem__``).

    Returns:
        dict: the sample.
    """
    image_path, label_path = dataset.file_list[idx]
    check_pair(image_path, label_path)
    try:
        data = read_sample(idx)
    except (AttributeError, TypeError, ValueError, OSError) as e:
        # PaddleSeg reports an undecodable image as "'NoneType' object has no attribute".
        raise DatasetError('cannot read sample {} (image {}, label {}): {}'.format(
            idx, image_path, label_path, e)) from e
    if label_path is not None and 'label' in data:
        check_label_values(data['label'], label_path, dataset.num_classes, dataset.ignore_index)
    return data


class ValidatedDataset(paddle.io.Dataset):
    """A PaddleSeg dataset whose samples are checked as they are read.

    Attributes other than the sample access (``num_classes``, ``ignore_index``,
    ``file_list``, ``transforms``, ``mode`` ...) are those of the wrapped dataset.

    Args:
        dataset (paddle.io.Dataset): a PaddleSeg dataset with ``file_list``.
        where (list[str] | None): per entry of ``file_list``, the list file and
            line it came from (used in the missing-file error).
    """

    def __init__(self, dataset, where=None):
        super().__init__()
        self.dataset = dataset
        check_files_exist(dataset.file_list, where)

    def __getattr__(self, name):
        # Only called for attributes not found on the wrapper itself; guard against
        # recursion while ``dataset`` is not set yet (e.g. during unpickling).
        if name == 'dataset':
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, idx):
        return read_checked(self.dataset, idx, self.dataset.__getitem__)

    def __len__(self):
        return len(self.dataset)


def validate_dataset(dataset, dataset_cfg=None):
    """Wrap a built dataset in ``ValidatedDataset`` (the builder path calls this).

    Args:
        dataset (paddle.io.Dataset): built by ``SegBuilder`` from ``dataset_cfg``.
        dataset_cfg (dict | None): its config; for ``type: Dataset`` the list file
            named there gives line numbers to missing-file errors.

    Returns:
        paddle.io.Dataset: ``dataset`` itself when it checks its own samples
        (``CHECKS_SAMPLES``) or has no ``file_list``; else a ``ValidatedDataset``.
    """
    if getattr(dataset, 'CHECKS_SAMPLES', False) or isinstance(dataset, ValidatedDataset) \
            or not hasattr(dataset, 'file_list'):
        return dataset
    where = None
    cfg = dataset_cfg or {}
    list_key = {'train': 'train_path', 'val': 'val_path', 'test': 'test_path'}.get(
        getattr(dataset, 'mode', None))
    list_path = cfg.get(list_key) if list_key else None
    if cfg.get('type') == 'Dataset' and list_path and os.path.isfile(list_path):
        entries = list_file_entries(list_path, dataset.dataset_root, cfg.get('separator', ' '))
        if len(entries) == len(dataset.file_list):
            where = ['{}:{}'.format(list_path, lineno) for lineno, _, _ in entries]
    return ValidatedDataset(dataset, where)
