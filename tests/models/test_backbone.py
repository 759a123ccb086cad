"""DeepStemResNet: official layout, strides, dilations, parameter counts, loading."""
import numpy as np
import paddle
import pytest
from paddleseg.cvlibs import manager

import paddleseg_fastfcn  # noqa: F401  (registers components)
from paddleseg_fastfcn.models.backbones import DeepStemResNet
from paddleseg_fastfcn.utils import WeightsError
from paddleseg_fastfcn.utils.model_cost import count_parameters

SIZE = 64


def expected_resnet_params(blocks):
    """Trainable parameters of the deep-stem ResNet without fc, from layer shapes."""
    def conv(cin, cout, k):
        return cin * cout * k * k

    def bn(c):
        return 2 * c  # scale and shift

    stem = (conv(3, 64, 3) + bn(64) + conv(64, 64, 3) + bn(64) + conv(64, 128, 3)
            + bn(128))
    total, cin = stem, 128
    for planes, n in zip((64, 128, 256, 512), blocks):
        for i in range(n):
            total += (conv(cin, planes, 1) + bn(planes) + conv(planes, planes, 3) + bn(planes)
                      + conv(planes, 4 * planes, 1) + bn(4 * planes))
            if i == 0:
                total += conv(cin, 4 * planes, 1) + bn(4 * planes)
            cin = 4 * planes
    return total


@pytest.fixture(scope='module')
def image():
    paddle.seed(0)
    return paddle.rand([1, 3, SIZE, SIZE])


@pytest.mark.parametrize('output_stride, strides', [
    (32, (4, 8, 16, 32)), (16, (4, 8, 16, 16)), (8, (4, 8, 8, 8))])
def test_feature_shapes_and_strides(image, output_stride, strides):
    model = DeepStemResNet(50, output_stride=output_stride)
    model.eval()
    feats = model(image)
    assert model.feat_channels == [256, 512, 1024, 2048]
    assert [f.shape for f in feats] == [
        [1, c, SIZE // s, SIZE // s] for c, s in zip(model.feat_channels, strides)]


def conv2_settings(stage):
    return [(block.conv2._stride[0], block.conv2._dilation[0], block.conv2._padding)
            for block in stage]


def test_output_stride_32_has_no_dilation():
    model = DeepStemResNet(50, output_stride=32)
    for name, stride in (('layer1', 1), ('layer2', 2), ('layer3', 2), ('layer4', 2)):
        settings = conv2_settings(getattr(model, name))
        assert settings[0] == (stride, 1, 1)
        assert all(s == (1, 1, 1) for s in settings[1:])


def test_output_stride_8_dilates_with_half_dilation_first_block():
    model = DeepStemResNet(50, output_stride=8)
    assert conv2_settings(model.layer2)[0] == (2, 1, 1)
    layer3 = conv2_settings(model.layer3)
    assert layer3 == [(1, 1, 1)] + [(1, 2, 2)] * 5
    layer4 = conv2_settings(model.layer4)
    assert layer4 == [(1, 2, 2)] + [(1, 4, 4)] * 2
    # The shortcut projection keeps the stride of its block (1 in a dilated stage).
    assert model.layer3[0].downsample[0]._stride == [1, 1]
    assert model.layer4[0].downsample[0]._stride == [1, 1]


def test_stem_and_shortcut_layout_mirror_the_official_names():
    model = DeepStemResNet(50)
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    assert shapes['conv1.0.weight'] == [64, 3, 3, 3]
    assert model.conv1[0]._stride == [2, 2]
    assert shapes['conv1.3.weight'] == [64, 64, 3, 3]
    assert shapes['conv1.6.weight'] == [128, 64, 3, 3]
    assert 'conv1.6.bias' not in shapes  # no conv bias anywhere
    assert shapes['bn1._mean'] == [128]
    assert shapes['layer1.0.downsample.0.weight'] == [256, 128, 1, 1]
    assert shapes['layer1.0.downsample.1.weight'] == [256]
    assert shapes['layer2.0.conv2.weight'] == [128, 128, 3, 3]
    assert model.layer2[0].conv2._stride == [2, 2]
    assert model.layer2[0].conv1._stride == [1, 1]
    assert 'layer1.1.downsample.0.weight' not in shapes
    assert not any(k.startswith('fc') for k in shapes)


@pytest.mark.parametrize('depth, blocks', [(50, (3, 4, 6, 3)), (101, (3, 4, 23, 3))])
def test_parameter_count_matches_layer_shapes(depth, blocks):
    model = DeepStemResNet(depth)
    assert [len(getattr(model, 'layer{}'.format(i))) for i in range(1, 5)] == list(blocks)
    assert count_parameters(model) == expected_resnet_params(blocks)


def test_init_is_he_normal_over_the_fan_out():
    paddle.seed(0)
    model = DeepStemResNet(50)
    # conv3 of layer3 maps 256 -> 1024 with a 1x1 kernel: fan-out 1024, fan-in 256.
    for weight in (model.layer3[1].conv3.weight, model.layer3[1].conv2.weight, model.conv1[0].weight):
        out_channels, _, kh, kw = weight.shape
        expected = np.sqrt(2.0 / (kh * kw * out_channels))
        assert abs(float(weight.std()) / expected - 1) < 0.05
        assert abs(float(weight.mean())) < 0.1 * expected
    assert np.all(model.bn1.weight.numpy() == 1) and np.all(model.bn1.bias.numpy() == 0)


def test_registered_names_build_the_right_depth():
    assert len(manager.BACKBONES['DeepStemResNet50']().layer3) == 6
    assert len(manager.BACKBONES['DeepStemResNet101'](output_stride=8).layer3) == 23


def test_in_channels_sets_the_first_conv():
    model = DeepStemResNet(50, in_channels=4)
    model.eval()
    assert model.conv1[0].weight.shape == [64, 4, 3, 3]
    assert model(paddle.rand([1, 4, 32, 32]))[3].shape == [1, 2048, 1, 1]


@pytest.mark.parametrize('kwargs, word', [({'depth': 34}, 'depth'), ({'output_stride': 4}, 'output_stride')])
def test_bad_arguments_are_named(kwargs, word):
    with pytest.raises(ValueError, match=word):
        DeepStemResNet(**kwargs)


def test_gradients_reach_the_stem(image):
    model = DeepStemResNet(50, output_stride=8)
    model.train()
    x = paddle.concat([image, image.flip([3])])
    sum(f.mean() for f in model(x)).backward()
    grad = model.conv1[0].weight.grad
    assert grad is not None and float(grad.abs().sum()) > 0


def test_pretrained_path_loads_every_tensor(tmp_path, image):
    paddle.seed(1)
    source = DeepStemResNet(50)
    path = str(tmp_path / 'resnet50.pdparams')
    paddle.save(source.state_dict(), path)
    paddle.seed(2)
    model = DeepStemResNet(50, pretrained=path)
    for key, value in source.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[key].numpy(), value.numpy())
    source.eval()
    model.eval()
    np.testing.assert_array_equal(model(image)[3].numpy(), source(image)[3].numpy())


def test_pretrained_shape_mismatch_names_the_key(tmp_path):
    state = DeepStemResNet(50).state_dict()
    state['conv1.0.weight'] = paddle.zeros([64, 4, 3, 3])
    path = str(tmp_path / 'bad.pdparams')
    paddle.save(state, path)
    with pytest.raises(WeightsError, match=r"conv1\.0\.weight: file \[64, 4, 3, 3\] vs layer \[64, 3, 3, 3\]"):
        DeepStemResNet(50, pretrained=path)
