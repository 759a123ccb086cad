"""utils.load_guard: every loader a config can reach reads through the safe reader."""
import importlib
import io
import json
import os
import subprocess
import sys
import time
from collections import Counter

import numpy as np
import paddle
import pytest
from paddleseg.cvlibs import Config
from paddleseg.utils import utils as seg_utils

from paddleseg_fastfcn.core.builder import ConfigError, load_config
from paddleseg_fastfcn.utils import UnsafePickleError, load_guard
from tests.crafted_files import write_crafted

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Components whose loader no construction can reach, and why (asserted as written).
UNREACHABLE = {'CAE_{}'.format(size): "NameError: name 'VisionTransformer' is not defined"
               for size in ('small_patch16_224', 'base_patch16_224', 'base_patch16_384', 'base_patch32_384',
                            'large_patch16_224', 'large_patch16_384', 'large_patch32_384', 'huge_patch16_224',
                            'huge_patch32_384')}  # PaddleSeg's cae.py factories name a class it never imports
PROBE_SECONDS = 150  # the probe takes ~45 s on 2 busy cores


@pytest.fixture
def crafted(tmp_path):
    """(crafted .pdparams path, marker path its unpickling would create)."""
    marker = str(tmp_path / 'marker')
    return write_crafted(str(tmp_path / 'crafted.pdparams'), marker), marker


def _assert_refused(info, path, marker):
    assert info.value.path == path and (info.value.module, info.value.name) == ('posix', 'system')
    assert '{}: refused to load'.format(path) in str(info.value) and 'posix.system' in str(info.value)
    assert not os.path.exists(marker)


