"""Model output -> label map -> pseudo-color PNG (resizes are undone by ``utils.trans_info``)."""

import numpy as np
import paddle
import paddle.nn.functional as F
from paddleseg.utils.visualize import get_pseudo_color_map

from paddleseg_fastfcn.models.layers.resize import resize_align_corners
from paddleseg_fastfcn.utils.atomic_write import write_atomically
from paddleseg_fastfcn.utils.output_names import output_file
from paddleseg_fastfcn.utils.trans_info import reverse_transform


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


def original_size_scores(output, trans_info, probabilities, output_op):
    """One image's scores at the model's input size -> ``[C, h0, w0]`` at the original size.

    Resizes are undone as ``core.inference.predict_logits`` undoes them (the one
    ``reverse_transform``, bilinear align-corners on scores), so these are dygraph's.

    Args:
        output (np.ndarray): ``[C, H, W]`` logits (``none`` export) or probabilities
            (``softmax`` export).
        trans_info (list): the image's transform records.
        probabilities (bool): return probabilities (softmax over C of logits).
        output_op (str): ``none`` | ``softmax``.
    """
    x = reverse_transform(paddle.to_tensor(output[np.newaxis]), trans_info, resize_align_corners)
    if probabilities and output_op == 'none':
        x = F.softmax(x, axis=1)
    return x.numpy()[0]


def save_pseudo_color(label, name, save_dir):
    """Save ``label`` as the palette PNG ``save_dir/<name>.png``, atomically (complete or absent).

    Args:
        name (str): the image's output name (``utils.output_names.plan_outputs``).

    Returns:
        str: the written file.

    Raises:
        OutputNameError: the file would resolve outside ``save_dir`` (a symlink under it).
    """
    out = output_file(save_dir, name, '.png')
    mask = get_pseudo_color_map(label.astype('uint8'))
    write_atomically(out, lambda tmp: mask.save(tmp, format='PNG'), 'mask')
    return out


def save_scores(scores, name, save_dir, float16=False):
    """Save per-pixel scores ``[C, H, W]`` (logits or probabilities) as ``save_dir/<name>.npy``,
    next to the mask, atomically (complete or absent).

    Args:
        name (str): the image's output name (``utils.output_names.plan_outputs``).
        float16 (bool): halve the file; float16 keeps ~3 significant digits.

    Returns:
        str: the written file.
    """
    out = output_file(save_dir, name, '.npy')
    array = scores.astype('float16' if float16 else 'float32')

    def write(tmp):
        with open(tmp, 'wb') as f:  # a file object: np.save would append .npy to a name
            np.save(f, array)
    write_atomically(out, write, 'scores')
    return out
