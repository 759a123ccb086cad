"""Official FastFCN PyTorch checkpoints -> this project's Paddle models.

Synthetic official-format state dicts are generated from the key/shape spec in
tests/data/official_keys (dumped from the official classes; see its README), with
a distinct value in every tensor, converted, loaded into the models built from
configs/official, and compared tensor by tensor. The CLI reads .pth files in
torch.save's zip layout, written here without torch (tests/utils/torch_zip_writer.py;
the reader itself is tested on files written by torch in tests/utils).
"""
import json
import math
import os
import subprocess
import sys

import numpy as np
import paddle
import pytest

from paddleseg_fastfcn.core.builder import build_model, load_config
from paddleseg_fastfcn.models.backbones import DeepStemResNet
from paddleseg_fastfcn.utils.weight_files import read_paddle_file
from paddleseg_fastfcn.utils.weights import load_weights
from paddleseg_fastfcn.utils.torch_checkpoint import (
    CheckpointMismatch, convert_state_dict, map_key, target_spec, unwrap_state_dict)
from tests.conftest import array_digest
from tests.utils.torch_zip_writer import write_torch_zip

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC_DIR = os.path.join(REPO, 'tests', 'data', 'official_keys')
BN_BUFFERS = ('running_mean', 'running_var', 'num_batches_tracked')
# Values i + (position % 1024) / 1024 are exact in float32 for i < 2**13: each tensor
# has its own integer part and each position in it a varying fraction, so a value on
# the wrong parameter or a Linear weight left untransposed shows up.
FRACTION_PERIOD = 1024


# ---- the official layout, from the spec files ----------------------------------------

def official_models():
    with open(os.path.join(SPEC_DIR, 'models.json'), encoding='utf-8') as f:
        return {k: v for k, v in json.load(f).items() if not k.startswith('_')}


def read_part(file_name, num_classes=None):
    """``[(key, shape)]`` of one spec file (``-`` = 0-d, ``{num_classes}`` filled in)."""
    entries = []
    with open(os.path.join(SPEC_DIR, file_name), encoding='utf-8') as f:
        for line in f:
            key, dims = line.split()
            shape = () if dims == '-' else tuple(
                num_classes if d == '{num_classes}' else int(d) for d in dims.split(','))
            entries.append((key, shape))
    return entries


def model_keys(name):
    entry = official_models()[name]
    return [(prefix + key, shape) for prefix, file_name in entry['parts'].items()
            for key, shape in read_part(file_name, entry['num_classes'])]


def synthetic_state_dict(keys):
    state = {}
    for index, (key, shape) in enumerate(keys):
        if key.endswith('num_batches_tracked'):
            state[key] = np.array(index, dtype=np.int64)
            continue
        fraction = (np.arange(math.prod(shape), dtype=np.float32) % FRACTION_PERIOD) / FRACTION_PERIOD
        state[key] = (index + fraction).reshape(shape)
    return state


def convert_for(layer, source, backbone_only=False):
    shapes, dtypes, linear = target_spec(layer)
    return convert_state_dict(source, shapes, linear, dtypes, backbone_only=backbone_only)


def assert_loaded_exactly(layer, source, conversion):
    """Load ``conversion`` into ``layer`` and check every parameter against its source."""
    missing, unexpected = layer.set_state_dict(conversion.state)
    assert missing == [] and unexpected == []
    state = layer.state_dict()
    assert sorted(conversion.renamed.values()) == sorted(state)
    for official, name in conversion.renamed.items():
        want = source[official].T if name in conversion.transposed else source[official]
        np.testing.assert_array_equal(state[name].numpy(), want, err_msg='{} -> {}'.format(official, name))


# ---- the spec itself ------------------------------------------------------------------

@pytest.mark.parametrize('name', sorted(official_models()))
def test_spec_parameter_counts_match_the_official_models(name):
    # Independent check of the spec files: parameter counts measured on the official
    # PyTorch code (reference fastfcn.md section 6, copied into models.json).
    keys = model_keys(name)
    assert len({k for k, _ in keys}) == len(keys)
    assert sum(math.prod(s) for k, s in keys if not k.endswith(BN_BUFFERS)) == official_models()[name]['params']


# ---- key mapping ----------------------------------------------------------------------

