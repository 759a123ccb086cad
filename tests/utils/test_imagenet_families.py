"""Published ImageNet ResNet files of each family load onto their backbone with nothing left over.

The key/shape layouts are generated here from each family's published description
(torchvision's ResNet v1.5, mmseg's ResNetV1c), independently of the Paddle
backbones; torchvision's parameter counts (its published ``num_params``) check
the generator. Full-size files are written in torch.save's zip layout into
tmp_path (about 100 MB each, never committed) and read by the torch-free reader.
"""
import importlib.util
import math
import os

import numpy as np
import paddle
import pytest
from paddleseg.cvlibs import manager

from paddleseg_fastfcn.core.builder import build_model, load_config
from paddleseg_fastfcn.utils.torch_checkpoint import (
    IMAGENET_FAMILIES, CheckpointMismatch, convert_for_layer, imagenet_family, read_torch_checkpoint)
from tests.tools.test_convert_torch_checkpoint import assert_loaded_exactly, read_part, synthetic_state_dict
from tests.utils.torch_zip_writer import write_torch_zip

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}
# torchvision's published parameter counts (ResNet50_Weights / ResNet101_Weights meta).
TORCHVISION_PARAMS = {50: 25557032, 101: 44549160}


def resnet_keys(stem, depth, with_fc=True):
    """``[(key, shape)]`` of a torchvision (``stem='7x7'``) or mmseg V1c (``'v1c'``) ResNet state dict."""
    keys = []

    def conv(name, cout, cin, k):
        keys.append((name + '.weight', (cout, cin, k, k)))

    def bn(name, c):
        keys.extend((name + suffix, (c,)) for suffix in ('.weight', '.bias', '.running_mean', '.running_var'))
        keys.append((name + '.num_batches_tracked', ()))

    if stem == '7x7':
        conv('conv1', 64, 3, 7)
        bn('bn1', 64)
    else:  # mmseg ResNetV1c: Sequential(conv, bn, relu) x 3 -> indices 0/1, 3/4, 6/7
        for index, (cin, cout) in enumerate(((3, 32), (32, 32), (32, 64))):
            conv('stem.{}'.format(3 * index), cout, cin, 3)
            bn('stem.{}'.format(3 * index + 1), cout)
    inplanes = 64
    for stage, (planes, blocks) in enumerate(zip((64, 128, 256, 512), BLOCKS[depth])):
        for block in range(blocks):
            prefix = 'layer{}.{}.'.format(stage + 1, block)
            conv(prefix + 'conv1', planes, inplanes if block == 0 else planes * 4, 1)
            bn(prefix + 'bn1', planes)
            conv(prefix + 'conv2', planes, planes, 3)
            bn(prefix + 'bn2', planes)
            conv(prefix + 'conv3', planes * 4, planes, 1)
            bn(prefix + 'bn3', planes * 4)
            if block == 0:
                conv(prefix + 'downsample.0', planes * 4, inplanes, 1)
                bn(prefix + 'downsample.1', planes * 4)
        inplanes = planes * 4
    if with_fc:
        keys += [('fc.weight', (1000, 2048)), ('fc.bias', (1000,))]
    return keys


@pytest.mark.parametrize('depth', [50, 101])
def test_torchvision_layout_has_the_published_parameter_count(depth):
    counted = sum(math.prod(s) for k, s in resnet_keys('7x7', depth) if not k.endswith(
        ('running_mean', 'running_var', 'num_batches_tracked')))
    assert counted == TORCHVISION_PARAMS[depth]


def backbone(name):
    return manager.BACKBONES[name]()


def convert_onto(layer, source):
    return convert_for_layer(source, layer, backbone_only=True)


