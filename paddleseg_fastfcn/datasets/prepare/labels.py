"""Reading label images and converting colour masks to class ids.

Errors are ``checks.DatasetError`` naming the file, like the dataset checks the
trainer runs, so a preparation tool can record them and go on with the next file.
"""
import numpy as np

from paddleseg_fastfcn.utils.image_header import ImageReadError, open_image
from paddleseg_fastfcn.utils.limits import LimitExceeded
from ..checks import DatasetError, multichannel_label_error


def _decode(path, kind, decode):
    """``decode(im)`` of ``path`` opened by ``open_image`` (regular file, pixels under the cap)."""
    try:
        with open_image(path, kind) as im:
            return decode(im)
    except (ImageReadError, LimitExceeded) as e:
        raise DatasetError(str(e)) from e
    except (OSError, ValueError) as e:
        raise DatasetError('cannot decode {} file {}: {}'.format(kind, path, e)) from e


def read_label(path):
    """The pixels of a label image as PIL decodes them.

    Palette ('P') PNGs give their indices, as PaddleSeg reads them when training.

    Args:
        path (str): the label file.

    Returns:
        np.ndarray: [H, W] for single-channel images, [H, W, C] for colour ones.

    Raises:
        DatasetError: the file is missing, not a regular file, above the pixel cap or
            not a readable image.
    """
    return _decode(path, 'label', np.array)


def require_single_channel(label, path):
    """Raise unless ``label`` is [H, W] (a colour mask needs a palette to become class ids)."""
    if label.ndim != 2:
        raise multichannel_label_error(path, label.shape[2])
    return label


def read_palette(path):
    """Read a palette file: one ``R G B`` line per class, class 0 first.

    Values may be separated by spaces or commas; blank lines and ``#`` comments are
    ignored.

    Returns:
        np.ndarray: [K, 3] uint8, row k = the colour of class k.

    Raises:
        DatasetError: a malformed line, a value outside 0..255 or a repeated colour
            (named with file and line).
    """
    colours, seen = [], {}
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            text = line.split('#', 1)[0].replace(',', ' ').split()
            if not text:
                continue
            try:
                rgb = tuple(int(v) for v in text)
            except ValueError:
                rgb = ()
            if len(rgb) != 3 or not all(0 <= v <= 255 for v in rgb):
                raise DatasetError('{}:{}: expected "R G B" with values 0..255, got {!r}'.format(
                    path, lineno, line.strip()))
            if rgb in seen:
                raise DatasetError('{}:{}: colour {} is already class {} (line {})'.format(
                    path, lineno, rgb, seen[rgb][0], seen[rgb][1]))
            seen[rgb] = (len(colours), lineno)
            colours.append(rgb)
    if not colours:
        raise DatasetError('palette file {} holds no colours'.format(path))
    return np.array(colours, dtype=np.uint8)


def _colour_keys(rgb):
    rgb = rgb.astype(np.int64)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def colours_to_ids(mask, palette, path, ignore_colour=None, ignore_index=255):
    """Convert a colour mask to class ids, exactly: every colour must be in the palette.

    Args:
        mask (np.ndarray): [H, W, 3] or [H, W, 4] (alpha dropped) uint8.
        palette (np.ndarray): [K, 3], row k = colour of class k.
        path (str): the mask's file (for the message).
        ignore_colour (tuple | None): a colour that becomes ``ignore_index``.
        ignore_index (int): the value written for ``ignore_colour``.

    Returns:
        np.ndarray: [H, W] int64 class ids.

    Raises:
        DatasetError: naming the colours that are neither a class nor the ignore colour.
    """
    if mask.ndim != 3 or mask.shape[2] not in (3, 4):
        raise DatasetError('label file {} is not an RGB(A) colour mask (shape {})'.format(path, mask.shape))
    keys = _colour_keys(mask[..., :3])
    table_keys = _colour_keys(palette)
    values = np.arange(len(palette), dtype=np.int64)
    if ignore_colour is not None:
        table_keys = np.append(table_keys, _colour_keys(np.array(ignore_colour, dtype=np.uint8)))
        values = np.append(values, ignore_index)
    order = np.argsort(table_keys)
    table_keys, values = table_keys[order], values[order]
    pos = np.clip(np.searchsorted(table_keys, keys), 0, len(table_keys) - 1)
    unknown = table_keys[pos] != keys
    if unknown.any():
        colours = np.unique(keys[unknown])
        raise DatasetError('label file {} holds {} pixel(s) of colour(s) not in the palette: {}'.format(
            path, int(unknown.sum()),
            ', '.join('({}, {}, {})'.format(k >> 16, (k >> 8) & 255, k & 255) for k in colours[:10])))
    return values[pos]


def check_image_decodes(path):
    """Decode an image fully (a truncated JPEG passes a header-only check).

    Raises:
        DatasetError: the file is missing, not a regular file, above the pixel cap or
            cannot be decoded.
    """
    _decode(path, 'image', lambda im: im.load())
