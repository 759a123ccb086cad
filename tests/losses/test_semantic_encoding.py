import numpy as np
import paddle
import pytest

from paddleseg.cvlibs import manager
from paddleseg_fastfcn.losses import SemanticEncodingLoss


def numpy_se_loss(se_logits, label, ignore_index):
    n, c = se_logits.shape
    target = np.zeros((n, c), dtype='float64')
    for i in range(n):
        for v in np.unique(label[i]):
            if v != ignore_index:
                target[i, v] = 1.0
    prob = 1.0 / (1.0 + np.exp(-se_logits.astype('float64')))
    bce = -(target * np.log(prob) + (1 - target) * np.log(1 - prob))
    return bce.mean()


def test_matches_numpy_reference():
    rng = np.random.RandomState(0)
    se_logits = rng.randn(3, 6).astype('float32')
    label = rng.randint(0, 3, size=(3, 4, 4)).astype('int64')
    label[1] = 255
    label[1, 0, 0] = 5
    label[2, :2] = 255
    loss = SemanticEncodingLoss(ignore_index=255)(paddle.to_tensor(se_logits),
                                                  paddle.to_tensor(label[:, None]))
    assert loss.ndim == 0
    np.testing.assert_allclose(float(loss), numpy_se_loss(se_logits, label, 255), rtol=1e-5)


def test_ignored_pixels_are_not_a_present_class():
    # Label 255 must not mark any class present: with every pixel ignored the
    # target is all zeros, so a very negative logit gives a loss near 0.
    se_logits = paddle.full([2, 4], -30.0)
    label = paddle.full([2, 3, 3], 255, dtype='int64')
    assert float(SemanticEncodingLoss()(se_logits, label)) < 1e-6


def test_custom_ignore_index_and_out_of_range_label():
    se_logits = paddle.zeros([1, 3])
    label = paddle.to_tensor([[[0, 1], [4, 3]]], dtype='int64')
    with pytest.raises(ValueError, match=r'\[3\]'):
        SemanticEncodingLoss(ignore_index=4)(se_logits, label)


def test_registered_under_its_name():
    assert manager.LOSSES['SemanticEncodingLoss'] is SemanticEncodingLoss
