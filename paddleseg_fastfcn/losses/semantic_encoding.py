"""Semantic Encoding loss of EncNet (Zhang et al., CVPR 2018).

PaddleSeg 2.8 has ``SECrossEntropyLoss``, but it counts ignored pixels as class
presence (its histogram clips 255 into the last class) and loops over the batch
in Python; this version excludes ignored pixels and is one vectorised bincount.
"""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F
from paddleseg.cvlibs import manager

from .cross_entropy import check_label_range, squeeze_label


def class_presence(label, num_classes, ignore_index):
    """Per-image class presence.

    Args:
        label: int64 [N, H, W].
    Returns:
        float32 [N, num_classes], 1 where the class occurs among non-ignored pixels.
    """
    n = label.shape[0]
    valid = label != ignore_index
    image_index = paddle.arange(n, dtype='int64').reshape([n, 1, 1]).expand_as(label)
    flat = paddle.masked_select(image_index * num_classes + label, valid)
    counts = paddle.bincount(flat, minlength=n * num_classes)
    return (counts.reshape([n, num_classes]) > 0).astype('float32')


@manager.LOSSES.add_component
class SemanticEncodingLoss(nn.Layer):
    """Binary cross-entropy (with logits) against per-image class presence.

    Args:
        ignore_index (int): label value that does not count as a present class.

    Call:
        se_logits: [N, C] float; label: int [N, H, W] or [N, 1, H, W].
        Returns a 0-D float32 tensor (mean over N * C).
    """

    def __init__(self, ignore_index=255):
        super().__init__()
        self.ignore_index = ignore_index

    def forward(self, se_logits, label):
        if se_logits.ndim != 2:
            raise ValueError('SemanticEncodingLoss expects se_logits [N, C], got shape {}'.format(
                list(se_logits.shape)))
        label = squeeze_label(label)
        num_classes = se_logits.shape[1]
        check_label_range(label, num_classes, self.ignore_index)
        target = class_presence(label, num_classes, self.ignore_index)
        return F.binary_cross_entropy_with_logits(se_logits.astype('float32'), target)
