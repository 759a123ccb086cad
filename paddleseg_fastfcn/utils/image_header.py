"""Opening an image file safely: a regular file, its header read, its size under the cap.

Every image this project decodes (predict.py and deploy infer through
``image_io.read_image``, dataset images and labels through ``datasets.checks``,
the dataset tools through ``datasets.prepare.labels``) is opened here first.

Why Pillow's lazy ``Image.open``: it parses only the header (a PNG's IHDR, a
JPEG's SOF marker, a TIFF's first IFD) and gives ``width x height`` before any
pixel is decoded, so a few-KB file declaring 40000 x 40000 is refused in
microseconds. OpenCV's alternative, ``OPENCV_IO_MAX_IMAGE_PIXELS``, is read
once when OpenCV first decodes (a later change of the project's cap would not
reach it) and its error names neither the file nor the size. The decoders that
run afterwards (``cv2.imread`` for images, as PaddleSeg's ``Compose``; Pillow
for labels) identify a file by the same magic bytes.

A file whose header Pillow cannot identify is refused: its size cannot be
checked before decoding.
"""
import os
import stat
import threading

from PIL import Image, UnidentifiedImageError

from . import limits

_FILE_TYPES = ((stat.S_ISDIR, 'a folder'), (stat.S_ISFIFO, 'a FIFO (named pipe)'),
               (stat.S_ISSOCK, 'a socket'), (stat.S_ISCHR, 'a character device'),
               (stat.S_ISBLK, 'a block device'))
# Pillow's own bomb check (a warning above its MAX_IMAGE_PIXELS, an error above twice
# that, neither naming the size) is lifted while a header is read: the project's cap,
# which can be raised per run, replaces it. The lock keeps two threads of this module
# from restoring each other's saved value.
_PILLOW_CHECK = threading.Lock()


class ImageReadError(ValueError):
    """An input image (or its folder / list) is missing, not a regular file, or cannot be decoded."""


def _listed_at(origin):
    return ' (listed at {})'.format(origin) if origin else ''


def require_regular_file(path, kind='image', origin=None):
    """Raise unless ``path`` is a regular file (checked with ``stat``, so a FIFO is never opened).

    Args:
        path (str): the file (a symlink is followed).
        kind (str): what it is, for the message (``image``, ``label``).
        origin (str | None): ``list_file:line`` it was listed at.

    Raises:
        ImageReadError: missing, or a folder, FIFO, socket or device (named).
    """
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the path
        what = 'not found' if isinstance(e, FileNotFoundError) else str(e)
        raise ImageReadError('cannot read {} file {}{}: {}'.format(kind, path, _listed_at(origin), what)) from e
    if not stat.S_ISREG(mode):
        what = next((name for test, name in _FILE_TYPES if test(mode)), 'not a regular file')
        raise ImageReadError('{} file {}{} is {}, not a regular file'.format(
            kind, path, _listed_at(origin), what))


def open_image(path, kind='image', origin=None):
    """Open ``path`` lazily (header only) after checking it is a regular file of at most
    ``limits.cap('IMAGE_PIXELS')`` pixels.

    Args:
        path (str): the image file.
        kind (str): what it is, for the messages (``image``, ``label``).
        origin (str | None): ``list_file:line`` it was listed at.

    Returns:
        PIL.Image.Image: not decoded yet (``.size``, ``.mode`` are the header's); use it
        in a ``with`` block, decode with ``np.asarray(im)`` / ``im.load()``.

    Raises:
        ImageReadError: missing, not a regular file, or not an image Pillow can identify.
        limits.LimitExceeded: width x height above the cap (file, size and cap named).
    """
    require_regular_file(path, kind, origin)
    try:
        with _PILLOW_CHECK:
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                im = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise ImageReadError('cannot read {} file {}{}: {}'.format(kind, path, _listed_at(origin), e)) from e
    width, height = im.size
    try:
        limits.check('IMAGE_PIXELS', width * height, path + _listed_at(origin),
                     'its header declares {} {} x {} pixels'.format(kind, width, height))
    except limits.LimitExceeded:
        im.close()
        raise
    return im


def image_header(path, kind='image', origin=None):
    """``((width, height), PIL mode)`` from the header of ``path`` (checked by ``open_image``)."""
    with open_image(path, kind, origin) as im:
        return im.size, im.mode
