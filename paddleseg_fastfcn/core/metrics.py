"""Segmentation metrics from per-class areas accumulated over a whole set.

Replaces ``paddleseg.utils.metrics.calculate_area``, which fails on Paddle 3
(it concatenates 0-D tensors). Areas are int64 numpy vectors of length C:
``intersect[c]`` pixels predicted c and labelled c, ``pred[c]`` pixels predicted c
and ``label[c]`` pixels labelled c, both counted only where the label is not the
ignore index (PaddleSeg's and the official FastFCN's convention). Areas of
several images, workers or processes combine by addition (``merge_areas``;
``all_reduce_areas`` for ``paddle.distributed``), so the metrics of a set are
exactly those of its pooled pixels.

The areas are the margins of the confusion matrix (label rows x prediction
columns, ignored pixels excluded): ``intersect`` its diagonal, ``label`` its row
sums, ``pred`` its column sums. ``AreaAccumulator`` accumulates the matrix and
derives the areas from it, so both always describe the same pixels.
"""
import numpy as np
import paddle


def _to_numpy(x):
    return x.numpy() if isinstance(x, paddle.Tensor) else np.asarray(x)


def confusion_matrix(pred, label, num_classes, ignore_index=255):
    """Pixel counts of (label, prediction) pairs of one batch.

    Args:
        pred (np.ndarray | Tensor): predicted class ids, any shape (e.g. [N, 1, H, W]).
        label (np.ndarray | Tensor): class ids with the same number of elements.
        num_classes (int): C.
        ignore_index (int): label value whose pixels are not counted.

    Returns:
        np.ndarray: int64 [C, C]; entry [i, j] = pixels labelled i and predicted j.

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
    return np.bincount(label * num_classes + pred, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes).astype(np.int64)


def areas_from_confusion(confusion):
    """``(intersect, pred_area, label_area)`` (each int64 [C]) of a [C, C] confusion matrix."""
    confusion = np.asarray(confusion, np.int64)
    return np.diag(confusion).copy(), confusion.sum(0), confusion.sum(1)


def calculate_area(pred, label, num_classes, ignore_index=255):
    """Per-class intersection, prediction and label areas of one batch.

    Args: as ``confusion_matrix``.

    Returns:
        tuple of np.ndarray: ``(intersect, pred_area, label_area)``, each int64 [C].

    Raises:
        ValueError: as ``confusion_matrix``.
    """
    return areas_from_confusion(confusion_matrix(pred, label, num_classes, ignore_index))


def merge_areas(*areas):
    """Sum several ``(intersect, pred_area, label_area)`` triples element-wise."""
    return tuple(np.sum([np.asarray(a[i], np.int64) for a in areas], axis=0) for i in range(3))


def _all_reduce_sum(array):
    """Element-wise int64 sum of ``array`` over all ``paddle.distributed`` processes."""
    array = np.asarray(array, np.int64)
    if paddle.distributed.get_world_size() <= 1:
        return array
    tensor = paddle.to_tensor(array)
    paddle.distributed.all_reduce(tensor)
    return tensor.numpy()


def all_reduce_areas(areas):
    """Sum an area triple over all ``paddle.distributed`` processes (identity for one)."""
    return tuple(_all_reduce_sum(np.stack(areas)))


def all_reduce_confusion(confusion):
    """Sum a [C, C] confusion matrix over all ``paddle.distributed`` processes."""
    return _all_reduce_sum(confusion)


class AreaAccumulator:
    """Running confusion matrix (and so per-class areas) over a set.

    Args:
        num_classes (int): C.
        ignore_index (int): label value excluded from the counts.

    Attributes:
        confusion (np.ndarray): int64 [C, C], label rows x prediction columns.
    """

    def __init__(self, num_classes, ignore_index=255):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.confusion = np.zeros((num_classes, num_classes), np.int64)

    @property
    def areas(self):
        """``(intersect, pred_area, label_area)`` of the pixels seen so far."""
        return areas_from_confusion(self.confusion)

    def update(self, pred, label):
        """Add one batch (see ``confusion_matrix``)."""
        self.confusion += confusion_matrix(pred, label, self.num_classes, self.ignore_index)


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