def test_map_key_renames_prefixes_and_bn_statistics():
    assert map_key('pretrained.layer1.0.bn1.running_mean') == ('backbone.layer1.0.bn1._mean', None)
    assert map_key('jpu.dilation1.0.bn.running_var') == ('neck.dilation1.0.bn._variance', None)
    assert map_key('auxlayer.conv5.4.bias') == ('aux_head.conv5.4.bias', None)
    assert map_key('head.encmodule.encoding.3.codewords') == ('head.encmodule.encoding.3.codewords', None)
    assert map_key('pretrained.fc.weight')[0] is None and 'classifier' in map_key('pretrained.fc.weight')[1]
    assert map_key('head.conv5.1.num_batches_tracked')[0] is None
    assert map_key('classifier.weight') == (None, None)
    assert map_key('layer4.2.bn3.running_var', backbone_only=True) == ('layer4.2.bn3._variance', None)
    assert map_key('fc.bias', backbone_only=True)[0] is None


def test_unwrap_strips_module_prefix_and_training_wrapper():
    inner = {'module.pretrained.bn1.weight': 1, 'module.head.conv6.1.bias': 2}
    assert unwrap_state_dict({'epoch': 3, 'state_dict': inner, 'best_pred': 0.5}) == {
        'pretrained.bn1.weight': 1, 'head.conv6.1.bias': 2}
    assert unwrap_state_dict({'jpu.conv3.0.weight': 1}) == {'jpu.conv3.0.weight': 1}
    with pytest.raises(ValueError, match='collapse'):
        unwrap_state_dict({'module.a': 1, 'a': 2})
    with pytest.raises(ValueError, match='state dict'):
        unwrap_state_dict([1, 2])


# ---- ImageNet backbones -----------------------------------------------------------------

@pytest.fixture(scope='module')
def resnet50():
    return DeepStemResNet(depth=50)


@pytest.mark.parametrize('depth', [50, 101])
def test_imagenet_backbone_converts_onto_deep_stem_resnet(depth, resnet50):
    backbone = resnet50 if depth == 50 else DeepStemResNet(depth=101)
    source = synthetic_state_dict(read_part('resnet{}.txt'.format(depth)))
    conversion = convert_for(backbone, source, backbone_only=True)
    assert_loaded_exactly(backbone, source, conversion)
    assert sorted(k for k, _ in conversion.dropped if not k.endswith('num_batches_tracked')) == [
        'fc.bias', 'fc.weight']


def test_backbone_file_loads_through_pretrained_argument(tmp_path, resnet50):
    source = synthetic_state_dict(read_part('resnet50.txt'))
    conversion = convert_for(resnet50, source, backbone_only=True)
    path = str(tmp_path / 'deep_stem_resnet50.pdparams')
    paddle.save({k: paddle.to_tensor(v) for k, v in conversion.state.items()}, path)
    loaded = DeepStemResNet(depth=50, pretrained=path)
    np.testing.assert_array_equal(loaded.layer3[5].conv2.weight.numpy(), source['layer3.5.conv2.weight'])
    np.testing.assert_array_equal(loaded.bn1._variance.numpy(), source['bn1.running_var'])


def test_checkpoints_without_num_batches_tracked_convert(resnet50):
    # PyTorch < 0.4.1 saved BN without the counter.
    source = {k: v for k, v in synthetic_state_dict(read_part('resnet50.txt')).items()
              if not k.endswith('num_batches_tracked')}
    assert_loaded_exactly(resnet50, source, convert_for(resnet50, source, backbone_only=True))


# ---- refusals ---------------------------------------------------------------------------

def test_refuses_and_lists_unknown_missing_and_mismatched_keys_together(resnet50):
    source = synthetic_state_dict(read_part('resnet50.txt'))
    source['layer5.0.conv1.weight'] = np.zeros((1,), np.float32)
    del source['layer2.1.bn2.running_var'], source['conv1.3.weight']
    source['layer4.0.downsample.0.weight'] = np.zeros((2048, 1024, 3, 3), np.float32)
    with pytest.raises(CheckpointMismatch) as err:
        convert_for(resnet50, source, backbone_only=True)
    assert err.value.unmapped == ['layer5.0.conv1.weight']
    assert err.value.missing == ['conv1.3.weight', 'layer2.1.bn2._variance']
    assert len(err.value.mismatched) == 1
    message = str(err.value)
    for text in ('layer5.0.conv1.weight', 'conv1.3.weight', 'layer2.1.bn2._variance',
                 'layer4.0.downsample.0.weight', '[2048, 1024, 3, 3]', '[2048, 1024, 1, 1]'):
        assert text in message


