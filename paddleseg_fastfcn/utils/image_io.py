"""Input images of predict.py and deploy/python/infer.py: collecting paths and decoding.

``--image_path`` follows PaddleSeg's rule: an image file, a folder (searched
recursively, sorted), or any other file, which is a list (PaddleSeg's TIPC lists
end in ``.list``, ours in ``.txt``): one image per line, its first
whitespace-separated field, relative paths relative to the list's folder.
A listed image that does not exist fails when it is read, like an undecodable
one, so a batch run goes on with the others (``utils.batch_failures``); every
error names the file and, for a list entry, the list file and line.
"""
import os
from typing import List, NamedTuple, Optional

import cv2

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


class ImageReadError(ValueError):
    """An input image (or its folder / list) is missing or cannot be decoded."""


class ImageSet(NamedTuple):
    """The images of one ``--image_path``.

    Attributes:
        paths (list[str]): image files in reading order.
        base (str): the directory output names are relative to (the folder, or the
            directory of the list / the single image).
        origins (list[str | None]): per image, ``list_file:line`` it was listed at
            (None for a folder or a single image).
    """
    paths: List[str]
    base: str
    origins: List[Optional[str]]


def _listed_at(origin):
    return ' (listed at {})'.format(origin) if origin else ''


def _read_list(list_path):
    base = os.path.dirname(os.path.abspath(list_path))
    paths, origins = [], []
    with open(list_path, 'r', encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            path = fields[0] if os.path.isabs(fields[0]) else os.path.join(base, fields[0])
            origin = '{}:{}'.format(list_path, lineno)
            paths.append(path)
            origins.append(origin)
    return paths, origins, base


def collect_images(image_path):
    """The images named by ``image_path``: a file, a folder or a list (see the module doc).

    Args:
        image_path (str): the ``--image_path`` argument.

    Returns:
        ImageSet: paths, the directory output names are relative to, list origins.

    Raises:
        ImageReadError: ``image_path`` does not exist or names no image (a listed
            image that does not exist is reported by ``read_image``).
    """
    if not os.path.exists(image_path):
        raise ImageReadError('--image_path not found: {}'.format(image_path))
    if os.path.isdir(image_path):
        paths = sorted(os.path.join(d, n) for d, _, names in os.walk(image_path) for n in names
                       if n.lower().endswith(IMAGE_EXTENSIONS))
        images = ImageSet(paths, image_path, [None] * len(paths))
    elif image_path.lower().endswith(IMAGE_EXTENSIONS):
        images = ImageSet([image_path], os.path.dirname(os.path.abspath(image_path)), [None])
    else:
        paths, origins, base = _read_list(image_path)
        images = ImageSet(paths, base, origins)
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

    Args:
        path (str): the image file.
        origin (str | None): ``list_file:line`` the file was listed at (for errors).

    Raises:
        ImageReadError: the file is missing or not a decodable image (named, with the list line).
    """
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        what = 'not found' if not os.path.isfile(path) else 'empty or not an image'
        raise ImageReadError('cannot read image file {}{}: {}'.format(path, _listed_at(origin), what))
    return img
