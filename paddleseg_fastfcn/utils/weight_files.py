"""Reading Paddle weight, optimizer-state and checkpoint-state files without running their code.

``paddle.load`` is ``pickle.load``: a ``.pdparams`` can run any code while it is
read. :func:`read_paddle_file` reads every Paddle file this project loads with
:mod:`.safe_pickle` and :data:`PADDLE_GLOBALS`, which admits exactly what
``paddle.save`` (Paddle 3.3.1, numpy 1.26 / 2.x) writes for state dicts,
optimizer + LR-scheduler state and this project's ``train_state.pkl``: dicts,
lists, tuples, strings, numbers and numpy arrays. PyTorch files are handed to
``torch_checkpoint.read_torch_checkpoint``; ``.tar[.gz]`` archives (PaddleSeg's
``resnet50_vd_ssld_v2.tar.gz``) are unpacked bounded (:mod:`.weight_archive`) and
their ``model.pdparams`` read. What a file declares is checked before it is built
(:mod:`.safe_pickle`; an array's shape x itemsize against the bytes it gives).
"""
import hashlib
import math
import os
import pickle
import zipfile

import numpy as np
from numpy.core import multiarray

from . import download, limits
from .safe_pickle import Pending, UnsafePickleError, restricted_load
from .weight_archive import extract_weights, is_archive


class WeightsError(ValueError):
    """A file cannot be read or does not fit the layer; the message names the file and keys."""


NAME_TABLE_KEY = 'StructuredToParameterName@@'  # paddle.save's parameter-name table
BIG_PARAM_KEY = 'UnpackBigParamInfor@@'  # paddle.save (protocol 2/3) splits arrays > 1 GiB
# Array dtypes a weight or state file may hold: bool, signed / unsigned int, float, complex.
ARRAY_KINDS = 'biufc'
TORCH_LEGACY_MAGIC = b'\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19'  # pickled LONG 0x1950a86a20f9469cfc6c


def _numeric_dtype(*args):
    dtype = np.dtype(*args)
    if dtype.kind not in ARRAY_KINDS:
        raise pickle.UnpicklingError('an array dtype {} refused: not numbers'.format(dtype))
    return dtype


class _ArrayState(Pending):
    """What numpy's ``_reconstruct`` returns here: the array is built by BUILD's state
    ``(version, shape, dtype, is_fortran, raw bytes)`` only once ``shape`` x itemsize
    equals the bytes given (numpy would allocate first for a shape that overflows)."""
    __slots__ = ('_array',)

    def __init__(self):
        self._array = None

    def __setstate__(self, state):
        if self._array is not None or not (isinstance(state, tuple) and len(state) in (4, 5)):
            raise pickle.UnpicklingError('malformed array state')
        shape, dtype, raw = state[-4], state[-3], state[-1]
        if not (isinstance(dtype, np.dtype) and dtype.kind in ARRAY_KINDS and dtype.fields is None):
            raise pickle.UnpicklingError('an array of dtype {!r}, not numbers'.format(dtype))
        if not (isinstance(shape, tuple) and all(isinstance(n, int) and n >= 0 for n in shape)
                and isinstance(raw, (bytes, bytearray))):
            raise pickle.UnpicklingError('malformed array state (shape {!r}, data {})'.format(shape, type(raw)))
        declared = math.prod(shape) * dtype.itemsize
        if declared != len(raw):
            raise pickle.UnpicklingError('an array of shape {} and dtype {} declares {:,} bytes, its data holds '
                                         '{:,}'.format(shape, dtype, declared, len(raw)))
        array = multiarray._reconstruct(np.ndarray, (0,), b'b')
        array.__setstate__(state)
        self._array = array

    def value(self):
        if self._array is None:
            raise pickle.UnpicklingError('an array without its data')
        return self._array


def _ndarray_reconstruct(subtype, shape, dtype):
    # numpy's own _reconstruct, limited to plain ndarrays (no subclass can be built).
    del shape, dtype  # numpy's placeholders (0,), b'b'; BUILD gives the real ones
    if subtype is not np.ndarray:
        raise pickle.UnpicklingError('array reconstruction of {!r} refused'.format(subtype))
    return _ArrayState()


def _latin1_encode(text, encoding='latin1'):
    # Protocol 2 has no bytes opcode: bytes are pickled as _codecs.encode(str, 'latin1').
    if encoding not in ('latin1', 'latin-1'):
        raise pickle.UnpicklingError('_codecs.encode with encoding {!r} refused'.format(encoding))
    return text.encode('latin1')


# Everything a legitimate file needs (found by recording find_class on files written by
# paddle.save: model state with BN, Momentum / SGD / Adam / AdamW state with LR schedulers,
# protocols 2-4, and train_state.pkl). Containers, str, int, float, bool and None need no
# global. Keys: (module, name) as they appear in the pickle.
PADDLE_GLOBALS = {
    # every numpy array: ndarray.__reduce__ -> _reconstruct(ndarray, (0,), b'b'), then
    # BUILD with (version, shape, dtype, is_fortran, raw bytes).
    ('numpy.core.multiarray', '_reconstruct'): _ndarray_reconstruct,
    # the same, in files written with numpy >= 2 (its module was renamed numpy._core)
    ('numpy._core.multiarray', '_reconstruct'): _ndarray_reconstruct,
    # the subtype argument of _reconstruct
    ('numpy', 'ndarray'): np.ndarray,
    # an array's dtype: dtype('f4', False, True), then BUILD with its byte order
    ('numpy', 'dtype'): _numeric_dtype,
    # protocol 2 (paddle.save(..., protocol=2), older published files): the raw array bytes
    ('_codecs', 'encode'): _latin1_encode,
}