def test_refuses_a_whole_model_checkpoint_as_a_backbone_with_a_hint(resnet50):
    source = {'pretrained.' + k: v for k, v in synthetic_state_dict(read_part('resnet50.txt')).items()}
    with pytest.raises(CheckpointMismatch, match='without --backbone_only'):
        convert_for(resnet50, source, backbone_only=True)


# ---- whole official models ----------------------------------------------------------------

def build_official(name):
    return build_model(load_config(os.path.join(REPO, official_models()[name]['config'])), load_pretrained=False)


@pytest.mark.parametrize('name', sorted(official_models()))
def test_official_model_converts_and_every_value_lands_on_its_parameter(name):
    model = build_official(name)
    source = synthetic_state_dict(model_keys(name))
    conversion = convert_for(model, source)
    assert_loaded_exactly(model, source, conversion)
    assert sorted(k for k, _ in conversion.dropped if not k.endswith('num_batches_tracked')) == [
        'pretrained.fc.bias', 'pretrained.fc.weight']
    expected_transposed = ['head.encmodule.fc.0.weight', 'head.encmodule.selayer.weight'] \
        if name.startswith('encnet') else []
    assert sorted(conversion.transposed) == expected_transposed


@pytest.fixture(scope='module')
def encnet_r50():
    return build_official('encnet_jpu_resnet50_pascal_context')


def test_module_prefixes_and_training_checkpoint_wrapper_are_accepted(encnet_r50):
    source = synthetic_state_dict(model_keys('encnet_jpu_resnet50_pascal_context'))
    wrapped = {'epoch': 80, 'best_pred': 0.51,
               'state_dict': {'module.' + k: v for k, v in source.items()}}
    assert_loaded_exactly(encnet_r50, source, convert_for(encnet_r50, unwrap_state_dict(wrapped)))


def test_whole_model_refusals_name_every_problem(encnet_r50):
    source = synthetic_state_dict(model_keys('encnet_jpu_resnet50_pascal_context'))
    source['head.encmodule.lateral.weight'] = np.zeros((3,), np.float32)   # unknown module
    source['decoder.conv.weight'] = np.zeros((3,), np.float32)             # unknown prefix
    del source['jpu.dilation3.0.bn.running_mean']
    source['head.encmodule.selayer.weight'] = np.zeros((60, 512), np.float32)  # 60 classes, not 59
    with pytest.raises(CheckpointMismatch) as err:
        convert_for(encnet_r50, source)
    assert err.value.unmapped == ['head.encmodule.lateral.weight', 'decoder.conv.weight (no rule for this module)']
    assert err.value.missing == ['neck.dilation3.0.bn._mean']
    assert err.value.mismatched == [
        'head.encmodule.selayer.weight -> head.encmodule.selayer.weight: checkpoint [60, 512] '
        '(Linear, transposed: [512, 60]) vs model [512, 59]']


def test_imagenet_backbone_as_whole_model_is_refused_with_a_hint(encnet_r50):
    source = synthetic_state_dict(read_part('resnet50.txt'))
    with pytest.raises(CheckpointMismatch, match='use --backbone_only'):
        convert_for(encnet_r50, source)


# ---- through a .pth file and the CLI (no torch) -----------------------------------------------

def run_cli(*args):
    return subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'convert_torch_checkpoint.py')] + list(args),
                          capture_output=True, text=True, cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS='1'))


def test_cli_help_needs_no_torch():
    result = run_cli('--help')
    assert result.returncode == 0 and 'torch is not needed' in result.stdout


def test_cli_round_trip_through_a_pth_file(tmp_path):
    name = 'encnet_jpu_resnet50_pascal_context'
    source = synthetic_state_dict(model_keys(name))
    src = str(tmp_path / 'encnet_res50_pcontext.pth.tar')
    write_torch_zip(src, {'epoch': 80, 'state_dict': {'module.' + k: v for k, v in source.items()}})
    out = str(tmp_path / 'out' / 'model.pdparams')
    result = run_cli('--src', src, '--config', official_models()[name]['config'], '--out', out)
    assert result.returncode == 0, result.stderr
    assert 'pretrained.fc.weight' in result.stdout and 'head.encmodule.fc.0.weight' in result.stdout
    converted = read_paddle_file(out)
    assert len(converted) == len(source) - 2 - sum(k.endswith('num_batches_tracked') for k in source)
    np.testing.assert_array_equal(converted['head.encmodule.selayer.weight'],
                                  source['head.encmodule.selayer.weight'].T)
    np.testing.assert_array_equal(converted['backbone.layer2.3.bn3._variance'],
                                  source['pretrained.layer2.3.bn3.running_var'])
    assert os.listdir(tmp_path / 'out') == ['model.pdparams']  # no temporary file left


