"""Model output -> label map -> pseudo-color PNG (resizes are undone by ``utils.trans_info``)."""
import os

import numpy as np
from paddleseg.utils.visualize import get_pseudo_color_map

from paddleseg_fastfcn.utils.atomic_write import write_atomically


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


def save_pseudo_color(label, image_path, image_root, save_dir):
    """Save ``label`` as a palette PNG mirroring ``image_path``'s place under ``image_root``,
    atomically (complete or absent).

    Returns:
        str: the written file.
    """
    rel = os.path.relpath(image_path, image_root) if image_root else os.path.basename(image_path)
    if rel.startswith('..'):
        rel = os.path.basename(image_path)
    out = os.path.join(save_dir, os.path.splitext(rel)[0] + '.png')
    mask = get_pseudo_color_map(label.astype('uint8'))
    write_atomically(out, lambda tmp: mask.save(tmp, format='PNG'), 'mask')
    return out
