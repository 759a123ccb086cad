import numpy as np
import paddle
import pytest

from paddleseg_fastfcn.core.inference import (aug_infer_logits, predict_logits,
                                              slide_inference)
from paddleseg_fastfcn.core.inference_options import InferenceOptions
from paddleseg_fastfcn.models.layers.resize import resize_align_corners


class ConvModel(paddle.nn.Layer):
    """A single conv returning ``[logits]`` like a segmentor in eval mode."""

    def __init__(self, kernel_size=(1, 1), num_classes=4):
        super().__init__()
        pad = (kernel_size[0] // 2, kernel_size[1] // 2)
        self.conv = paddle.nn.Conv2D(3, num_classes, kernel_size, padding=pad)

    def forward(self, x):
        return [self.conv(x)]


@pytest.fixture()
def image():
    paddle.seed(0)
    return paddle.rand([1, 3, 23, 37])


def test_sliding_window_equals_whole_image_for_pointwise_model(image):
    model = ConvModel()
    model.eval()
    whole = model(image)[0].numpy()
    # windows overlap unevenly and the last row / column is shifted back to the border
    slid = slide_inference(model, image, crop_size=(16, 10), stride=(9, 7)).numpy()
    np.testing.assert_allclose(slid, whole, rtol=1e-5, atol=1e-5)


def test_sliding_window_on_image_smaller_than_window(image):
    model = ConvModel()
    model.eval()
    np.testing.assert_allclose(slide_inference(model, image, (64, 64), (32, 32)).numpy(),
                               model(image)[0].numpy(), rtol=1e-6, atol=1e-6)


def test_flip_adds_mirrored_model(image):
    # A horizontally asymmetric kernel: flip(model(flip(x))) is the conv with the
    # mirrored kernel, so the flip-augmented logits are the conv with k + mirror(k).
    model = ConvModel(kernel_size=(1, 3))
    model.eval()
    got = aug_infer_logits(model, image, InferenceOptions(aug=True, flip_horizontal=True)).numpy()
    w = model.conv.weight.numpy()
    mirrored = paddle.nn.functional.conv2d(image, paddle.to_tensor(w[..., ::-1].copy()),
                                           model.conv.bias, padding=(0, 1))
    expected = model(image)[0].numpy() + mirrored.numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_multi_scale_sums_resized_passes(image):
    model = ConvModel()
    model.eval()
    got = aug_infer_logits(model, image, InferenceOptions(aug=True, scales=[0.5, 1.0])).numpy()
    h, w = image.shape[-2:]
    half = [int(h * 0.5 + 0.5), int(w * 0.5 + 0.5)]
    small = resize_align_corners(model(resize_align_corners(image, half))[0], [h, w])
    np.testing.assert_allclose(got, small.numpy() + model(image)[0].numpy(), rtol=1e-5, atol=1e-5)
    # a 1x1 conv commutes with bilinear resizing (its weights sum to one per pixel)
    np.testing.assert_allclose(
        small.numpy(), model(resize_align_corners(resize_align_corners(image, half), [h, w]))[0].numpy(),
        rtol=1e-4, atol=1e-4)


def test_predict_logits_undoes_resize_and_padding_with_align_corners():
    model = ConvModel()
    model.eval()
    im = paddle.rand([1, 3, 40, 40])
    # record order as PaddleSeg writes it: shape *before* each transform (parsing: tests/utils/test_trans_info.py)
    out = predict_logits(model, im, [('resize', (10, 20)), ('padding', (30, 36))])
    assert out.shape[-2:] == [10, 20]
    expected = resize_align_corners(model(im)[0][:, :, :30, :36], [10, 20])
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_predict_logits_runs_without_grad(image):
    model = ConvModel()
    model.eval()
    out = predict_logits(model, image, None, InferenceOptions(is_slide=True, crop_size=(16, 16),
                                                               stride=(8, 8)))
    assert out.shape == [1, 4, 23, 37] and out.stop_gradient


def test_predict_logits_uses_scales_and_flip_only_with_aug(image):
    model = ConvModel(kernel_size=(1, 3))
    model.eval()
    whole = predict_logits(model, image).numpy()
    off = InferenceOptions(aug=False, scales=[0.5, 1.0], flip_horizontal=True)
    np.testing.assert_array_equal(predict_logits(model, image, None, off).numpy(), whole)
    on = InferenceOptions(aug=True, scales=[0.5, 1.0], flip_horizontal=True)
    np.testing.assert_allclose(predict_logits(model, image, None, on).numpy(),
                               aug_infer_logits(model, image, on).numpy(), rtol=1e-6)
    assert not np.allclose(aug_infer_logits(model, image, on).numpy(), whole, atol=1e-3)


def test_a_logits_function_runs_the_same_protocol_as_the_model(image):
    model = ConvModel(kernel_size=(3, 3))
    model.eval()
    calls = []

    def logits_fn(x):  # what deploy's ExportedLogits is: Tensor -> logits Tensor
        calls.append(list(x.shape))
        return model(x)[0]

    options = InferenceOptions(aug=True, scales=[0.75, 1.0], flip_horizontal=True, is_slide=True,
                               crop_size=(16, 10), stride=(9, 7))
    np.testing.assert_array_equal(predict_logits(logits_fn, image, None, options).numpy(),
                                  predict_logits(model, image, None, options).numpy())
    assert max(s[2] for s in calls) == 10 and max(s[3] for s in calls) == 16  # windows, not images
    with pytest.raises(TypeError, match='logits function'):
        slide_inference('not a model', image, (16, 10), (9, 7))
