"""resize_align_corners / resize_bilinear must equal Paddle's bilinear resize with
align_corners True and False (values and gradients) and survive static conversion
with dynamic shapes."""
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from paddleseg_fastfcn.models.layers import interpolation_matrix, resize_align_corners, resize_bilinear
from paddleseg_fastfcn.models.layers.resize import interpolate_rows, interpolate_rows_banded


@pytest.mark.parametrize('in_hw,out_hw', [((8, 8), (64, 64)), ((7, 5), (33, 20)),
                                          ((1, 1), (9, 9)), ((16, 16), (4, 3)),
                                          ((5, 6), (1, 1)), ((6, 4), (6, 4))])
def test_matches_bilinear_align_corners(in_hw, out_hw):
    paddle.seed(0)
    x = paddle.randn([2, 3, *in_hw])
    ours = resize_align_corners(x, out_hw)
    ref = F.interpolate(x, size=out_hw, mode='bilinear', align_corners=True)
    assert ours.shape == [2, 3, *out_hw]
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), atol=1e-5)


def test_gradient_matches_bilinear():
    x1 = paddle.randn([1, 2, 5, 7])
    x1.stop_gradient = False
    x2 = paddle.to_tensor(x1.numpy(), stop_gradient=False)
    w = paddle.randn([1, 2, 11, 13])
    (resize_align_corners(x1, (11, 13)) * w).sum().backward()
    (F.interpolate(x2, size=(11, 13), mode='bilinear', align_corners=True) * w).sum().backward()
    np.testing.assert_allclose(x1.grad.numpy(), x2.grad.numpy(), atol=1e-5)


# Up- and downsampling, odd ratios, one-pixel source / target, identity.
HALF_PIXEL_SIZES = [((8, 8), (64, 64)), ((7, 5), (33, 20)), ((2, 2), (8, 8)), ((1, 3), (4, 9)),
                    ((16, 16), (4, 3)), ((33, 20), (7, 5)), ((5, 6), (1, 1)), ((6, 4), (6, 4))]


@pytest.mark.parametrize('in_hw,out_hw', HALF_PIXEL_SIZES)
def test_half_pixel_matches_bilinear_values_and_gradients(in_hw, out_hw):
    paddle.seed(1)
    x1 = paddle.randn([2, 3, *in_hw])
    x1.stop_gradient = False
    x2 = paddle.to_tensor(x1.numpy(), stop_gradient=False)
    ours = resize_bilinear(x1, out_hw, align_corners=False)
    ref = F.interpolate(x2, size=out_hw, mode='bilinear', align_corners=False)
    assert ours.shape == [2, 3, *out_hw]
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), atol=1e-5)
    w = paddle.randn([2, 3, *out_hw])
    (ours * w).sum().backward()
    (ref * w).sum().backward()
    np.testing.assert_allclose(x1.grad.numpy(), x2.grad.numpy(), atol=1e-5)


def test_half_pixel_matrix_is_not_the_align_corners_one():
    """4 -> 8: half-pixel weights differ from corner-aligned ones, and clamp at the borders."""
    half = interpolation_matrix(8, 4, align_corners=False).numpy()
    np.testing.assert_allclose(half.sum(axis=1), 1.0, atol=1e-6)
    # src = (i + 0.5) / 2 - 0.5: i=0 -> -0.25 clamped to 0, i=1 -> 0.25, i=7 -> 3.25 clamped to 3.
    np.testing.assert_allclose(half[0], [1, 0, 0, 0])
    np.testing.assert_allclose(half[1], [0.75, 0.25, 0, 0])
    np.testing.assert_allclose(half[7], [0, 0, 0, 1])
    assert np.abs(half - interpolation_matrix(8, 4).numpy()).max() > 0.1


