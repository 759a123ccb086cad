"""Model output -> label map at the original image size -> pseudo-color PNG."""
import os

import numpy as np
from paddleseg.utils.visualize import get_pseudo_color_map


def to_label_map(output, output_op):
    """One image's output -> int label map ``[H, W]``.

    Args:
        output (np.ndarray): ``[H, W]`` labels (argmax export) or ``[C, H, W]``
            logits / probabilities (none / softmax export).
        output_op (str): the export's output op.
    """
    if output_op == 'argmax' or output.ndim == 2:
        return output.astype('int64')
    return np.argmax(output, axis=0).astype('int64')


def resize_nearest(label, height, width):
    """Nearest-neighbour resize of ``[h, w]`` labels (PaddleSeg's reverse resize)."""
    h, w = label.shape
    rows = np.minimum((np.arange(height) * (h / height)).astype('int64'), h - 1)
    cols = np.minimum((np.arange(width) * (w / width)).astype('int64'), w - 1)
    return label[rows][:, cols]


def reverse_transform(label, trans_info):
    """Undo the transforms' resizes / paddings recorded in ``trans_info``.

    PaddleSeg's Compose records ``('resize', (h, w))`` / ``('padding', (h, w))``
    with the shape *before* each op; replaying them backwards maps the label map
    to the original image.
    """
    for item in reversed(trans_info):
        mode = item[0][0] if isinstance(item[0], (list, tuple)) else item[0]
        h, w = item[1][0], item[1][1]
        if mode == 'resize':
            label = resize_nearest(label, h, w)
        elif mode == 'padding':
            label = label[:h, :w]
        else:
            raise ValueError('unexpected transform record {!r} in trans_info'.format(item))
    return label


def save_pseudo_color(label, image_path, image_root, save_dir):
    """Save ``label`` as a palette PNG mirroring ``image_path``'s place under ``image_root``.

    Returns:
        str: the written file.
    """
    rel = os.path.relpath(image_path, image_root) if image_root else os.path.basename(image_path)
    if rel.startswith('..'):
        rel = os.path.basename(image_path)
    out = os.path.join(save_dir, os.path.splitext(rel)[0] + '.png')
    os.makedirs(os.path.dirname(out), exist_ok=True)
    get_pseudo_color_map(label.astype('uint8')).save(out)
    return out
