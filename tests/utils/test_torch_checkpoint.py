"""Reading PyTorch files without torch: files written by torch.save, and crafted files that must be refused.

tests/data/torch_fixtures/ was written once by tools/make_torch_fixtures.py with real
torch (zip and legacy format, strided / offset / shared / expanded views, every dtype,
a big-endian copy, mmseg's and the official training wrappers); expected.json holds
torch's own digest of every tensor. The crafted files are laid out by
tests/utils/torch_zip_writer.py exactly as torch.save does.
"""
import collections
import hashlib
import json
import os
import pickle

import numpy as np
import pytest

from paddleseg_fastfcn.utils.safe_pickle import UnsafePickleError
from paddleseg_fastfcn.utils.torch_checkpoint import read_torch_checkpoint
from paddleseg_fastfcn.utils.torch_pickle import LEGACY_MAGIC, TorchFileError, load_torch_file
from tests.conftest import array_digest
from tests.utils.torch_zip_writer import Call, Global, StorageRef, dump_torch_pickle, write_torch_zip, write_zip

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'data', 'torch_fixtures')
with open(os.path.join(FIXTURES, 'expected.json'), encoding='utf-8') as f:
    EXPECTED = {k: v for k, v in json.load(f).items() if not k.startswith('_')}


# ---- files written by torch ---------------------------------------------------------------

