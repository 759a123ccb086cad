"""Atomic outputs: label PNGs and list files are complete or absent, never half-written
(``utils.atomic_write`` does the writing)."""
import os

import numpy as np
from PIL import Image

from paddleseg_fastfcn.utils.atomic_write import write_atomically, write_text
from ..checks import DatasetError


def write_label_png(path, label):
    """Write a single-channel uint8 label image to ``path`` atomically.

    Args:
        path (str): the PNG to write (folders are created).
        label (np.ndarray): [H, W] integer class ids in 0..255.
    """
    label = np.asarray(label)
    if label.ndim != 2 or label.min(initial=0) < 0 or label.max(initial=0) > 255:
        raise ValueError('a label PNG holds [H, W] values in 0..255; got shape {} for {}'.format(
            label.shape, path))
    image = Image.fromarray(label.astype(np.uint8), mode='L')
    write_atomically(path, lambda tmp: image.save(tmp, format='PNG'))


def write_lines(path, lines):
    """Write text lines (newline-terminated) to ``path`` atomically."""
    write_text(path, ''.join(line + '\n' for line in lines))


def list_entry(root, image_path, label_path):
    """One PaddleSeg list line, ``image label``, with paths relative to ``root``.

    Relative paths keep the dataset folder relocatable; PaddleSeg joins them to
    ``dataset_root``. A path on another drive (Windows) stays absolute.

    Raises:
        DatasetError: a path holds a space (PaddleSeg splits list lines on spaces).
    """
    fields = []
    for path in (image_path, label_path):
        try:
            rel = os.path.relpath(path, root)
        except ValueError:
            rel = os.path.abspath(path)
        if ' ' in rel:
            raise DatasetError('path holds a space, which the list format cannot store: {}'.format(rel))
        fields.append(rel.replace(os.sep, '/'))
    return ' '.join(fields)
