"""Input images of predict.py and deploy/python/infer.py: collecting paths and decoding.

``--image_path`` follows PaddleSeg's rule: an image file, a folder (searched
recursively, sorted), or any other file, which is a list (PaddleSeg's TIPC lists
end in ``.list``, ours in ``.txt``): ``image`` or ``image label`` per line (read by
``utils.list_file``), relative paths relative to the list's folder. Outputs are
named by ``utils.output_names`` relative to ``ImageSet.base``.
A listed image that does not exist, is not a regular file (a FIFO is never opened)
or declares more pixels than the cap fails when it is read, like an undecodable
one, so a batch run goes on with the others (``utils.batch_failures``); every
error names the file and, for a list entry, the list file and line.
"""
import os
from typing import List, NamedTuple, Optional

import cv2

from .image_header import ImageReadError, open_image, require_regular_file
from .list_file import read_list_file
from .output_names import common_folder

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
__all__ = ['IMAGE_EXTENSIONS', 'ImageReadError', 'ImageSet', 'collect_images', 'read_image']


class ImageSet(NamedTuple):
    """The images of one ``--image_path``.

    Attributes:
        paths (list[str]): image files in reading order.
        base (str): the directory output names are relative to: the folder, the
            directory of the single image, or for a list the deepest folder holding
            every listed image (``output_names.common_folder``).
        origins (list[str | None]): per image, ``list_file:line`` it was listed at
            (None for a folder or a single image).
    """
    paths: List[str]
    base: str
    origins: List[Optional[str]]


def _read_list(list_path):
    folder = os.path.dirname(os.path.abspath(list_path))
    entries = read_list_file(list_path, 1, 2)
    paths = [os.path.join(folder, e.fields[0]) for e in entries]  # join keeps an absolute entry as is
    return paths, common_folder(paths) if paths else folder, [e.origin for e in entries]


def collect_images(image_path):
    """The images named by ``image_path``: a file, a folder or a list (see the module doc).

    Args:
        image_path (str): the ``--image_path`` argument.

    Returns:
        ImageSet: paths, the directory output names are relative to, list origins.

    Raises:
        ImageReadError: ``image_path`` does not exist or names no image (a listed
            image that does not exist is reported by ``read_image``).
        ListFileError: a malformed line of a list file (``list_file:line``).
    """
    if not os.path.exists(image_path):
        raise ImageReadError('--image_path not found: {}'.format(image_path))
    if os.path.isdir(image_path):
        paths = sorted(os.path.join(d, n) for d, _, names in os.walk(image_path) for n in names
                       if n.lower().endswith(IMAGE_EXTENSIONS))
        images = ImageSet(paths, image_path, [None] * len(paths))
    else:
        require_regular_file(image_path, '--image_path')  # a FIFO would block the list reader
        if image_path.lower().endswith(IMAGE_EXTENSIONS):
            images = ImageSet([image_path], os.path.dirname(os.path.abspath(image_path)), [None])
        else:
            images = ImageSet(*_read_list(image_path))
    if not images.paths:
        raise ImageReadError('--image_path {} contains no image ({})'.format(
            image_path, ', '.join(IMAGE_EXTENSIONS)))
    return images


def read_image(path, origin=None):
    """Decode an image file as ``[H, W, 3]`` uint8 BGR.

    16-bit images are scaled to 8 bits (``v >> 8``), grayscale is expanded to 3
    equal channels and an alpha channel is dropped: ``cv2.IMREAD_COLOR``, the
    decoding PaddleSeg's ``Compose`` applies to dataset images in training and
    val, so predict.py and infer.py see the pixels val saw. Unlike ``Compose``
    (``'NoneType' object has no attribute 'astype'``), a bad file is named.

    The header is read first (``image_header.open_image``): a file that is not a
    regular file or declares more than ``limits.cap('IMAGE_PIXELS')`` pixels is
    refused before anything is decoded.

    Args:
        path (str): the image file.
        origin (str | None): ``list_file:line`` the file was listed at (for errors).

    Raises:
        ImageReadError: the file is missing, not a regular file or not a decodable
            image (named, with the list line).
        limits.LimitExceeded: the header declares more pixels than the cap.
    """
    with open_image(path, 'image', origin):
        pass
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ImageReadError('cannot read image file {}{}: empty or not an image'.format(
            path, ' (listed at {})'.format(origin) if origin else ''))
    return img