def test_cli_refuses_without_writing_and_never_unpickles_code(tmp_path):
    src = str(tmp_path / 'resnet50.pth')
    source = synthetic_state_dict(read_part('resnet50.txt'))
    del source['layer1.0.conv1.weight']
    write_torch_zip(src, source)
    out = str(tmp_path / 'backbone.pdparams')
    config = official_models()['encnet_jpu_resnet50_pascal_context']['config']
    result = run_cli('--src', src, '--config', config, '--out', out, '--backbone_only')
    assert result.returncode != 0 and 'layer1.0.conv1.weight' in result.stderr
    assert not os.path.exists(out)

    # A pickle that would run code when loaded without weights_only.
    evil = str(tmp_path / 'evil.pth')
    write_torch_zip(evil, {'state_dict': {}, 'payload': Exploit(str(tmp_path / 'pwned'))})
    result = run_cli('--src', evil, '--config', config, '--out', out)
    assert result.returncode != 0 and 'refused to load' in result.stderr and 'posix.mkdir' in result.stderr
    assert not os.path.exists(tmp_path / 'pwned') and not os.path.exists(out)


# ---- files torch itself wrote, converted where torch cannot be imported ----------------

TORCH_FIXTURES = os.path.join(REPO, 'tests', 'data', 'torch_fixtures')
# Runs the CLI with `import torch` failing, whether or not this environment has torch
# (a finder rather than sys.modules['torch'] = None, which libraries probing
# sys.modules for torch, as scipy does, would take for an imported torch).
WITHOUT_TORCH = """
import importlib.abc, runpy, sys
class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'torch':
            raise ModuleNotFoundError("No module named 'torch'", name=name)
sys.meta_path.insert(0, NoTorch())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
"""


@pytest.mark.slow
@pytest.mark.parametrize('fixture, backbone_only', [
    ('official_encnet_jpu_r50_pcontext.pth.tar', False),   # the official training checkpoint layout
    ('official_deep_stem_resnet50.pth', True),             # resnet50-ebb6acbb.pth's layout
])
def test_cli_converts_a_committed_torch_file_without_torch(tmp_path, fixture, backbone_only):
    # Full-size files of the official classes' state_dict(), written by torch.save
    # (tools/make_torch_fixtures.py); expected.json holds torch's digest of every value.
    with open(os.path.join(TORCH_FIXTURES, 'expected.json'), encoding='utf-8') as f:
        expected = json.load(f)[fixture]['tensors']
    config = official_models()['encnet_jpu_resnet50_pascal_context']['config']
    out = str(tmp_path / 'converted.pdparams')
    args = ['--src', os.path.join(TORCH_FIXTURES, fixture), '--config', config, '--out', out]
    result = subprocess.run([sys.executable, '-c', WITHOUT_TORCH,
                             os.path.join(REPO, 'tools', 'convert_torch_checkpoint.py')] + args
                            + (['--backbone_only'] if backbone_only else []),
                            capture_output=True, text=True, cwd=REPO, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert result.returncode == 0, result.stderr[-3000:]
    # EncNet's two Linear layers (encmodule.fc, selayer) are transposed; a backbone has none.
    transposed_line = [line for line in result.stdout.splitlines() if line.startswith('transposed')][0]
    transposed = set() if backbone_only else {'head.encmodule.fc.0.weight', 'head.encmodule.selayer.weight'}
    assert transposed_line == 'transposed {} Linear weight(s): {}'.format(
        len(transposed), ', '.join(sorted(transposed)) or '-')

    # The written file loads strictly (every key of the model, nothing else) through the safe loader.
    model = build_model(load_config(config), load_pretrained=False)
    load_weights(model.backbone if backbone_only else model, out, strict=True)
    converted = read_paddle_file(out)
    # Every value torch wrote lands once, unchanged (Paddle's Linear weights transposed back);
    # only the ImageNet classifier and the BN counters are dropped.
    source = {digest['sha256'] for key, digest in expected.items()
              if not key.split('.')[-1] == 'num_batches_tracked' and not key.startswith(('fc.', 'pretrained.fc.'))}
    landed = [array_digest(v.T if k in transposed else v)['sha256'] for k, v in converted.items()]
    assert len(landed) == len(source) and set(landed) == source


class Exploit:
    """Unpickles into a call of ``os.mkdir(path)``: proof that loading ran pickled code."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))