def test_every_registered_path_argument_refuses_a_crafted_file(tmp_path):
    start = time.time()
    done = subprocess.run([sys.executable, '-m', 'tests.utils.component_probe', str(tmp_path)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=PROBE_SECONDS)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    rows = result['components']
    covered = [r for r in rows if r['arguments']]
    table = '\n'.join('{registry:10} {name:50} {arguments} {outcome} ({how})'.format(**r) for r in covered)
    print('{} components given a crafted file in {:.0f} s:\n{}'.format(len(covered), time.time() - start, table))
    print('per registry:', dict(Counter(r['registry'] for r in covered)))
    print('no path-like argument:', ', '.join('{registry}.{name}'.format(**r) for r in rows if not r['arguments']))
    assert not result['marker']
    unreached = {r['name']: r['outcome'] for r in rows if r['loader'] and r['outcome'] != 'refused'}
    assert unreached == UNREACHABLE, table
    assert not [r for r in rows if r['outcome'].startswith('refused other')], table
    # Every registry is walked, and this project's components are among those refused.
    assert {r['registry'] for r in rows} >= {'BACKBONES', 'MODELS', 'DATASETS', 'TRANSFORMS', 'LOSSES', 'OPTIMIZERS'}
    refused = {r['name'] for r in rows if r['outcome'] == 'refused'}
    assert {'DeepStemResNet50', 'ResNet50V1c', 'FastFCNSegmentor', 'ExportableFastSCNN', 'ResNet50_vd',
            'FastSCNN', 'HRNet_W18', 'VisionTransformer'} <= refused
    assert len(refused) >= 160


def test_no_module_holds_a_replaced_loader():
    import paddleseg.core  # noqa: F401  (imported after the guard: takes the replacements)
    names = {id(old): '{}.{}'.format(old.__module__, old.__name__) for old, _ in load_guard.REPLACED}
    holders = ['{}.{} is {}'.format(m, k, names[id(v)]) for m, mod in list(sys.modules.items())
               for k, v in list(getattr(mod, '__dict__', {}).items()) if id(v) in names]
    assert len(load_guard.REPLACED) == 8 and holders == []
    assert paddle.load is paddle.framework.load is paddle.framework.io.load
    assert paddle.load.__wrapped__ is load_guard.REPLACED[0][0]


def test_install_is_idempotent():
    before = (paddle.load, seg_utils.load_pretrained_model, paddle.static.io.pickle)
    load_guard.install()
    assert (paddle.load, seg_utils.load_pretrained_model, paddle.static.io.pickle) == before


@pytest.mark.parametrize('entry', [
    lambda p: paddle.load(p),
    lambda p: paddle.load(p, return_numpy=True),
    lambda p: paddle.framework.io.load(p),
    lambda p: seg_utils.load_pretrained_model(paddle.nn.Linear(3, 2), p),
    lambda p: seg_utils.load_entire_model(paddle.nn.Linear(3, 2), p),
    lambda p: paddle.static.load_program_state(p),
], ids=['paddle.load', 'return_numpy', 'framework.io.load', 'load_pretrained_model',
        'load_entire_model', 'static.load_program_state'])
def test_each_entry_refuses_a_crafted_file(crafted, entry):
    path, marker = crafted
    with pytest.raises(UnsafePickleError) as info:
        entry(path)
    _assert_refused(info, path, marker)


def test_paddle_load_refuses_a_crafted_buffer(crafted):
    path, marker = crafted
    with open(path, 'rb') as f, pytest.raises(UnsafePickleError, match='<memory buffer>: refused .*posix.system'):
        paddle.load(io.BytesIO(f.read()))  # Paddle's reader would report only "can not parse"
    assert not os.path.exists(marker)


def test_resume_refuses_a_crafted_checkpoint(tmp_path, crafted):
    _, marker = crafted
    checkpoint = tmp_path / 'iter_3'
    checkpoint.mkdir()
    path = write_crafted(str(checkpoint / 'model.pdparams'), marker)
    with pytest.raises(UnsafePickleError) as info:
        seg_utils.resume(paddle.nn.Linear(3, 2), None, str(checkpoint))
    _assert_refused(info, path, marker)


def test_hapi_model_load_refuses_a_crafted_file(tmp_path, crafted):
    _, marker = crafted
    path = write_crafted(str(tmp_path / 'hapi.pdparams'), marker)
    with pytest.raises(UnsafePickleError) as info:
        paddle.Model(paddle.nn.Linear(3, 2)).load(str(tmp_path / 'hapi'))
    _assert_refused(info, path, marker)


@pytest.mark.parametrize('module', load_guard.PICKLE_READER_MODULES)
def test_paddle_pickle_readers_refuse_a_crafted_file(crafted, module):
    path, marker = crafted
    pickle = importlib.import_module(module).pickle
    for read in (lambda f: pickle.load(f, encoding='latin1'), lambda f: pickle.loads(f.read()),
                 lambda f: pickle.Unpickler(f, encoding='latin1').load()):
        with open(path, 'rb') as f, pytest.raises(UnsafePickleError, match='posix.system'):
            read(f)
    assert not os.path.exists(marker)


def test_paddle_pickle_readers_still_read_legitimate_files(tmp_path):
    layer = paddle.nn.Linear(3, 2)
    model = paddle.Model(layer)
    model.prepare(paddle.optimizer.SGD(parameters=layer.parameters()))
    model.save(str(tmp_path / 'hapi'))  # .pdparams and .pdopt, read back by hapi's own pickle reader
    target = paddle.Model(paddle.nn.Linear(3, 2))
    target.prepare(paddle.optimizer.SGD(parameters=target.parameters()))
    target.load(str(tmp_path / 'hapi'))
    np.testing.assert_array_equal(target.network.weight.numpy(), layer.weight.numpy())


@pytest.mark.parametrize('entry', ['load', 'list', 'help'])
def test_paddle_hub_is_refused_without_running_hubconf(tmp_path, entry):
    marker = tmp_path / 'marker'
    (tmp_path / 'hubconf.py').write_text('open({!r}, "w").close()\n'.format(str(marker)))
    with pytest.raises(load_guard.RefusedLoaderError, match='paddle.hub.{} is not available'.format(entry)):
        getattr(paddle.hub, entry)(str(tmp_path), *(['model'] if entry != 'list' else []), source='local')
    assert not marker.exists()


@pytest.mark.parametrize('qualname', sorted(load_guard.EVALUATED_ARGUMENTS))
def test_evaluated_arguments_must_be_names(tmp_path, qualname):
    module, name = qualname.rsplit('.', 1)
    cls = getattr(importlib.import_module(module), name)
    marker = tmp_path / 'marker'
    code = "__import__('os').system('touch {}')".format(marker)
    for argument in load_guard.EVALUATED_ARGUMENTS[qualname]:
        with pytest.raises(ValueError, match=r'{}\.{}: .* is not a layer name'.format(name, argument)):
            cls(**{argument: code})
    assert not marker.exists()


def test_download_pretrained_model_fetches_and_paddle_load_refuses(tmp_path, crafted, monkeypatch, loopback_files):
    path, marker = crafted
    monkeypatch.setenv('PADDLESEG_FASTFCN_HOME', str(tmp_path / 'cache'))
    url = loopback_files.put('vit.pdparams', open(path, 'rb').read())
    local = seg_utils.download_pretrained_model(url)  # what PaddleSeg's ViT / CAE backbones call
    assert local.startswith(str(tmp_path / 'cache')) and loopback_files.hits == ['/vit.pdparams']
    with pytest.raises(UnsafePickleError) as info:
        paddle.load(local)
    _assert_refused(info, local, marker)


@pytest.fixture
def saved_state(tmp_path):
    layer = paddle.nn.Linear(3, 2)
    path = str(tmp_path / 'linear.pdparams')
    paddle.save(layer.state_dict(), path)
    return layer, path


def test_a_paddle_save_state_dict_loads_as_paddle_load_would(saved_state):
    layer, path = saved_state
    tensors, arrays = paddle.load(path), paddle.load(path, return_numpy=True)
    assert sorted(tensors) == sorted(arrays) == ['bias', 'weight']
    assert all(isinstance(v, paddle.Tensor) for v in tensors.values())
    assert all(isinstance(v, np.ndarray) for v in arrays.values())
    np.testing.assert_array_equal(tensors['weight'].numpy(), layer.weight.numpy())
    np.testing.assert_array_equal(arrays['weight'], layer.weight.numpy())
    buffer = io.BytesIO()
    paddle.save(layer.state_dict(), buffer)
    buffer.seek(0)
    np.testing.assert_array_equal(paddle.load(buffer)['weight'].numpy(), layer.weight.numpy())


def test_load_pretrained_model_keeps_paddleseg_meaning(saved_state, tmp_path):
    layer, path = saved_state
    target = paddle.nn.Linear(3, 2)
    seg_utils.load_pretrained_model(target, path)
    np.testing.assert_array_equal(target.weight.numpy(), layer.weight.numpy())
    before = target.weight.numpy().copy()
    seg_utils.load_pretrained_model(target, 'scratch')  # random init on purpose: nothing read
    seg_utils.load_entire_model(target, None)
    np.testing.assert_array_equal(target.weight.numpy(), before)
    with pytest.raises(FileNotFoundError, match='absent.pdparams'):
        seg_utils.load_pretrained_model(target, str(tmp_path / 'absent.pdparams'))


def test_resume_reads_a_legitimate_checkpoint(saved_state, tmp_path):
    layer, _ = saved_state
    checkpoint = tmp_path / 'iter_7'
    checkpoint.mkdir()
    optimizer = paddle.optimizer.Momentum(parameters=layer.parameters())
    layer(paddle.ones([1, 3])).sum().backward()
    optimizer.step()
    paddle.save(layer.state_dict(), str(checkpoint / 'model.pdparams'))
    paddle.save(optimizer.state_dict(), str(checkpoint / 'model.pdopt'))
    target = paddle.nn.Linear(3, 2)
    assert seg_utils.resume(target, paddle.optimizer.Momentum(parameters=target.parameters()), str(checkpoint)) == 7
    np.testing.assert_array_equal(target.weight.numpy(), layer.weight.numpy())


TAG = "!!python/object/apply:os.system ['touch {}']"


@pytest.mark.parametrize('where', ['config', '_base_'])
def test_a_python_tag_in_a_config_is_refused_naming_the_file(tmp_path, where):
    marker = tmp_path / 'marker'
    base, child = tmp_path / 'base.yml', tmp_path / 'child.yml'
    base.write_text('batch_size: 2\n' + ('iters: {}\n'.format(TAG.format(marker)) if where == '_base_' else ''))
    child.write_text('_base_: base.yml\n' + ('iters: {}\n'.format(TAG.format(marker)) if where == 'config' else ''))
    bad = str(base if where == '_base_' else child)
    with pytest.raises(ValueError, match='{}: not a plain YAML config'.format(bad)):
        Config(str(child))  # PaddleSeg's own Config
    with pytest.raises(ConfigError, match='YAML syntax error in {}'.format(bad)):
        load_config(str(child))  # the scripts' reader
    assert not marker.exists()
