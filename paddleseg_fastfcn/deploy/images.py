"""Input images for deployment: preprocessing and batching (reading: ``utils.image_io``)."""
import numpy as np

from paddleseg_fastfcn.utils.image_io import read_image


def preprocess(path, transforms, origin=None):
    """Read ``path`` and apply deploy.yaml's transforms.

    Args:
        path (str): image file.
        transforms (paddleseg.transforms.Compose): BGR -> RGB, then the listed ops.
        origin (str | None): ``list_file:line`` of ``path`` (named in read errors).

    Returns:
        tuple: ``(img [3, H', W'] float32, trans_info, (H, W) of the original image)``.
    """
    img = read_image(path, origin)
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
