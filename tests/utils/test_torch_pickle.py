"""torch_pickle: what a .pth declares (zip entries, legacy storages, tensor views) is checked
against what it holds and the caps before anything is read or allocated."""
import collections
import pickle
import struct
import types
import zipfile

import numpy as np
import pytest

from paddleseg_fastfcn.utils.limits import LimitExceeded
from paddleseg_fastfcn.utils.torch_pickle import LEGACY_MAGIC, load_torch_file
from tests.crafted_files import assert_refused_in_bounds
from tests.utils.torch_zip_writer import Call, Global, StorageRef, dump_torch_pickle, write_zip

READER = 'paddleseg_fastfcn.utils.torch_pickle'
REBUILD = Global('torch._utils', '_rebuild_tensor_v2')


def _view(storage_ref, size, stride):
    return Call(REBUILD, storage_ref, 0, size, stride, False, collections.OrderedDict())


def test_a_stride_0_view_expanding_one_element_to_terabytes_is_refused(tmp_path, bounded_call):
    ref = StorageRef('0', np.ones(1, np.float32))
    pickle_bytes, _ = dump_torch_pickle({'w': _view(ref, (1 << 20, 1 << 20), (0, 0))})
    path = str(tmp_path / 'expanded.pth')
    write_zip(path, pickle_bytes, {'0': np.ones(1, np.float32)})
    outcome = bounded_call(READER, 'load_torch_file', path)
    assert_refused_in_bounds(outcome, 'LimitExceeded', path, "the bytes of its tensors so far (the last of size "
                             "(1048576, 1048576) stride (0, 0) from storage '0') (4,398,046,511,104) exceeds the cap "
                             "of 4,294,967,296 bytes")


def test_copies_of_views_of_one_storage_add_up_against_the_cap(tmp_path, monkeypatch):
    ref = StorageRef('0', np.ones(1000, np.float32))
    pickle_bytes, _ = dump_torch_pickle({str(i): _view(ref, (1000,), (1,)) for i in range(10)})
    path = str(tmp_path / 'views.pth')
    write_zip(path, pickle_bytes, {'0': np.ones(1000, np.float32)})
    assert len(load_torch_file(path)) == 10
    monkeypatch.setenv('PADDLESEG_FASTFCN_MAX_WEIGHT_BYTES', '30000')  # the file is ~5 kB, its tensors 40 kB
    with pytest.raises(LimitExceeded, match=r"tensors so far \(the last of size \(1000,\) stride \(1,\).*\(32,000\)"):
        load_torch_file(path)


def _patch_entry(path, name, **fields):
    """Overwrite a central-directory record's compressed / uncompressed size of entry ``name``."""
    data = bytearray(open(path, 'rb').read())
    record = data.index(b'PK\x01\x02')
    while data[record + 46:record + 46 + len(name)] != name.encode():
        record = data.index(b'PK\x01\x02', record + 4)
    for field, offset in (('compressed', 20), ('uncompressed', 24)):
        if field in fields:
            data[record + offset:record + offset + 4] = struct.pack('<I', fields[field])
    open(path, 'wb').write(bytes(data))


def _zip(path, compression, storage):
    pickle_bytes, _ = dump_torch_pickle({'w': np.zeros(4000, np.float32)})
    with zipfile.ZipFile(path, 'w', compression) as archive:
        archive.writestr('archive/data.pkl', pickle_bytes)
        archive.writestr('archive/data/0', storage)
    return path


@pytest.mark.parametrize('compression, patch, expected', [
    (zipfile.ZIP_DEFLATED, {'uncompressed': 0xfffffff0}, 'against 1032x its'),
    (zipfile.ZIP_STORED, {'compressed': 0xfffffff0, 'uncompressed': 0xfffffff0}, 'header offset + compressed size'),
])
def test_zip_entries_declaring_more_than_the_file_can_hold_are_refused(tmp_path, bounded_call, compression, patch,
                                                                       expected):
    path = _zip(str(tmp_path / 'declared.pth'), compression, bytes(16000))
    _patch_entry(path, 'archive/data/0', **patch)
    outcome = bounded_call(READER, 'load_torch_file', path)
    assert_refused_in_bounds(outcome, 'LimitExceeded', path, "zip entry 'archive/data/0'", expected,
                             'the file holds only')


def test_a_deflate_bomb_is_refused_by_its_declared_size_unread(tmp_path, bounded_call):
    path = _zip(str(tmp_path / 'bomb.pth'), zipfile.ZIP_DEFLATED, bytes(64 << 20))  # ~64 kB on disk
    outcome = bounded_call(READER, 'load_torch_file', path, env={'PADDLESEG_FASTFCN_MAX_WEIGHT_BYTES': '16000000'})
    assert_refused_in_bounds(outcome, 'LimitExceeded', path, "its zip entries' uncompressed sizes (summed so far) "
                             "(67,", 'exceeds the cap of 16,000,000 bytes', 'PADDLESEG_FASTFCN_MAX_WEIGHT_BYTES')


def test_too_many_zip_entries_are_refused_before_they_are_parsed(tmp_path, monkeypatch):
    path = _zip(str(tmp_path / 'entries.pth'), zipfile.ZIP_STORED, bytes(16000))
    assert load_torch_file(path)['w'].shape == (4000,)
    monkeypatch.setenv('PADDLESEG_FASTFCN_MAX_ARCHIVE_MEMBERS', '1')
    with pytest.raises(LimitExceeded, match=r'its zip entries \(as its end record declares\) \(2\) exceeds the cap'):
        load_torch_file(path)


def test_a_legacy_storage_declaring_more_than_the_file_holds_is_refused_before_it_is_read(tmp_path, bounded_call):
    huge = types.SimpleNamespace(size=1 << 40, dtype=np.dtype(np.float32))  # stands for a storage's numel
    body, _ = dump_torch_pickle({'w': _view(StorageRef('0', huge, 'FloatStorage'), (4,), (1,))})
    header = b''.join(pickle.dumps(v, protocol=2) for v in (LEGACY_MAGIC, 1001, {'little_endian': True}))
    path = tmp_path / 'legacy.pth'
    path.write_bytes(header + body + pickle.dumps(['0'], protocol=2) + struct.pack('<q', 1 << 40) + bytes(16))
    outcome = bounded_call(READER, 'load_torch_file', str(path))
    assert_refused_in_bounds(outcome, 'LimitExceeded', str(path), "storage '0' (1,099,511,627,776 elements), in "
                             "bytes, declares 4,398,046,511,104 but the file holds only 16")


def test_legacy_files_still_load(tmp_path):
    body, storages = dump_torch_pickle({'w': np.arange(6, dtype=np.float32).reshape(2, 3)})
    header = b''.join(pickle.dumps(v, protocol=2) for v in (LEGACY_MAGIC, 1001, {'little_endian': True}))
    path = tmp_path / 'legacy.pth'
    path.write_bytes(header + body + pickle.dumps(['0'], protocol=2) + struct.pack('<q', 6)
                     + storages['0'].astype('<f4').tobytes())
    assert load_torch_file(str(path))['w'].tolist() == [[0, 1, 2], [3, 4, 5]]
