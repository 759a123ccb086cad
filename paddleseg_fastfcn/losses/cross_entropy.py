"""Pixel-wise cross-entropy that works on Paddle 3.

PaddleSeg 2.8's ``CrossEntropyLoss`` multiplies an int64 tensor by a float mask,
which Paddle 3's type promotion rejects; this replacement keeps every product in
float32 and checks the labels, because an out-of-range label otherwise crashes
deep inside the kernel (or silently reads garbage on GPU).
"""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddleseg.cvlibs import manager


def check_label_range(label, num_classes, ignore_index):
    """Raise ValueError naming the offending value if a label is out of range.

    Args:
        label: int64 tensor of any shape.
        num_classes (int): valid labels are 0 .. num_classes - 1.
        ignore_index (int): the one extra value that is allowed.
    """
    bad = paddle.logical_and(
        paddle.logical_or(label >= num_classes, label < 0), label != ignore_index)
    if bool(bad.any()):
        values = sorted(set(paddle.masked_select(label, bad).numpy().tolist()))
        raise ValueError(
            'label value(s) {} out of range: expected 0..{} or ignore_index {} '
            '(check the dataset\'s labels and the model\'s num_classes)'.format(
                values[:10], num_classes - 1, ignore_index))


def squeeze_label(label):
    """label: [N, H, W] or [N, 1, H, W] -> int64 [N, H, W]."""
    if label.ndim == 4:
        if label.shape[1] != 1:
            raise ValueError('label must be [N, H, W] or [N, 1, H, W], got shape {}'.format(
                list(label.shape)))
        label = label.squeeze(1)
    if label.ndim != 3:
        raise ValueError('label must be [N, H, W] or [N, 1, H, W], got shape {}'.format(
            list(label.shape)))
    return label.astype('int64')


@manager.LOSSES.add_component
class SegCrossEntropyLoss(nn.Layer):
    """Softmax cross-entropy averaged over the non-ignored pixels.

    With a class ``weight`` the mean is weighted: sum(w[y] * ce) / sum(w[y]) over
    non-ignored pixels. A batch whose pixels are all ignored gives 0 (not NaN).

    Args:
        ignore_index (int): label value excluded from the loss. Default 255.
        weight (list[float] | None): per-class weights, length num_classes.

    Call:
        logits: [N, C, H, W] float; label: int [N, H, W] or [N, 1, H, W].
        Returns a 0-D float32 tensor.
    """

    def __init__(self, ignore_index=255, weight=None):
        super().__init__()
        self.ignore_index = ignore_index
        self.weight = None if weight is None else paddle.to_tensor(weight, dtype='float32')

    def forward(self, logits, label):
        label = squeeze_label(label)
        num_classes = logits.shape[1]
        if self.weight is not None and self.weight.shape[0] != num_classes:
            raise ValueError('SegCrossEntropyLoss: weight has {} entries but the logits have {} '
                             'classes'.format(self.weight.shape[0], num_classes))
        check_label_range(label, num_classes, self.ignore_index)
        if list(logits.shape[2:]) != list(label.shape[1:]):
            raise ValueError('SegCrossEntropyLoss: logits {} and label {} differ in size'.format(
                list(logits.shape), list(label.shape)))
        # AMP may hand over fp16/bf16 logits: the log-softmax needs fp32.
        logits = logits.astype('float32')
        valid = label != self.ignore_index
        safe_label = paddle.where(valid, label, paddle.zeros_like(label))
        ce = F.cross_entropy(logits, safe_label.unsqueeze(1), reduction='none',
                             axis=1).squeeze(1)
        mask = valid.astype('float32')
        if self.weight is not None:
            mask = mask * paddle.gather(self.weight, safe_label.flatten()).reshape(mask.shape)
        return (ce * mask).sum() / paddle.clip(mask.sum(), min=1e-12)