def test_interpolation_matrix_rows_are_convex_weights():
    m = interpolation_matrix(9, 4).numpy()
    assert m.shape == (9, 4)
    np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-6)
    assert (m >= 0).all()
    # align_corners=True: the first and last outputs copy the corner samples.
    np.testing.assert_array_equal(m[0], [1, 0, 0, 0])
    np.testing.assert_array_equal(m[-1], [0, 0, 0, 1])


def test_to_static_with_dynamic_shapes():
    class ResizeToInput(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            self.conv = paddle.nn.Conv2D(3, 4, 3, stride=4, padding=1)

        def forward(self, x):
            return resize_align_corners(self.conv(x), paddle.shape(x)[2:])

    class HalfPixelResizeToInput(ResizeToInput):
        def forward(self, x):
            return resize_bilinear(self.conv(x), paddle.shape(x)[2:], align_corners=False)

    for model_class in (ResizeToInput, HalfPixelResizeToInput):
        check_static_equals_dygraph(model_class())


def check_static_equals_dygraph(model):
    model.eval()
    static = paddle.jit.to_static(
        model, input_spec=[paddle.static.InputSpec([None, 3, None, None], 'float32')],
        full_graph=True)
    for shape in [(1, 3, 32, 32), (2, 3, 40, 24)]:
        x = paddle.randn(shape)
        np.testing.assert_allclose(static(x).numpy(), model(x).numpy(), atol=1e-5)
        assert static(x).shape == [shape[0], 4, shape[2], shape[3]]


@pytest.mark.parametrize('align_corners', [True, False])
def test_large_logits_resize_matches_bilinear_values_and_gradients(align_corners):
    """The logits resize of a 1024x2048 image (a 128x256 map, 4 of its 150 channels):
    the banded row products in dygraph give F.interpolate's values and input gradients."""
    paddle.seed(2)
    x1 = paddle.randn([1, 4, 128, 256])
    x1.stop_gradient = False
    x2 = paddle.to_tensor(x1.numpy(), stop_gradient=False)
    ours = resize_bilinear(x1, (1024, 2048), align_corners)
    ref = F.interpolate(x2, size=(1024, 2048), mode='bilinear', align_corners=align_corners)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), atol=1e-5)
    w = paddle.randn([1, 4, 1024, 2048])
    (ours * w).sum().backward()
    (ref * w).sum().backward()
    # Each input gradient sums ~64 products of O(1) terms: float32 rounding of the sums.
    np.testing.assert_allclose(x1.grad.numpy(), x2.grad.numpy(), atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize('out_rows', [96, 40, 8, 97, 7])
def test_banded_and_gathered_rows_agree(out_rows):
    """Both row formulations (banded products in dygraph when a block size divides the
    output height, row gathers otherwise and in static graphs) are the same map."""
    paddle.seed(3)
    x = paddle.randn([3, 13, 5])
    gathered = interpolate_rows(x, out_rows, align_corners=True)
    banded = interpolate_rows_banded(x, out_rows, align_corners=True)
    if out_rows in (97, 7):  # no block size divides them
        assert banded is None
        return
    np.testing.assert_allclose(banded.numpy(), gathered.numpy(), atol=1e-5)


@pytest.mark.parametrize('align_corners', [True, False])
def test_numpy_source_positions_equal_the_tensor_ones_bit_for_bit(align_corners):
    # The banded weights of a fixed-shape graph come from the numpy form; dygraph and dynamic
    # graphs use the tensor form. Equal float32 bits: the same weights on every path.
    from paddleseg_fastfcn.models.layers.resize import source_positions, source_positions_np
    for out_size, in_size in [(1, 1), (1, 7), (9, 1), (64, 8), (33, 7), (2048, 256), (1024, 128),
                              (3, 16), (500, 63)]:
        ours = source_positions_np(out_size, in_size, align_corners)
        ref = source_positions(out_size, in_size, 'float32', align_corners).numpy()
        assert ours.dtype == np.float32 and ours.shape == ref.shape
        np.testing.assert_array_equal(ours.view(np.int32), ref.view(np.int32),
                                      err_msg='{} <- {}'.format(out_size, in_size))
