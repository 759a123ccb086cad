"""EncHead / EncModule: shapes, modes, gating math, BN over codewords, official names."""
import numpy as np
import paddle
import pytest

from paddleseg_fastfcn.models.heads import EncHead, EncModule
from paddleseg_fastfcn.models.layers import EncodingLayer


def small_head(**kwargs):
    paddle.seed(0)
    args = dict(num_classes=5, in_channels=16, channels=8, num_codes=4)
    args.update(kwargs)
    return EncHead(**args)


def feats(n=2, c=16, h=6, w=5):
    return [paddle.rand([n, 4, h * 2, w * 2]), paddle.rand([n, c, h, w])]


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def test_training_returns_logits_and_se_logits_eval_only_logits():
    head = small_head()
    head.train()
    out = head(feats())
    assert [o.shape for o in out] == [[2, 5, 6, 5], [2, 5]]
    head.eval()
    out = head(feats())
    assert [o.shape for o in out] == [[2, 5, 6, 5]]


def test_without_se_loss_there_is_no_selayer_and_one_output():
    head = small_head(use_se_loss=False)
    assert not hasattr(head.encmodule, 'selayer')
    assert head.output_names == ('seg',)
    head.train()
    assert len(head(feats())) == 1


def test_conv5_kernel_size_sets_conv5():
    assert small_head().conv5[0].weight.shape == [8, 16, 1, 1]
    assert small_head(conv5_kernel_size=3).conv5[0].weight.shape == [8, 16, 3, 3]
    for bad in (2, True, '1'):
        with pytest.raises(ValueError, match='conv5_kernel_size'):
            small_head(conv5_kernel_size=bad)


def test_in_index_selects_the_feature():
    head = small_head(in_channels=4, in_index=0)
    head.eval()
    assert head(feats())[0].shape == [2, 5, 12, 10]


def test_dropout_is_active_only_in_training():
    head = small_head(dropout_ratio=0.5)
    x = feats()
    head.train()
    a, b = head(x)[0].numpy(), head(x)[0].numpy()
    assert np.abs(a - b).max() > 1e-4  # BN is deterministic on a fixed batch: dropout differs
    head.eval()
    a, b = head(x)[0].numpy(), head(x)[0].numpy()
    np.testing.assert_array_equal(a, b)


def test_gating_and_se_logits_match_direct_computation():
    paddle.seed(3)
    module = EncModule(in_channels=8, num_classes=5, num_codes=4)
    module.eval()
    x = paddle.rand([2, 8, 5, 4])
    gated, se_logits = module(x)

    context = module.encoding(x).mean(axis=1).numpy()                 # [2, 8]
    fc_w, fc_b = module.fc[0].weight.numpy(), module.fc[0].bias.numpy()  # Paddle Linear: x @ W + b
    gamma = sigmoid(context @ fc_w + fc_b)[:, :, None, None]
    x_np = x.numpy()
    expected = np.maximum(x_np + x_np * gamma, 0)
    np.testing.assert_allclose(gated.numpy(), expected, atol=1e-6)
    se_w, se_b = module.selayer.weight.numpy(), module.selayer.bias.numpy()
    np.testing.assert_allclose(se_logits.numpy(), context @ se_w + se_b, atol=1e-6)
    assert gamma.std() > 1e-3  # the gate is not constant


def test_encoding_pipeline_order_and_types():
    module = EncModule(in_channels=8, num_classes=5, num_codes=4)
    kinds = [type(layer).__name__ for layer in module.encoding]
    assert kinds == ['Conv2D', 'BatchNorm2D', 'ReLU', 'EncodingLayer', 'BatchNorm1D', 'ReLU']
    assert isinstance(module.encoding[3], EncodingLayer)
    assert module.encoding[0].bias is None


def test_bn_over_codewords_normalises_each_codeword_over_batch_and_channels():
    bn = EncModule(in_channels=6, num_classes=3, num_codes=4).encoding[4]
    bn.train()
    rng = np.random.default_rng(0)
    u = rng.normal(size=(3, 1, 6))
    u = (u - u.mean()) / u.std()                     # zero mean, unit variance over (B, D)
    means = np.array([-2.0, 0.5, 1.0, 4.0])
    stds = np.array([0.5, 1.0, 2.0, 3.0])
    z = u * stds[None, :, None] + means[None, :, None]  # [B, K, D], codeword k ~ (means_k, stds_k)
    out = bn(paddle.to_tensor(z.astype('float32'))).numpy()
    np.testing.assert_allclose(out, np.broadcast_to(u, z.shape), atol=1e-3)
    # running statistics move towards the per-codeword batch mean (momentum 0.9)
    np.testing.assert_allclose(bn._mean.numpy(), 0.1 * means, atol=1e-5)


def test_parameter_names_mirror_the_official_layout():
    # official keys of head.* for EncHead(jpu=True, lateral=False, se_loss=True),
    # with PyTorch's running_mean/running_var named _mean/_variance in Paddle
    bn = ['weight', 'bias', '_mean', '_variance']
    expected = {'conv5.0.weight', 'encmodule.encoding.0.weight',
                'encmodule.encoding.3.codewords', 'encmodule.encoding.3.scale',
                'encmodule.fc.0.weight', 'encmodule.fc.0.bias',
                'encmodule.selayer.weight', 'encmodule.selayer.bias',
                'conv6.1.weight', 'conv6.1.bias'}
    for prefix in ('conv5.1', 'encmodule.encoding.1', 'encmodule.encoding.4'):
        expected |= {'{}.{}'.format(prefix, b) for b in bn}
    assert set(small_head().state_dict()) == expected


def test_bad_in_index_and_feature_list_give_clear_errors():
    with pytest.raises(TypeError, match='in_index'):
        small_head(in_index='last')
    head = small_head(in_index=5)
    with pytest.raises(IndexError, match='in_index 5'):
        head(feats())
    with pytest.raises(TypeError, match='list of feature maps'):
        small_head()(paddle.rand([1, 16, 4, 4]))
