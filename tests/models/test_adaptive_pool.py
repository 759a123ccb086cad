"""adaptive_avg_pool must equal Paddle's adaptive average pooling and export."""
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from paddleseg_fastfcn.models.layers import adaptive_avg_pool, pooling_matrix


@pytest.mark.parametrize('hw', [(8, 8), (7, 5), (13, 17), (1, 3), (2, 2)])
@pytest.mark.parametrize('bins', [1, 2, 3, 6])
def test_matches_adaptive_avg_pool2d(hw, bins):
    x = paddle.randn([2, 3, *hw])
    np.testing.assert_allclose(adaptive_avg_pool(x, bins).numpy(),
                               F.adaptive_avg_pool2d(x, bins).numpy(), atol=1e-5)


def test_bins_overlap_like_pytorch():
    # 5 samples into 3 bins: [0, 2), [1, 4), [3, 5) -- overlapping, as PyTorch / Paddle.
    expected = np.array([[1 / 2, 1 / 2, 0, 0, 0],
                         [0, 1 / 3, 1 / 3, 1 / 3, 0],
                         [0, 0, 0, 1 / 2, 1 / 2]], dtype='float32')
    np.testing.assert_allclose(pooling_matrix(3, 5).numpy(), expected, atol=1e-7)
    np.testing.assert_allclose(pooling_matrix(3, 5, transposed=True).numpy(), expected.T, atol=1e-7)


def test_to_static_dynamic_shapes():
    class Pool(paddle.nn.Layer):
        def forward(self, x):
            return adaptive_avg_pool(x, 3)

    model = Pool()
    static = paddle.jit.to_static(
        model, input_spec=[paddle.static.InputSpec([None, 4, None, None], 'float32')],
        full_graph=True)
    for shape in [(1, 4, 9, 9), (2, 4, 10, 7)]:
        x = paddle.randn(shape)
        np.testing.assert_allclose(static(x).numpy(), F.adaptive_avg_pool2d(x, 3).numpy(), atol=1e-5)
