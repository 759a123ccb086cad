"""pickle_bounds / safe_pickle: a pickle's declared lengths, memo slots, object count, nesting
depth and shared references are bounded before anything is allocated or walked."""
import pickle
import struct

import numpy as np
import pytest
from numpy.core import multiarray

from paddleseg_fastfcn.utils.limits import LimitExceeded
from paddleseg_fastfcn.utils.pickle_bounds import check_structure, map_leaves
from paddleseg_fastfcn.utils.safe_pickle import restricted_loads
from paddleseg_fastfcn.utils.weight_files import read_paddle_file
from tests.crafted_files import assert_refused_in_bounds

READER = 'paddleseg_fastfcn.utils.weight_files'
PROTO4 = b'\x80\x04'
TERA = 1 << 40


def _write(tmp_path, data, name='crafted.pdparams'):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


# Each a few bytes whose one opcode declares a terabyte-sized (or 4-gigabyte) value.
DECLARED_LENGTHS = {
    'BINBYTES8': PROTO4 + b'\x8e' + struct.pack('<Q', TERA) + b'x' * 8 + b'.',
    'BINUNICODE8': PROTO4 + b'\x8d' + struct.pack('<Q', TERA) + b'x' * 8 + b'.',
    'BYTEARRAY8': b'\x80\x05\x96' + struct.pack('<Q', TERA) + b'x' * 8 + b'.',
    'BINBYTES': PROTO4 + b'B' + struct.pack('<I', 0xffffffff) + b'x' * 8 + b'.',
    'LONG4': PROTO4 + b'\x8b' + struct.pack('<i', 0x7fffffff) + b'x' * 8 + b'.',
    'FRAME': PROTO4 + b'\x95' + struct.pack('<Q', TERA) + b'N.',
}


@pytest.mark.parametrize('opcode', sorted(DECLARED_LENGTHS))
def test_a_declared_length_beyond_the_file_is_refused_before_it_is_allocated(tmp_path, bounded_call, opcode):
    path = _write(tmp_path, DECLARED_LENGTHS[opcode])
    outcome = bounded_call(READER, 'read_paddle_file', path)
    assert_refused_in_bounds(outcome, 'LimitExceeded', path, opcode + ' at byte 2', 'the file holds only')


def test_a_huge_memo_slot_is_refused(tmp_path, bounded_call):
    path = _write(tmp_path, b'\x80\x02}r\xff\xff\xff\xff.')  # LONG_BINPUT 0xffffffff: a 32 GiB memo table
    outcome = bounded_call(READER, 'read_paddle_file', path)
    assert_refused_in_bounds(outcome, 'LimitExceeded', path, 'memo slot 4,294,967,295 at byte 3')


def test_shared_references_are_counted_as_copies(tmp_path, bounded_call):
    # level k: a list of ten references to level k - 1; level 9 expands to 10**9 objects.
    data = PROTO4 + b']\x94'
    for level in range(1, 10):
        data += b'(' + (b'h' + bytes([level - 1])) * 10 + b'l\x94'  # MARK, 10 x BINGET, LIST, MEMOIZE
    path = _write(tmp_path, data + b'.')
    outcome = bounded_call(READER, 'read_paddle_file', path)
    assert_refused_in_bounds(outcome, 'LimitExceeded', path, 'each shared reference counted as a copy',
                             'exceeds the cap of 2,000,000', 'PADDLESEG_FASTFCN_MAX_PICKLE_OBJECTS')


def test_deep_nesting_is_refused_before_any_walk(tmp_path, bounded_call):
    depth = 200_000  # a recursive walk (or repr) of this overflows the C stack
    path = _write(tmp_path, PROTO4 + b']' * depth + b'a' * (depth - 1) + b'.')
    outcome = bounded_call(READER, 'read_paddle_file', path)
    assert_refused_in_bounds(outcome, 'LimitExceeded', path, 'the nesting depth of its containers (101) exceeds '
                             'the cap of 100')


def test_a_container_holding_itself_is_refused():
    looped = []
    looped.append(looped)
    with pytest.raises(LimitExceeded, match='mem: refused: the pickle builds a container that holds itself'):
        restricted_loads(pickle.dumps(looped, protocol=4), 'mem', {})


