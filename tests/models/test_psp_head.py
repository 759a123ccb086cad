"""PSPHead: shapes, pyramid branches, dropout modes, official names."""
import numpy as np
import paddle
import paddle.nn.functional as F

from paddleseg_fastfcn.models.heads import PSPHead, PyramidPooling


def small_head(**kwargs):
    paddle.seed(0)
    args = dict(num_classes=5, in_channels=16)
    args.update(kwargs)
    return PSPHead(**args)


def test_shapes_in_train_and_eval():
    head = small_head()
    x = [paddle.rand([2, 16, 7, 9])]
    for training in (True, False):
        head.train() if training else head.eval()
        out = head(x)
        assert len(out) == 1 and out[0].shape == [2, 5, 7, 9]
    assert head.output_names == ('seg',)


def test_pyramid_keeps_input_and_adds_one_upsampled_branch_per_bin():
    paddle.seed(0)
    pyramid = PyramidPooling(8, bin_sizes=(1, 2, 3, 6))
    pyramid.eval()
    x = paddle.rand([1, 8, 7, 5]) - 0.5  # not divisible by the bins
    out = pyramid(x).numpy()
    assert out.shape == (1, 8 + 4 * 2, 7, 5) and pyramid.out_channels == 16
    np.testing.assert_array_equal(out[:, :8], x.numpy())
    # bin 1: conv-BN-ReLU of the global mean, the same at every pixel
    expected = pyramid.conv1(x.mean(axis=[2, 3], keepdim=True)).numpy()
    np.testing.assert_allclose(out[:, 8:10], np.broadcast_to(expected, (1, 2, 7, 5)), atol=1e-6)
    # bin 2 on 7 x 5: adaptive windows rows [0, 4) / [3, 7), cols [0, 3) / [2, 5),
    # conv-BN-ReLU, then bilinear (align_corners=True) back to 7 x 5
    x_np = x.numpy()
    pooled = np.array([[x_np[0, :, r0:r1, c0:c1].mean(axis=(1, 2)) for c0, c1 in ((0, 3), (2, 5))]
                       for r0, r1 in ((0, 4), (3, 7))]).transpose(2, 0, 1)[None]
    branch = pyramid.conv2(paddle.to_tensor(pooled.astype('float32')))
    expected = F.interpolate(branch, [7, 5], mode='bilinear', align_corners=True).numpy()
    assert np.abs(expected).max() > 1e-3 and expected.std() > 1e-4
    np.testing.assert_allclose(out[:, 10:12], expected, atol=1e-5)


def test_dropout_is_active_only_in_training():
    head = small_head(dropout_ratio=0.5)
    x = [paddle.rand([2, 16, 6, 6])]
    head.train()
    assert np.abs(head(x)[0].numpy() - head(x)[0].numpy()).max() > 1e-4
    head.eval()
    np.testing.assert_array_equal(head(x)[0].numpy(), head(x)[0].numpy())


def test_official_widths_and_names():
    head = PSPHead(num_classes=59, in_channels=2048)
    shapes = {k: v.shape for k, v in head.state_dict().items()}
    for i in range(1, 5):
        assert shapes['conv5.0.conv{}.0.weight'.format(i)] == [512, 2048, 1, 1]
    assert shapes['conv5.1.weight'] == [512, 4096, 3, 3]
    assert shapes['conv5.5.weight'] == [59, 512, 1, 1]
    assert 'conv5.5.bias' in shapes and 'conv5.1.bias' not in shapes
    assert type(head.conv5[4]).__name__ == 'Dropout2D'


def test_upsample_pooled_equals_bilinear_align_corners():
    from paddleseg_fastfcn.models.heads.upsample import upsample_pooled
    for h, w in ((1, 1), (2, 3), (6, 6)):
        x = paddle.rand([2, 3, h, w])
        expected = F.interpolate(x, [7, 9], mode='bilinear', align_corners=True).numpy()
        got = upsample_pooled(x, paddle.to_tensor([7, 9]))
        assert got.shape == [2, 3, 7, 9]
        np.testing.assert_allclose(got.numpy(), expected, atol=1e-6)
