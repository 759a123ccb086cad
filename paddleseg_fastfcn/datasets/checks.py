"""Input checks for segmentation datasets: every bad sample gets an error naming its file.

What PaddleSeg 2.8 does with bad input, and why it is replaced here:
- a file list entry pointing to nothing is accepted; the sample later fails inside
  ``Compose`` with ``'NoneType' object has no attribute 'astype'`` (no file name);
- an unreadable image fails the same way;
- a label value >= num_classes (and != ignore_index) is never detected: the loss
  then reads out of range or silently trains on garbage;
- an image and label of different sizes fail deep inside a transform, or (val mode,
  where the label is not transformed) are compared pixel-for-pixel with a resized
  prediction;
- a colour (RGB) label trains on [H, W, 3] garbage without a word, and a 16-bit
  label becomes a bfloat16 tensor (paddle reads numpy uint16 as bfloat16).

Labels must hold class ids in one channel: 8-bit gray, palette indices (the index
is the class, as PaddleSeg reads it) or 16-bit / 32-bit gray (read exactly, range
checked); anything else is refused by name, never converted (``check_label_mode``).

``ValidatedDataset`` wraps any PaddleSeg dataset that keeps ``file_list`` (the
file-list ``Dataset``, ``ADE20K``, ``Cityscapes``, ``PascalContext``...):
missing files are reported when it is built (for a file-list ``Dataset`` with the
list file and line number), the rest when a sample is read. ``validate_dataset``
is what the builder path calls; ``MiniADE20K`` runs the same checks itself.
"""
import os

import numpy as np
import paddle

from paddleseg_fastfcn.utils.image_header import ImageReadError, image_header as read_header
from paddleseg_fastfcn.utils.limits import LimitExceeded
from paddleseg_fastfcn.utils.list_file import ListFileError, read_list_file


class DatasetError(ValueError):
    """A dataset file or entry is invalid; the message names the file (and line)."""


def list_file_entries(list_path, dataset_root, separator=' ', min_fields=1):
    """Parse a PaddleSeg file list (``utils.list_file``), keeping line numbers.

    Args:
        list_path (str): the list file (``image[sep]label`` per line).
        dataset_root (str): the directory the entries are relative to.
        separator (str): the field separator (whitespace: any run of spaces / tabs).
        min_fields (int): 2 where every line needs a label.

    Returns:
        list[tuple]: ``(line_number, image_path, label_path or None)`` per
        non-blank line, in the list's order.

    Raises:
        DatasetError: a malformed line, named ``list_file:line``.
    """
    try:
        entries = read_list_file(list_path, min_fields, 2, separator,
                                 'image label' if min_fields == 2 else 'image [label]')
    except ListFileError as e:
        raise DatasetError(str(e)) from e
    return [(e.lineno, os.path.join(dataset_root, e.fields[0]),
             os.path.join(dataset_root, e.fields[1]) if len(e.fields) == 2 else None) for e in entries]


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
                what = 'is not a regular file' if os.path.exists(path) else 'not found'
                raise DatasetError('{} file {}: {}{}'.format(kind, what, path, origin))


def image_size(path, kind='image'):
    """``(width, height)`` of an image file from its header (no pixel decoding).

    Raises:
        DatasetError: the file is missing or not a readable image.
    """
    return image_header(path, kind)[0]


def image_header(path, kind='image'):
    """``((width, height), PIL mode)`` of an image file from its header (no pixel decoding).

    Raises:
        DatasetError: the file is missing, not a regular file, not a readable image, or
            declares more pixels than ``limits.cap('IMAGE_PIXELS')`` (``utils.image_header``).
    """
    try:
        return read_header(path, kind)
    except (ImageReadError, LimitExceeded) as e:
        raise DatasetError(str(e)) from e


def check_pair(image_path, label_path):
    """Check that an image is readable and, if given, that its label has its size.

    Returns:
        str | None: the label's PIL mode (None without a label).

    Raises:
        DatasetError: unreadable file, or sizes differ (both files and sizes named).
    """
    img_size = image_size(image_path, 'image')
    if label_path is None:
        return None
    label_size, label_mode = image_header(label_path, 'label')
    if img_size != label_size:
        raise DatasetError(
            'image and label sizes differ: image {} is {}x{} (WxH), label {} is {}x{}'.format(
                image_path, img_size[0], img_size[1], label_path, label_size[0], label_size[1]))
    return label_mode