@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_every_tensor_written_by_torch_reads_exactly(name):
    path = os.path.join(FIXTURES, name)
    with open(path, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest() == EXPECTED[name]['sha256']  # the fixture is torch's
    state = read_torch_checkpoint(path)
    assert sorted(state) == sorted(EXPECTED[name]['tensors'])
    for key, array in state.items():
        assert array_digest(array) == EXPECTED[name]['tensors'][key], key
        assert array.flags.c_contiguous and array.flags.writeable


@pytest.mark.parametrize('name', ['zip_views.pth', 'legacy_views.pth', 'big_endian_views.pth'])
def test_views_values_and_ordered_dict_metadata(name):
    state = load_torch_file(os.path.join(FIXTURES, name))
    assert isinstance(state, collections.OrderedDict)
    assert state._metadata == EXPECTED[name]['metadata']
    base = np.arange(40, dtype=np.float32).reshape(5, 8) / 8
    np.testing.assert_array_equal(state['transposed'], base.T)
    np.testing.assert_array_equal(state['strided'], base[:, ::3])
    np.testing.assert_array_equal(state['offset'], base[2:4])
    np.testing.assert_array_equal(state['shared_row'], base[4])
    np.testing.assert_array_equal(state['expanded'], [[1.5, -2.0]] * 3)
    # bfloat16 widened to float32: exactly representable values stay exact (the rest: digests above).
    assert state['bfloat16'].dtype == np.float32 and state['bfloat16'][:3].tolist() == [1.0, -2.5, 3.140625]
    np.testing.assert_array_equal(state['int64'], [-(2 ** 40), 3, 2 ** 62])
    assert state['bool'].dtype == np.bool_ and state['scalar'].shape == () and state['scalar'] == 2.25
    assert state['empty'].shape == (0, 3) and state['1.num_batches_tracked'] == 7


def test_training_wrappers_keep_their_other_entries_and_yield_the_state_dict():
    mmseg = load_torch_file(os.path.join(FIXTURES, 'mmseg_meta.pth'))
    assert mmseg['meta']['CLASSES'] == ('road', 'sidewalk') and mmseg['meta']['iter'] == 160000
    official = load_torch_file(os.path.join(FIXTURES, 'official_training.pth.tar'))
    assert official['epoch'] == 80 and official['optimizer']['param_groups'][0]['momentum'] == 0.9
    assert sorted(read_torch_checkpoint(os.path.join(FIXTURES, 'official_training.pth.tar'))) == ['bias', 'weight']


def test_model_wrapper_and_module_prefix_are_unwrapped(tmp_path):
    path = str(tmp_path / 'model.pth')
    write_torch_zip(path, {'model': {'module.conv.weight': np.ones((2, 1), np.float32)}, 'epoch': 1})
    state = read_torch_checkpoint(path)
    assert list(state) == ['conv.weight'] and state['conv.weight'].shape == (2, 1)


def test_a_non_tensor_inside_the_state_dict_is_named(tmp_path):
    path = str(tmp_path / 'odd.pth')
    write_torch_zip(path, {'state_dict': {'w': np.ones(2, np.float32), 'note': 'text'}})
    with pytest.raises(ValueError, match='odd.pth: values that are not tensors under key.*note'):
        read_torch_checkpoint(path)


# ---- crafted files ---------------------------------------------------------------------------

def refused(path, *texts, error=UnsafePickleError):
    with pytest.raises(error) as err:
        read_torch_checkpoint(path)
    message = str(err.value)
    assert path in message, message
    for text in texts:
        assert text in message, message
    return message


@pytest.mark.parametrize('module, name', [('os', 'system'), ('posix', 'system'), ('builtins', 'exec')])
def test_code_inside_a_zip_is_refused_before_it_runs(tmp_path, module, name):
    marker = tmp_path / 'marker'
    command = 'touch {}'.format(marker) if name == 'system' else 'open({!r}, "w")'.format(str(marker))
    path = str(tmp_path / 'evil.pth')
    write_torch_zip(path, {'state_dict': {'w': np.ones(2, np.float32)}, 'x': Call(Global(module, name), command)})
    refused(path, '{}.{}'.format(module, name), 'refused to load')
    assert not marker.exists()


def test_unknown_globals_are_refused(tmp_path):
    path = str(tmp_path / 'module.pth')
    write_torch_zip(path, Call(Global('torch.nn.modules.conv', 'Conv2d'), 3, 4))
    refused(path, 'torch.nn.modules.conv.Conv2d')
    path = str(tmp_path / 'numpy.pth')  # a numpy array pickled as itself, not as a tensor
    write_zip(path, pickle.dumps({'w': np.ones(2)}, protocol=2), {})
    refused(path, 'numpy.core.multiarray._reconstruct')


def test_the_stand_ins_cannot_be_modified_by_build(tmp_path):
    path = str(tmp_path / 'build.pth')
    write_zip(path, b'\x80\x02ctorch\nFloatStorage\n}X\x05\x00\x00\x00dtypeK\x01sb.', {})
    refused(path, 'set the state', error=TorchFileError)


def test_a_persistent_id_to_a_missing_storage_is_refused(tmp_path):
    pickle_bytes, storages = dump_torch_pickle({'a': np.ones(3, np.float32), 'b': np.zeros(2, np.float32)})
    del storages['1']
    path = str(tmp_path / 'missing.pth')
    write_zip(path, pickle_bytes, storages)
    refused(path, "storage '1'", 'archive/data/1', error=TorchFileError)


@pytest.mark.parametrize('key', ['../../etc/passwd', '/etc/passwd', 'a/b'])
def test_a_storage_key_pointing_outside_the_archive_is_refused(tmp_path, key):
    rebuild = Global('torch._utils', '_rebuild_tensor_v2')
    ref = StorageRef(key, np.ones(4, np.float32))
    pickle_bytes, _ = dump_torch_pickle({'w': Call(rebuild, ref, 0, (4,), (1,), False, collections.OrderedDict())})
    path = str(tmp_path / 'escape.pth')
    write_zip(path, pickle_bytes, {})
    refused(path, 'bad storage key', error=TorchFileError)


def test_an_entry_outside_the_top_folder_is_refused(tmp_path):
    path = str(tmp_path / 'slip.pth')
    write_torch_zip(path, {'w': np.ones(2, np.float32)}, extra=[('archive/../../evil.sh', b'x')])
    refused(path, 'outside its folder', error=TorchFileError)


def test_views_beyond_their_storage_and_short_storages_are_refused(tmp_path):
    rebuild = Global('torch._utils', '_rebuild_tensor_v2')
    ref = StorageRef('0', np.ones(4, np.float32))
    pickle_bytes, _ = dump_torch_pickle({'w': Call(rebuild, ref, 1, (2, 2), (2, 1), False, collections.OrderedDict())})
    path = str(tmp_path / 'overrun.pth')
    write_zip(path, pickle_bytes, {'0': np.ones(4, np.float32)})
    refused(path, 'reads element 4 of a storage of 4', error=TorchFileError)
    pickle_bytes, storages = dump_torch_pickle({'w': np.ones(6, np.float32)})
    write_zip(path, pickle_bytes, {'0': storages['0'][:5]})
    refused(path, '20 bytes', '6 elements', error=TorchFileError)


def test_code_in_a_legacy_file_is_refused(tmp_path):
    marker = tmp_path / 'marker'
    path = str(tmp_path / 'legacy_evil.pth')
    header = b''.join(pickle.dumps(v, protocol=2) for v in (LEGACY_MAGIC, 1001, {'little_endian': True}))
    body, _ = dump_torch_pickle({'x': Call(Global('os', 'system'), 'touch {}'.format(marker))})
    with open(path, 'wb') as f:
        f.write(header + body + pickle.dumps([], protocol=2))
    refused(path, 'os.system')
    assert not marker.exists()


@pytest.mark.parametrize('content', [b'not a checkpoint', pickle.dumps({'w': 1}, protocol=2)])
def test_files_that_are_not_torch_checkpoints_are_named(tmp_path, content):
    path = tmp_path / 'other.pth'
    path.write_bytes(content)
    refused(str(path), 'not a PyTorch checkpoint', error=TorchFileError)