def load_converter():
    spec = importlib.util.spec_from_file_location(
        'convert_torch_checkpoint', os.path.join(REPO, 'tools', 'convert_torch_checkpoint.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('stem, backbone_name, config, wrap', [
    # resnet50-0676ba61.pth: a plain state dict with fc
    ('7x7', 'TorchvisionResNet50', 'encnet_jpu_r50tv_ade20k_480x480_120e.yml', False),
    # resnet50_v1c-2cccc1ad.pth, here wrapped as mmseg's {state_dict, meta}
    ('v1c', 'ResNet50V1c', 'encnet_jpu_r50v1c_cityscapes_480x480_240e.yml', True),
])
def test_full_size_published_file_converts_and_loads_with_no_key_left(tmp_path, stem, backbone_name, config, wrap):
    source = synthetic_state_dict(resnet_keys(stem, 50, with_fc=stem == '7x7'))
    path = str(tmp_path / 'imagenet.pth')
    write_torch_zip(path, {'state_dict': source, 'meta': {'mmcv_version': '1.0'}} if wrap else source)
    assert os.path.getsize(path) > 90e6  # full size: every tensor at its published shape
    assert imagenet_family(read_torch_checkpoint(path)).backbones[0] == backbone_name
    out = str(tmp_path / 'backbone.pdparams')
    # The config names a URL for these weights: the converter must not load (download) it.
    result = load_converter().convert(path, os.path.join(REPO, 'configs', 'encnet', config), out,
                                      backbone_only=True, log=lambda line: None)
    dropped = sorted(k for k, _ in result.dropped if not k.endswith('num_batches_tracked'))
    assert dropped == (['fc.bias', 'fc.weight'] if stem == '7x7' else [])
    loaded = manager.BACKBONES[backbone_name](pretrained=out).state_dict()
    assert sorted(result.renamed.values()) == sorted(loaded)
    for key, name in result.renamed.items():
        np.testing.assert_array_equal(loaded[name].numpy(), source[key], err_msg=key)
    # `pretrained:` takes the .pth itself (the loader converts it the same way).
    direct = manager.BACKBONES[backbone_name](pretrained=path).state_dict()
    for key, name in result.renamed.items():
        np.testing.assert_array_equal(direct[name].numpy(), source[key], err_msg=key)


@pytest.mark.parametrize('stem, backbone_name', [('7x7', 'TorchvisionResNet101'), ('v1c', 'ResNet101V1c')])
def test_depth_101_layouts_fill_their_backbones(stem, backbone_name):
    source = synthetic_state_dict(resnet_keys(stem, 101))
    layer = backbone(backbone_name)
    assert_loaded_exactly(layer, source, convert_onto(layer, source))


def test_official_files_are_recognised_as_their_family():
    assert imagenet_family(synthetic_state_dict(read_part('resnet50.txt'))) is IMAGENET_FAMILIES[0]


def test_a_file_of_another_family_is_refused_with_the_backbone_to_use():
    source = synthetic_state_dict(resnet_keys('7x7', 50))
    with pytest.raises(CheckpointMismatch, match='torchvision.*TorchvisionResNet50 / TorchvisionResNet101'):
        convert_onto(backbone('DeepStemResNet50'), source)


def test_resnet50_vd_configs_still_load_paddleseg_weights(tmp_path):
    # ResNet50_vd is PaddleSeg's own backbone; its published .pdparams are its state dict.
    published = manager.BACKBONES['ResNet50_vd'](output_stride=32)
    state = {k: paddle.full(v.shape, i % 97 / 97, v.dtype) for i, (k, v) in enumerate(published.state_dict().items())}
    path = str(tmp_path / 'resnet50_vd_ssld_v2.pdparams')
    paddle.save(state, path)
    cfg = load_config(os.path.join(REPO, 'configs', 'encnet', 'encnet_jpu_r50vd_ade20k_480x480_120e.yml'),
                      opts=['model.backbone.pretrained={}'.format(path)])
    loaded = build_model(cfg).backbone.state_dict()
    assert sorted(loaded) == sorted(state)
    for key, value in state.items():
        np.testing.assert_array_equal(loaded[key].numpy(), value.numpy(), err_msg=key)
