"""JointPyramidUpsampling: official layout, concat order, resize, gradients."""
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest
from paddleseg.cvlibs import manager

import paddleseg_fastfcn  # noqa: F401  (registers components)
from paddleseg_fastfcn.models.backbones import DeepStemResNet
from paddleseg_fastfcn.models.necks import JointPyramidUpsampling
from paddleseg_fastfcn.utils.model_cost import count_parameters
from tests.models.backbone_features import random_feats

WIDTH = 512


@pytest.fixture(scope='module')
def jpu():
    paddle.seed(0)
    neck = JointPyramidUpsampling([512, 1024, 2048], width=WIDTH)
    neck.eval()
    return neck


def depthwise_input(neck, feats):
    """The tensor the four branches read (the [c4', c3', c2'] concatenation)."""
    captured = []
    handle = neck.dilation1[0].conv1.register_forward_pre_hook(
        lambda layer, inputs: captured.append(inputs[0].numpy()))
    neck(feats)
    handle.remove()
    return captured[0]


def test_output_shapes_and_passthrough(jpu):
    feats = random_feats(1)
    out = jpu(feats)
    assert out[3].shape == [1, 4 * WIDTH, 8, 8]
    for given, returned in zip(feats[:3], out[:3]):
        assert returned is given
    assert jpu.out_channels == [None, 512, 1024, 2048]
    assert JointPyramidUpsampling([256, 512, 1024, 2048]).out_channels == [256, 512, 1024, 2048]


@pytest.mark.parametrize('changed, channels', [(3, slice(0, 512)), (2, slice(512, 1024)),
                                               (1, slice(1024, 1536))])
def test_concat_order_is_c4_c3_c2(jpu, changed, channels):
    base = random_feats(2)
    other = list(base)
    other[changed] = random_feats(3)[changed]
    diff = np.abs(depthwise_input(jpu, base) - depthwise_input(jpu, other)).max(axis=(0, 2, 3))
    moved = np.zeros(3 * WIDTH, dtype=bool)
    moved[channels] = True
    assert (diff[moved] > 0).mean() > 0.5  # post-ReLU zeros may stay zero
    assert np.all(diff[~moved] == 0)


def test_resize_matches_bilinear_align_corners(jpu):
    feats = random_feats(4)
    fused = depthwise_input(jpu, feats)
    for conv, c, channels in ((jpu.conv5, feats[3], slice(0, 512)),
                              (jpu.conv4, feats[2], slice(512, 1024))):
        expected = F.interpolate(conv(c), size=[8, 8], mode='bilinear', align_corners=True)
        np.testing.assert_allclose(fused[:, channels], expected.numpy(), atol=1e-5)
    np.testing.assert_allclose(fused[:, 1024:], jpu.conv3(feats[1]).numpy(), atol=1e-6)


def test_branch_layout_mirrors_the_official_module(jpu):
    assert jpu.conv5[0].weight.shape == [WIDTH, 2048, 3, 3]
    assert jpu.conv4[0].weight.shape == [WIDTH, 1024, 3, 3]
    assert jpu.conv3[0].weight.shape == [WIDTH, 512, 3, 3]
    for i, d in enumerate((1, 2, 4, 8), 1):
        branch = getattr(jpu, 'dilation{}'.format(i))
        depthwise, pointwise = branch[0].conv1, branch[0].pointwise
        assert (depthwise._dilation, depthwise._padding, depthwise._groups) == ([d, d], d, 1536)
        assert depthwise.weight.shape == [1536, 1, 3, 3]
        assert isinstance(branch[0].bn, paddle.nn.BatchNorm2D) and branch[0].bn.weight.shape == [1536]
        assert pointwise.weight.shape == [WIDTH, 1536, 1, 1]
        assert isinstance(branch[1], paddle.nn.BatchNorm2D) and isinstance(branch[2], paddle.nn.ReLU)
    assert all(not k.endswith('conv1.bias') and not k.endswith('pointwise.bias')
               for k in jpu.state_dict())


def test_parameter_count_matches_layer_shapes(jpu):
    convs = 9 * WIDTH * (2048 + 1024 + 512) + 3 * 2 * WIDTH
    branch = 9 * 3 * WIDTH + 2 * 3 * WIDTH + 3 * WIDTH * WIDTH + 2 * WIDTH
    assert count_parameters(jpu) == convs + 4 * branch


def test_gradients_flow_to_every_parameter_and_input():
    paddle.seed(5)
    neck = JointPyramidUpsampling(width=64)
    neck.train()
    feats = random_feats(6, batch=2)
    for f in feats:
        f.stop_gradient = False
    neck(feats)[3].square().mean().backward()
    for name, p in neck.named_parameters():
        if not p.stop_gradient:
            assert p.grad is not None and float(p.grad.abs().sum()) > 0, name
    for f in feats[1:]:
        assert float(f.grad.abs().sum()) > 0


def test_needs_four_features(jpu):
    with pytest.raises(ValueError, match='4 backbone features'):
        jpu(random_feats(7)[1:])


def test_registered_as_a_model():
    assert manager.MODELS['JointPyramidUpsampling'] is JointPyramidUpsampling


@pytest.mark.parametrize('backbone', [
    lambda: DeepStemResNet(50, output_stride=32),
    lambda: manager.BACKBONES['ResNet50_vd'](output_stride=32)])
def test_backbone_plus_jpu_gives_2048_channels_at_stride_8(jpu, backbone):
    model = backbone()
    model.eval()
    assert model.feat_channels[1:] == [512, 1024, 2048]
    out = jpu(model(paddle.rand([1, 3, 64, 64])))
    assert out[3].shape == [1, 2048, 8, 8]
