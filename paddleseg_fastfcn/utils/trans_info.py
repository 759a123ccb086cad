"""Undo the resize / padding records (``trans_info``) of PaddleSeg transforms.

PaddleSeg 2.8's transforms append ``('resize', img.shape[:2])`` or
``('padding', img.shape[:2])``, the size *before* the op, to ``data['trans_info']``.
Paddle's ``default_collate_fn`` turns a batch-of-one record into
``[('resize',), [array([h]), array([w])]]`` (older releases: a list instead of
the tuple; DataLoader workers: Tensors instead of arrays). One parser accepts
all of these; the caller chooses the resize (bilinear align-corners for logits
in ``core.inference``, nearest for label maps in ``deploy``).
"""
import numpy as np

MODES = ('resize', 'padding')


def _size_value(value, item):
    values = np.asarray(value).reshape(-1)
    if values.size != 1 or values[0] != int(values[0]):
        raise ValueError('transform record {!r}: expected one integer per size, got {!r} '
                         '(records of batches larger than 1 cannot be undone)'.format(item, value))
    return int(values[0])


def parse_trans_info(trans_info):
    """Normalise transform records to ``[(mode, h, w), ...]`` in the order applied.

    Args:
        trans_info (list): records as a sample or a collated batch of one holds them.

    Raises:
        ValueError: a record is neither ``resize`` nor ``padding`` with ``(h, w)``.
    """
    records = []
    for item in trans_info or []:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise ValueError('unexpected transform record {!r} in trans_info'.format(item))
        mode, size = item
        if isinstance(mode, (list, tuple)) and len(mode) == 1:
            mode = mode[0]
        if mode not in MODES or not isinstance(size, (list, tuple)) or len(size) != 2:
            raise ValueError('unexpected transform record {!r} in trans_info'.format(item))
        records.append((mode, _size_value(size[0], item), _size_value(size[1], item)))
    return records


def reverse_transform(x, trans_info, resize):
    """Map ``x`` back to the original image size by replaying the records backwards.

    Args:
        x (Tensor | np.ndarray): ``[..., H, W]`` at the transformed size, e.g.
            logits ``[N, C, H, W]`` or a label map ``[H, W]``.
        trans_info (list): the sample's records (see ``parse_trans_info``).
        resize (callable): ``resize(x, [h, w])`` for a ``resize`` record.

    Returns:
        same type as ``x``: ``[..., h0, w0]``.
    """
    for mode, h, w in reversed(parse_trans_info(trans_info)):
        x = resize(x, [h, w]) if mode == 'resize' else x[..., :h, :w]
    return x


def resize_nearest(label, size):
    """Nearest-neighbour resize of a ``[h, w]`` label map to ``size = [H, W]``.

    Picks source pixel ``floor(i * h / H)`` as PaddleSeg's nearest reverse resize
    (``F.interpolate(mode='nearest')``) does, without a float round trip of labels.
    """
    height, width = size
    h, w = label.shape[-2:]
    rows = np.minimum((np.arange(height) * (h / height)).astype('int64'), h - 1)
    cols = np.minimum((np.arange(width) * (w / width)).astype('int64'), w - 1)
    return label[..., rows, :][..., cols]
