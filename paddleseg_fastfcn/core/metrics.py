"""Segmentation metrics from per-class areas accumulated over a whole set.

Replaces ``paddleseg.utils.metrics.calculate_area``, which fails on Paddle 3
(it concatenates 0-D tensors). Areas are int64 numpy vectors of length C:
``intersect[c]`` pixels predicted c and labelled c, ``pred[c]`` pixels predicted c
and ``label[c]`` pixels labelled c, both counted only where the label is not the
ignore index (PaddleSeg's and the official FastFCN's convention). Areas of
several images, workers or processes combine by addition (``merge_areas``;
``all_reduce_areas`` for ``paddle.distributed``), so the metrics of a set are
exactly those of its pooled pixels.
"""
import numpy as np
import paddle


def _to_numpy(x):
    return x.numpy() if isinstance(x, paddle.Tensor) else np.asarray(x)


def calculate_area(pred, label, num_classes, ignore_index=255):
    """Per-class intersection, prediction and label areas of one batch.

    Args:
        pred (np.ndarray | Tensor): predicted class ids, any shape (e.g. [N, 1, H, W]).
        label (np.ndarray | Tensor): class ids with the same number of elements.
        num_classes (int): C.
        ignore_index (int): label value excluded from every area.

    Returns:
        tuple of np.ndarray: ``(intersect, pred_area, label_area)``, each int64 [C].

    Raises:
        ValueError: shapes differ, or a label / prediction outside [0, C) that is
            not ignored.
    """
    pred = _to_numpy(pred).astype(np.int64)
    label = _to_numpy(label).astype(np.int64)
    if pred.size != label.size:
        raise ValueError('prediction shape {} and label shape {} differ'.format(
            pred.shape, label.shape))
    pred, label = pred.reshape(-1), label.reshape(-1)
    keep = label != ignore_index
    pred, label = pred[keep], label[keep]
    for name, values in (('label', label), ('prediction', pred)):
        bad = (values < 0) | (values >= num_classes)
        if bad.any():
            raise ValueError('{} holds value(s) {} outside [0, {}) that are not the ignore '
                             'index {}'.format(name, np.unique(values[bad])[:10].tolist(),
                                               num_classes, ignore_index))
    # Confusion matrix: rows = label, columns = prediction.
    confusion = np.bincount(label * num_classes + pred,
                            minlength=num_classes * num_classes).reshape(num_classes, num_classes)
    return (np.diag(confusion).astype(np.int64), confusion.sum(0).astype(np.int64),
            confusion.sum(1).astype(np.int64))


def merge_areas(*areas):
    """Sum several ``(intersect, pred_area, label_area)`` triples element-wise."""
    return tuple(np.sum([np.asarray(a[i], np.int64) for a in areas], axis=0) for i in range(3))


def all_reduce_areas(areas):
    """Sum an area triple over all ``paddle.distributed`` processes (identity for one)."""
    if paddle.distributed.get_world_size() <= 1:
        return tuple(np.asarray(a, np.int64) for a in areas)
    stacked = paddle.to_tensor(np.stack(areas).astype(np.int64))
    paddle.distributed.all_reduce(stacked)
    return tuple(stacked.numpy())


class AreaAccumulator:
    """Running per-class areas over a set.

    Args:
        num_classes (int): C.
        ignore_index (int): label value excluded from the areas.
    """

    def __init__(self, num_classes, ignore_index=255):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.areas = tuple(np.zeros(num_classes, np.int64) for _ in range(3))

    def update(self, pred, label):
        """Add the areas of one batch (see ``calculate_area``)."""
        batch = calculate_area(pred, label, self.num_classes, self.ignore_index)
        self.areas = merge_areas(self.areas, batch)


def _ratio(num, den):
    """num / den per class, 0 where den == 0 (PaddleSeg's and the official convention)."""
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def compute_metrics(intersect, pred_area, label_area):
    """All metrics from the areas of a whole set.

    mIoU and mean Dice average over all C classes (a class absent from both
    prediction and label counts 0, as in PaddleSeg and the official FastFCN).

    Returns:
        dict: ``miou``, ``acc`` (pixAcc: correct / labelled pixels), ``kappa``,
        ``dice`` (mean), ``class_iou``, ``class_precision``, ``class_recall``,
        ``class_dice`` (np.ndarray [C]) and the three areas.
    """
    intersect = np.asarray(intersect, np.int64)
    pred_area = np.asarray(pred_area, np.int64)
    label_area = np.asarray(label_area, np.int64)
    class_iou = _ratio(intersect, pred_area + label_area - intersect)
    class_dice = _ratio(2 * intersect, pred_area + label_area)
    total = float(label_area.sum())
    acc = intersect.sum() / total if total > 0 else 0.0
    expected = float((pred_area.astype(np.float64) * label_area).sum()) / (total * total) if total else 0.0
    kappa = (acc - expected) / (1 - expected) if expected < 1 else 0.0
    return {
        'miou': float(class_iou.mean()),
        'acc': float(acc),
        'kappa': float(kappa),
        'dice': float(class_dice.mean()),
        'class_iou': class_iou,
        'class_precision': _ratio(intersect, pred_area),
        'class_recall': _ratio(intersect, label_area),
        'class_dice': class_dice,
        'intersect_area': intersect,
        'pred_area': pred_area,
        'label_area': label_area,
    }