def file_kind(path):
    """'torch', 'archive' or 'paddle' from the file's first bytes."""
    with open(path, 'rb') as f:
        head = f.read(16)
    if head[:2] == b'\x1f\x8b' or is_archive(path):
        return 'archive'
    if zipfile.is_zipfile(path):
        from .torch_pickle import open_zip
        with open_zip(path) as z:
            if any(n == 'data.pkl' or n.endswith('/data.pkl') for n in z.namelist()):
                return 'torch'
    if head[2:2 + len(TORCH_LEGACY_MAGIC)] == TORCH_LEGACY_MAGIC:
        return 'torch'
    return 'paddle'


def _check_arrays(obj, path):
    """Raise unless every array in ``obj`` is numeric (no object / structured arrays); no recursion."""
    stack = [(obj, None)]  # (value, (parent's entry, key)): the key path is spelled out only for a message
    while stack:
        value, parent = stack.pop()
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in ARRAY_KINDS or value.dtype.fields is not None:
                where = []
                while parent is not None:
                    parent, key = parent
                    where.append('[{!r}]'.format(key))
                raise WeightsError('{}: value{} is an array of dtype {}, not numbers'.format(
                    path, ''.join(reversed(where)), value.dtype))
        elif isinstance(value, dict):
            stack.extend((v, (parent, k)) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((v, (parent, i)) for i, v in enumerate(value))


def _unpack(obj):
    """Undo paddle.save's bookkeeping as paddle.load does (name table, split big arrays,
    Paddle 2.1's (name, ndarray) tensor tuples)."""
    if not isinstance(obj, dict):
        return obj
    obj = dict(obj)
    obj.pop(NAME_TABLE_KEY, None)
    for key, info in obj.pop(BIG_PARAM_KEY, {}).items():
        obj[key] = np.concatenate([obj.pop(part) for part in info['slices']]).reshape(info['OriginShape'])
    return {k: v[1] if (isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str)
                        and isinstance(v[1], np.ndarray)) else v for k, v in obj.items()}


def read_paddle_file(path, what='weights', cache_dir=None):
    """Read a weight, optimizer-state or checkpoint-state file without running its code.

    Args:
        path (str): a ``.pdparams`` / ``.pdopt`` / ``train_state.pkl`` written by
            ``paddle.save`` or pickle, a PaddleSeg / PaddleClas ``.pdparams``, a
            ``.tar[.gz]`` holding one, or a PyTorch checkpoint.
        what (str): ``'weights'`` (must be a flat ``{name: array}`` state dict),
            ``'optimizer state'`` or ``'train state'`` (any plain structure); also
            used in messages.
        cache_dir (str | None): where archives are unpacked (see ``download.cache_root``).

    Returns:
        dict: arrays are ``np.ndarray``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UnsafePickleError: the pickle names a global outside :data:`PADDLE_GLOBALS`
            (the message names the file and the global); nothing it names ran.
        WeightsError: the file is not readable as ``what``.
        LimitExceeded: the file (or an archive's members) declares more than it holds or
            than a cap of :mod:`.limits` allows; nothing was allocated for it.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError('{} file not found: {}'.format(what, path))
    kind = file_kind(path)
    if kind == 'torch':
        from .torch_checkpoint import read_torch_checkpoint
        return read_torch_checkpoint(path)
    if kind == 'archive':
        dest = os.path.join(download.cache_root(cache_dir), 'extracted',
                            hashlib.sha1(os.path.abspath(path).encode('utf-8')).hexdigest()[:16])
        try:
            weights = extract_weights(path, dest)
        except limits.LimitExceeded:
            raise
        except ValueError as e:
            raise WeightsError(str(e)) from e
        return read_paddle_file(weights, what, cache_dir)
    try:
        obj = _unpack(restricted_load(path, PADDLE_GLOBALS, what='a Paddle {} file'.format(what),
                                       encoding='latin1'))
    except (UnsafePickleError, limits.LimitExceeded):
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, AttributeError) as e:
        raise WeightsError('{}: not a readable Paddle {} file: {}'.format(path, what, e)) from e
    _check_arrays(obj, path)
    if not isinstance(obj, dict):
        raise WeightsError('{} holds a {}, not a {} dict'.format(path, type(obj).__name__, what))
    if what == 'weights':
        bad = sorted(str(k) for k, v in obj.items() if not isinstance(k, str) or not isinstance(v, np.ndarray))
        if bad:
            raise WeightsError('{}: not a state dict: values that are not arrays under key(s): {}'.format(
                path, ', '.join(bad)))
    return obj
