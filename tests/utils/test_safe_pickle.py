"""safe_pickle: only allow-listed globals are built; anything else is refused unrun."""
import os
import pickle

import numpy as np
import pytest

from paddleseg_fastfcn.utils.safe_pickle import UnsafePickleError, restricted_load, restricted_loads
from paddleseg_fastfcn.utils.weight_files import PADDLE_GLOBALS
from tests.crafted_files import payloads, write_crafted


@pytest.mark.parametrize('payload', sorted(payloads('x')))
@pytest.mark.parametrize('protocol', [2, 4])
def test_crafted_pickle_is_refused_before_it_runs(tmp_path, payload, protocol):
    marker = str(tmp_path / 'marker')
    path = write_crafted(str(tmp_path / 'evil.pdparams'), marker, payload, protocol=protocol)
    module, name = payload.rsplit('.', 1)
    with pytest.raises(UnsafePickleError) as info:
        restricted_load(path, PADDLE_GLOBALS, what='a weights file')
    # Protocol 2 writes Python 2 module names (__builtin__, commands).
    assert info.value.name == name and (protocol == 2 or info.value.module == module)
    assert info.value.path == path and str(info.value).startswith(path + ': refused to load')
    assert '{}.{}'.format(info.value.module, name) in str(info.value)
    assert not os.path.exists(marker)
    # The payload is real: a plain unpickler runs it.
    with open(path, 'rb') as f:
        pickle.load(f)
    assert os.path.exists(marker)


def test_allowed_globals_rebuild_arrays_of_every_numeric_dtype():
    arrays = {d: (np.arange(6).reshape(2, 3) % 2).astype(d)
              for d in ('float32', 'float16', 'float64', 'int64', 'int32', 'uint8', 'uint16', 'bool')}
    for protocol in (2, 3, 4):  # the protocols paddle.save accepts
        got = restricted_loads(pickle.dumps(arrays, protocol=protocol), 'mem', PADDLE_GLOBALS,
                               encoding='latin1')
        for d, a in arrays.items():
            assert got[d].dtype == a.dtype and np.array_equal(got[d], a)


def test_array_subclass_is_refused():
    data = pickle.dumps(np.ma.masked_array([1.0, 2.0]))
    with pytest.raises(UnsafePickleError, match='numpy.ma.core'):
        restricted_loads(data, 'mem', PADDLE_GLOBALS)


def test_unexpected_persistent_id_is_an_error():
    class WithPid(pickle.Pickler):
        def persistent_id(self, obj):
            return 'storage' if obj == 'x' else None

    import io
    buf = io.BytesIO()
    WithPid(buf).dump(['x'])
    with pytest.raises(pickle.UnpicklingError, match='persistent id'):
        restricted_loads(buf.getvalue(), 'mem', PADDLE_GLOBALS)
