import numpy as np
import paddle
import pytest

from paddleseg.cvlibs import manager
from paddleseg_fastfcn.losses import SegCrossEntropyLoss


def numpy_ce(logits, label, ignore_index, weight=None):
    """Reference: weighted mean of -log softmax over non-ignored pixels."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_prob = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    total, norm = 0.0, 0.0
    n, _, h, w = logits.shape
    for i in range(n):
        for y in range(h):
            for x in range(w):
                c = label[i, y, x]
                if c == ignore_index:
                    continue
                wc = 1.0 if weight is None else weight[c]
                total += -log_prob[i, c, y, x] * wc
                norm += wc
    return total / norm


def make_batch(seed, ignore_index=255, num_classes=4):
    rng = np.random.RandomState(seed)
    logits = rng.randn(2, num_classes, 5, 6).astype('float32') * 3
    label = rng.randint(0, num_classes, size=(2, 5, 6)).astype('int64')
    label[rng.rand(2, 5, 6) < 0.3] = ignore_index
    return logits, label


def test_matches_numpy_reference_and_ignores_pixels():
    logits, label = make_batch(0)
    loss = SegCrossEntropyLoss(ignore_index=255)(paddle.to_tensor(logits), paddle.to_tensor(label))
    assert loss.ndim == 0
    np.testing.assert_allclose(float(loss), numpy_ce(logits, label, 255), rtol=1e-5)


def test_label_with_channel_axis_and_class_weight():
    logits, label = make_batch(1)
    weight = [0.5, 2.0, 1.0, 3.0]
    loss = SegCrossEntropyLoss(ignore_index=255, weight=weight)(
        paddle.to_tensor(logits), paddle.to_tensor(label[:, None]))
    np.testing.assert_allclose(float(loss), numpy_ce(logits, label, 255, weight), rtol=1e-5)


def test_gradient_is_zero_on_ignored_pixels():
    logits, label = make_batch(2)
    x = paddle.to_tensor(logits, stop_gradient=False)
    SegCrossEntropyLoss()(x, paddle.to_tensor(label)).backward()
    grad = x.grad.numpy()
    ignored = np.broadcast_to((label == 255)[:, None], grad.shape)
    assert np.all(grad[ignored] == 0)
    assert np.abs(grad[~ignored]).sum() > 0


def test_all_ignored_gives_zero_not_nan():
    logits, _ = make_batch(3)
    label = np.full((2, 5, 6), 255, dtype='int64')
    loss = SegCrossEntropyLoss()(paddle.to_tensor(logits), paddle.to_tensor(label))
    assert float(loss) == 0.0


def test_out_of_range_label_names_the_value():
    logits, label = make_batch(4)
    label[0, 0, 0] = 7
    with pytest.raises(ValueError, match=r'\[7\].*0\.\.3.*255'):
        SegCrossEntropyLoss()(paddle.to_tensor(logits), paddle.to_tensor(label))


def test_registered_under_its_name():
    assert manager.LOSSES['SegCrossEntropyLoss'] is SegCrossEntropyLoss
