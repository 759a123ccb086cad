"""EncodingLayer: matrix-product form against the naive B x N x K x D formula."""
import numpy as np
import paddle
import pytest
from paddleseg.models.fastfcn import Encoding as PaddleSegEncoding

from paddleseg_fastfcn.models.layers import EncodingLayer


def naive_encoding(x, codewords, scale):
    """The official definition, residuals materialised as [B, N, K, D]."""
    b, d = x.shape[0], x.shape[1]
    feats = x.reshape([b, d, -1]).transpose([0, 2, 1])            # [B, N, D]
    resid = feats.unsqueeze(2) - codewords.unsqueeze(0).unsqueeze(0)  # [B, N, K, D]
    dist = (resid * resid).sum(axis=3)                            # [B, N, K]
    assign = paddle.nn.functional.softmax(dist * scale, axis=2)
    return (assign.unsqueeze(3) * resid).sum(axis=1)              # [B, K, D]


def make_layer(d, k, dtype='float32', seed=0):
    paddle.seed(seed)
    paddle.set_default_dtype(dtype)
    try:
        layer = EncodingLayer(d, k)
    finally:
        paddle.set_default_dtype('float32')
    return layer


def test_parameters_follow_official_names_shapes_and_init():
    d, k = 64, 16
    layer = make_layer(d, k)
    names = dict(layer.named_parameters())
    assert set(names) == {'codewords', 'scale'}
    assert names['codewords'].shape == [k, d]
    assert names['scale'].shape == [k]
    bound = 1.0 / np.sqrt(k * d)
    cw = names['codewords'].numpy()
    assert np.abs(cw).max() <= bound and np.abs(cw).max() > 0.5 * bound
    sc = names['scale'].numpy()
    assert (sc <= 0).all() and (sc >= -1).all() and sc.std() > 0.1


def test_output_shape_and_rejects_bad_input():
    layer = make_layer(8, 4)
    out = layer(paddle.rand([3, 8, 5, 7]))
    assert out.shape == [3, 4, 8]
    with pytest.raises(ValueError, match='8 input channels'):
        layer(paddle.rand([1, 6, 5, 5]))
    with pytest.raises(ValueError, match=r'\[B, D, H, W\]'):
        layer(paddle.rand([1, 8, 25]))


@pytest.mark.parametrize('scale_sign', [-1.0, 1.0])
def test_float64_values_and_gradients_match_naive_formula(scale_sign):
    b, d, k, h, w = 2, 12, 5, 4, 6
    layer = make_layer(d, k, dtype='float64')
    rng = np.random.default_rng(1)
    # codewords of the same magnitude as the features, so every term of the
    # expanded distance matters; both signs of scale (softmax peaked/flat).
    layer.codewords.set_value(rng.uniform(-1, 1, (k, d)))
    layer.scale.set_value(scale_sign * rng.uniform(0.05, 0.5, (k,)))
    x = paddle.to_tensor(rng.uniform(-1, 1, (b, d, h, w)), stop_gradient=False)
    upstream = paddle.to_tensor(rng.normal(size=(b, k, d)))

    ours = layer(x)
    ref = naive_encoding(x, layer.codewords, layer.scale)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=0, atol=1e-10)
    assert np.abs(ref.numpy()).max() > 0.1  # a non-trivial comparison

    params = [x, layer.codewords, layer.scale]
    g_ours = paddle.grad((ours * upstream).sum(), params)
    g_ref = paddle.grad((ref * upstream).sum(), params)
    for name, a, r in zip(['x', 'codewords', 'scale'], g_ours, g_ref):
        assert np.abs(r.numpy()).max() > 1e-3, name
        np.testing.assert_allclose(a.numpy(), r.numpy(), rtol=0, atol=1e-10, err_msg=name)


def _run(layer, x_np, upstream, dtype):
    x = paddle.to_tensor(x_np.astype(dtype), stop_gradient=False)
    if layer is None:  # float64 ground truth with the naive formula
        params = [x] + [paddle.to_tensor(p.astype(dtype), stop_gradient=False)
                        for p in upstream[1:]]
        out = naive_encoding(*params)
    else:
        params = [x, layer.codewords, layer.scale]
        out = layer(x)
    grads = paddle.grad((out * paddle.to_tensor(upstream[0].astype(dtype))).sum(), params)
    return [t.numpy().astype('float64') for t in [out] + list(grads)]


def test_float32_matches_paddleseg_encoding_values_and_gradients():
    b, d, k, h, w = 2, 32, 8, 8, 8
    ours = make_layer(d, k)
    theirs = PaddleSegEncoding(channels=d, num_codes=k)
    theirs.codewords.set_value(ours.codewords.numpy())
    theirs.scale.set_value(ours.scale.numpy())
    rng = np.random.default_rng(2)
    # post-ReLU features, as the EncModule feeds the layer
    x_np = np.maximum(rng.normal(size=(b, d, h, w)), 0).astype('float32') * 0.5
    upstream = [rng.normal(size=(b, k, d)), ours.codewords.numpy(), ours.scale.numpy()]

    mine = _run(ours, x_np, upstream, 'float32')
    ref = _run(theirs, x_np, upstream, 'float32')
    truth = _run(None, x_np, upstream, 'float64')
    names = ['output', 'grad x', 'grad codewords', 'grad scale']
    assert np.abs(ref[0]).max() > 1.0
    assert np.abs(mine[0] - ref[0]).max() <= 1e-5
    for name, a, r, t in zip(names, mine, ref, truth):
        assert np.abs(r).max() > 1e-3, name
        # Codeword / scale gradients sum over B*N positions and reach ~1e2, where
        # float32's own spacing exceeds 1e-5: compare relative to their magnitude,
        # and require our error against the float64 truth to be no worse than
        # PaddleSeg's (up to a factor for summation order).
        scale = max(1.0, np.abs(t).max())
        assert np.abs(a - r).max() <= 1e-5 * scale, name
        assert np.abs(a - t).max() <= 2 * np.abs(r - t).max() + 1e-6 * scale, name


def test_clamp_keeps_distance_exact_at_a_codeword():
    # An input equal to a codeword: exact distance 0, the expanded form may round
    # below; the output must still equal the naive value to float error.
    d, k = 16, 4
    layer = make_layer(d, k)
    layer.scale.set_value(np.full([k], -50.0, 'float32'))
    cw = layer.codewords.numpy()
    x = paddle.to_tensor(np.tile(cw[1][None, :, None, None], [1, 1, 2, 2]))
    ours = layer(x)
    ref = naive_encoding(x, layer.codewords, layer.scale)
    assert np.isfinite(ours.numpy()).all()
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), atol=1e-6)