# PIL modes of label files whose pixels (``np.asarray(Image.open(f))``, PaddleSeg's
# label reading) are class ids exactly: 8-bit gray, palette indices (the VOC /
# PaddleSeg convention: the index is the class, the palette only colours it),
# 16-bit gray (values < 2**16, exact) and 32-bit integer.
LABEL_MODES = {'L': '8-bit gray', 'P': 'palette', 'I;16': '16-bit gray', 'I;16L': '16-bit gray',
               'I;16B': '16-bit gray', 'I': '32-bit integer'}
MULTICHANNEL_MODES = {'RGB': 3, 'RGBA': 4, 'LA': 2, 'PA': 2, 'RGBX': 4, 'CMYK': 4, 'YCbCr': 3,
                      'LAB': 3, 'HSV': 3}


def multichannel_label_error(path, channels):
    """The error for a label image with ``channels`` > 1 channels (a colour-coded mask)."""
    return DatasetError(
        'label file {} is a {}-channel (colour) image; a label needs one channel of class ids '
        '(8-bit gray, palette or 16-bit gray PNG). A colour-coded mask: convert its colours with '
        '`tools/data/prepare_custom.py --palette`; a gray mask saved as RGB (all channels equal): '
        'save it as 8-bit gray. Labels are never converted silently'.format(path, channels))


def check_label_mode(label_path, mode):
    """Refuse a label file whose pixel format is not class ids (PIL ``mode`` from its header).

    Raises:
        DatasetError: multi-channel (colour) labels, 1-bit and floating-point labels,
            naming the file and what to do.
    """
    if mode in LABEL_MODES:
        return
    if mode in MULTICHANNEL_MODES:
        raise multichannel_label_error(label_path, MULTICHANNEL_MODES[mode])
    raise DatasetError('label file {} has pixel format {!r} ({}); a label needs integer class ids: '
                       'save it as 8-bit gray, palette or 16-bit gray PNG'.format(
                           label_path, mode, {'1': '1-bit black and white', 'F': 'floating point'}.get(
                               mode, 'not a class-id format')))


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
    label_mode = check_pair(image_path, label_path)
    if label_mode is not None:
        check_label_mode(label_path, label_mode)
    try:
        data = read_sample(idx)
    except (AttributeError, TypeError, ValueError, OSError) as e:
        # PaddleSeg reports an undecodable image as "'NoneType' object has no attribute".
        raise DatasetError('cannot read sample {} (image {}, label {}): {}'.format(
            idx, image_path, label_path, e)) from e
    if label_path is not None and 'label' in data:
        label = np.asarray(data['label'])
        if label.dtype != np.uint8:
            # 16-bit (and 32-bit) labels, exactly: a uint16 array would become a
            # bfloat16 tensor in paddle.to_tensor (paddle's uint16 is bfloat16).
            data['label'] = label = label.astype(np.int64)
        try:
            check_label_values(label, label_path, dataset.num_classes, dataset.ignore_index)
        except DatasetError as e:
            if label_mode == 'P':
                raise DatasetError('{}; it is a palette PNG, whose indices are read as the class ids '
                                   '(the palette only colours them): if its colours are the classes, '
                                   'convert them with `tools/data/prepare_custom.py --palette`'.format(e)) from e
            raise
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
        dataset_cfg (dict | None): its config (unused: a ``FileListDataset`` keeps the
            list line of each sample for the missing-file errors).

    Returns:
        paddle.io.Dataset: ``dataset`` itself when it checks its own samples
        (``CHECKS_SAMPLES``) or has no ``file_list``; else a ``ValidatedDataset``.
    """
    if getattr(dataset, 'CHECKS_SAMPLES', False) or isinstance(dataset, ValidatedDataset) \
            or not hasattr(dataset, 'file_list'):
        return dataset
    where = getattr(dataset, 'origins', None)
    return ValidatedDataset(dataset, where)
