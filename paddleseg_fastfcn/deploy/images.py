"""Input images for deployment: listing, reading and preprocessing."""
import os

import cv2
import numpy as np

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')


def list_images(image_path):
    """Image files from a file, a folder (recursive, sorted) or a list file.

    Any file that is not an image (``.txt``, ``.list`` ...) is a list, as in
    PaddleSeg (its TIPC list is ``cityscapes_val_5.list``): one image per line
    (first whitespace-separated field; relative paths are relative to the list's
    directory).

    Raises:
        FileNotFoundError: ``image_path`` does not exist or yields no image.
    """
    if not os.path.exists(image_path):
        raise FileNotFoundError('--image_path not found: {}'.format(image_path))
    if os.path.isdir(image_path):
        files = []
        for root, _, names in os.walk(image_path):
            files += [os.path.join(root, n) for n in names if n.lower().endswith(IMAGE_EXTENSIONS)]
        files.sort()
    elif not image_path.lower().endswith(IMAGE_EXTENSIONS):
        base = os.path.dirname(os.path.abspath(image_path))
        with open(image_path, 'r', encoding='utf-8') as f:
            fields = [line.split() for line in f]
        files = [p[0] if os.path.isabs(p[0]) else os.path.join(base, p[0]) for p in fields if p]
    else:
        files = [image_path]
    if not files:
        raise FileNotFoundError('--image_path {} contains no image ({})'.format(
            image_path, ', '.join(IMAGE_EXTENSIONS)))
    return files


def read_image(path):
    """BGR uint8 image ``[H, W, 3]``; an unreadable file is a clear error."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError('cannot read image {} (missing, empty or not an image)'.format(path))
    return img


def preprocess(path, transforms):
    """Read ``path`` and apply deploy.yaml's transforms.

    Args:
        path (str): image file.
        transforms (paddleseg.transforms.Compose): BGR -> RGB, then the listed ops.

    Returns:
        tuple: ``(img [3, H', W'] float32, trans_info, (H, W) of the original image)``.
    """
    img = read_image(path)
    # PaddleSeg's Compose reads files itself but crashes on an unreadable one
    # (`None.astype`); giving it the decoded array keeps our clear error.
    data = transforms({'img': img.astype('float32')})
    return data['img'].astype('float32'), data.get('trans_info', []), img.shape[:2]


def group_by_size(items):
    """Split ``[(index, chw_array), ...]`` into runs of equal ``H x W``.

    Images of one size are stacked into one batch; different sizes go to
    separate runs, so each image's result is exactly what a batch of 1 gives
    (padding to a common size would change the border and the resized logits).
    """
    groups = {}
    for index, arr in items:
        groups.setdefault(arr.shape[1:], []).append((index, arr))
    return [(list(i for i, _ in g), np.stack([a for _, a in g])) for g in groups.values()]