class _ArrayClaim:
    """Pickles as numpy's own array reconstruction with a shape its bytes do not fill."""

    def __init__(self, shape):
        self.shape = shape

    def __reduce__(self):
        return multiarray._reconstruct, (np.ndarray, (0,), b'b'), (1, self.shape, np.dtype('float32'), False,
                                                                     b'\0' * 8)


@pytest.mark.parametrize('shape', [(TERA,), (1 << 62, 1 << 62), (3,)])
def test_an_array_declaring_more_than_its_bytes_is_refused_before_it_is_built(tmp_path, bounded_call, shape):
    path = _write(tmp_path, pickle.dumps({'w': _ArrayClaim(shape)}, protocol=4))
    outcome = bounded_call(READER, 'read_paddle_file', path)
    assert_refused_in_bounds(outcome, 'WeightsError', path, 'an array of shape {}'.format(shape),
                             'its data holds 8')


def test_an_object_array_is_refused():
    class ObjectArray(_ArrayClaim):
        def __reduce__(self):
            return multiarray._reconstruct, (np.ndarray, (0,), b'b'), (1, (1,), np.dtype(object), False, [1])

    with pytest.raises(pickle.UnpicklingError, match="dtype object refused"):
        from paddleseg_fastfcn.utils.weight_files import PADDLE_GLOBALS
        restricted_loads(pickle.dumps(ObjectArray(None), protocol=4), 'mem', PADDLE_GLOBALS)


def test_caps_can_be_raised_or_lowered_through_the_environment(tmp_path, monkeypatch):
    data = pickle.dumps([[] for _ in range(3000)], protocol=4)
    assert len(restricted_loads(data, 'mem', {})) == 3000
    monkeypatch.setenv('PADDLESEG_FASTFCN_MAX_PICKLE_OBJECTS', '1000')
    with pytest.raises(LimitExceeded, match="object-building opcodes .*PADDLESEG_FASTFCN_MAX_PICKLE_OBJECTS=<n>"):
        restricted_loads(data, 'mem', {})
    monkeypatch.setenv('PADDLESEG_FASTFCN_MAX_PICKLE_DEPTH', '1')
    with pytest.raises(LimitExceeded, match=r'nesting depth of its containers \(2\) exceeds the cap of 1 '):
        check_structure([[1]], 'mem')
    path = _write(tmp_path, pickle.dumps({'w': np.zeros(1000, np.float32)}, protocol=4))
    assert read_paddle_file(path)['w'].shape == (1000,)
    monkeypatch.setenv('PADDLESEG_FASTFCN_MAX_WEIGHT_BYTES', '1000')
    with pytest.raises(LimitExceeded, match=r'its size in bytes \(4,\d+\) exceeds the cap of 1,000 bytes'):
        read_paddle_file(path)


def test_expanded_size_counts_every_reference_exactly(monkeypatch):
    leaf = [1, 2]  # 3 objects: the list and its two items
    dag = [leaf, leaf, (leaf,)]  # 1 + 3 + 3 + (1 + 3) = 11
    monkeypatch.setenv('PADDLESEG_FASTFCN_MAX_PICKLE_OBJECTS', '11')
    check_structure(dag, 'mem')
    monkeypatch.setenv('PADDLESEG_FASTFCN_MAX_PICKLE_OBJECTS', '10')
    with pytest.raises(LimitExceeded):
        check_structure(dag, 'mem')


def test_map_leaves_rebuilds_only_what_changed_and_maps_a_shared_value_once():
    shared = ['a']
    tree = {'x': [shared, shared], 'y': (1, 2), 'z': {'k': 'a'}}
    calls = []
    out = map_leaves(tree, lambda v: calls.append(v) or (v.upper() if isinstance(v, str) else v))
    assert out == {'x': [['A'], ['A']], 'y': (1, 2), 'z': {'k': 'A'}}
    assert out['x'][0] is out['x'][1] and out['y'] is tree['y']
    assert sorted(map(str, calls)) == ['1', '2', 'a']  # each object once ('a' is one interned string)
    assert map_leaves(tree, lambda v: v) is tree
