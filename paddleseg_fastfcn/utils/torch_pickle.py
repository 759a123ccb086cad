"""Read PyTorch ``.pth`` files into numpy arrays without torch and without running pickled code.

Two layouts exist (see pytorch's ``torch/serialization.py``):

* zip (torch >= 1.6): one top folder holding ``data.pkl`` (the object), ``data/<key>``
  (one raw storage per key) and ``byteorder`` (``little`` unless it says ``big``);
* legacy (``_use_new_zipfile_serialization=False``): consecutive pickles - magic
  number, protocol version, system info, the object, the list of storage keys -
  then each storage in that order as an int64 element count and its raw bytes.

Either way the object pickle names storages through persistent ids
``('storage', <storage class>, key, location, numel[, view])`` and rebuilds
tensors with ``torch._utils._rebuild_tensor_v2``. The unpickler here is
:class:`~paddleseg_fastfcn.utils.safe_pickle.RestrictedUnpickler` with
:data:`ALLOWED_GLOBALS`: the torch names a weights file uses, each mapped to a
numpy stand-in, so a tensor becomes an ``np.ndarray``, and any other global is
refused with the file and the global named.
"""
import collections
import io
import pickle
import re
import struct
import zipfile

import numpy as np

from paddleseg_fastfcn.utils.safe_pickle import RestrictedUnpickler, UnsafePickleError

LEGACY_MAGIC = 0x1950a86a20f9469cfc6c  # torch.serialization.MAGIC_NUMBER
LEGACY_PROTOCOL = 1001
BFLOAT16 = 'bfloat16'  # numpy has no bfloat16: read as uint16, widened to float32
# torch storage class / dtype name -> numpy dtype (or BFLOAT16).
STORAGE_DTYPES = {
    'FloatStorage': np.float32, 'DoubleStorage': np.float64, 'HalfStorage': np.float16,
    'BFloat16Storage': BFLOAT16, 'LongStorage': np.int64, 'IntStorage': np.int32,
    'ShortStorage': np.int16, 'CharStorage': np.int8, 'ByteStorage': np.uint8, 'BoolStorage': np.bool_,
}
DTYPES = {
    'float32': np.float32, 'float64': np.float64, 'float16': np.float16, 'bfloat16': BFLOAT16,
    'int64': np.int64, 'int32': np.int32, 'int16': np.int16, 'int8': np.int8, 'uint8': np.uint8,
    'bool': np.bool_,
}
STORAGE_KEY = re.compile(r'^[0-9A-Za-z_]+$')  # torch writes decimal keys; no path characters


class TorchFileError(ValueError):
    """The file is not a well-formed PyTorch checkpoint; the message names the file."""


class _Frozen:
    """Base of the stand-ins: a pickle's BUILD opcode must not change them."""
    __slots__ = ()

    def __setstate__(self, state):
        raise pickle.UnpicklingError('a pickle tried to set the state of {!r}'.format(self))

    def __setattr__(self, name, value):
        raise pickle.UnpicklingError('a pickle tried to set {!r} on {!r}'.format(name, self))


class StorageType(_Frozen):
    """Stand-in for ``torch.FloatStorage`` & co: only says the element type."""
    __slots__ = ('name', 'dtype')

    def __init__(self, name, dtype):
        object.__setattr__(self, 'name', name)
        object.__setattr__(self, 'dtype', dtype)

    def __repr__(self):
        return 'torch.' + self.name


class TorchDtype(StorageType):
    """Stand-in for a ``torch.<dtype>`` value (e.g. in a checkpoint's metadata)."""
    __slots__ = ()

    def __repr__(self):
        return 'torch.' + self.name


class Storage(_Frozen):
    """A storage read from the file: a flat array of ``numel`` elements."""
    __slots__ = ('key', 'array')

    def __init__(self, key, array):
        object.__setattr__(self, 'key', key)
        object.__setattr__(self, 'array', array)


class _Call(_Frozen):
    """A frozen callable stand-in (a plain function could have attributes set by BUILD)."""
    __slots__ = ('name', 'function')

    def __init__(self, name, function):
        object.__setattr__(self, 'name', name)
        object.__setattr__(self, 'function', function)

    def __call__(self, *args):
        return self.function(*args)

    def __repr__(self):
        return self.name


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def rebuild_tensor(storage, offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    """``torch._utils._rebuild_tensor_v2``: the strided view ``size``/``stride`` of ``storage``, copied.

    Returns:
        np.ndarray: shape ``size``, contiguous, the storage's dtype (bfloat16 -> float32).
    """
    del requires_grad, backward_hooks, metadata  # autograd state; nothing to keep
    if not isinstance(storage, Storage):
        raise pickle.UnpicklingError('_rebuild_tensor_v2 got {!r} instead of a storage'.format(type(storage)))
    if not (_is_int(offset) and isinstance(size, tuple) and isinstance(stride, tuple)
            and len(size) == len(stride) and all(_is_int(v) and v >= 0 for v in size + stride) and offset >= 0):
        raise pickle.UnpicklingError('storage {}: bad tensor geometry offset={!r} size={!r} stride={!r}'.format(
            storage.key, offset, size, stride))
    array = storage.array
    if 0 in size:
        return np.zeros(size, array.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= array.size:
        raise pickle.UnpicklingError('storage {}: a tensor of size {} stride {} at offset {} reads element {} '
                                     'of a storage of {}'.format(storage.key, size, stride, offset, last, array.size))
    view = np.lib.stride_tricks.as_strided(array[offset:], shape=size,
                                           strides=tuple(s * array.itemsize for s in stride), writeable=False)
    return np.array(view, order='C')  # a copy, C-contiguous whatever the view's strides


def rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    """``torch._utils._rebuild_parameter``: a Parameter is its data here."""
    del requires_grad, backward_hooks
    if not isinstance(data, np.ndarray):
        raise pickle.UnpicklingError('_rebuild_parameter got {!r} instead of a tensor'.format(type(data)))
    return data


def _allowed_globals():
    allowed = {
        # State dicts and BN hooks are OrderedDicts (their `_metadata` is set by BUILD).
        ('collections', 'OrderedDict'): collections.OrderedDict,
        ('torch._utils', '_rebuild_tensor_v2'): _Call('torch._utils._rebuild_tensor_v2', rebuild_tensor),
        ('torch._utils', '_rebuild_parameter'): _Call('torch._utils._rebuild_parameter', rebuild_parameter),
    }
    for name, dtype in STORAGE_DTYPES.items():
        allowed[('torch', name)] = StorageType(name, dtype)
    for name, dtype in DTYPES.items():
        allowed[('torch', name)] = TorchDtype(name, dtype)
    return allowed


#: ``{(module, name): stand-in}`` admitted in a ``.pth`` pickle; everything else is refused.
ALLOWED_GLOBALS = _allowed_globals()


def _element_size(dtype):
    return 2 if dtype == BFLOAT16 else np.dtype(dtype).itemsize


def _storage_array(raw, dtype, numel, big_endian, where):
    """``numel`` elements of ``dtype`` from ``raw`` bytes (bfloat16 widened to float32)."""
    base = np.dtype(np.uint16 if dtype == BFLOAT16 else dtype).newbyteorder('>' if big_endian else '<')
    if len(raw) < numel * base.itemsize:
        raise TorchFileError('{}: storage holds {} bytes, its header says {} elements of {} bytes'.format(
            where, len(raw), numel, base.itemsize))
    array = np.frombuffer(raw, base, count=numel)
    if dtype == BFLOAT16:  # bfloat16 is the upper half of a float32
        return (array.astype(np.uint32) << 16).view(np.float32)
    return array.astype(base.newbyteorder('='), copy=False)


def _check_pid(pid, path):
    """``(key, dtype, numel)`` of a storage persistent id, or an error naming the file."""
    if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == 'storage'):
        raise pickle.UnpicklingError('{}: unexpected persistent id {!r}'.format(path, pid))
    _, storage_type, key, _location, numel = pid[:5]
    if not isinstance(storage_type, StorageType):
        raise pickle.UnpicklingError('{}: persistent id names {!r}, not a storage type'.format(path, storage_type))
    if not (isinstance(key, str) and STORAGE_KEY.match(key)) or not (_is_int(numel) and numel >= 0):
        raise pickle.UnpicklingError('{}: bad storage key {!r} / size {!r}'.format(path, key, numel))
    if len(pid) > 5 and pid[5] is not None:
        raise pickle.UnpicklingError('{}: storage views (torch < 0.4 files) are not supported'.format(path))
    return key, storage_type.dtype, numel


def _archive_top(archive, path):
    """The top folder of a torch zip: the one holding ``data.pkl``; every entry must sit under it."""
    names = archive.namelist()
    tops = [n[:-len('data.pkl')] for n in names if n.endswith('/data.pkl') and n.count('/') == 1]
    if len(tops) != 1:
        raise TorchFileError('{}: a zip, but not a PyTorch checkpoint (expected one <folder>/data.pkl, '
                             'found {})'.format(path, len(tops)))
    for name in names:
        if not name.startswith(tops[0]) or '..' in name.split('/') or name.startswith('/'):
            raise TorchFileError('{}: archive entry {!r} lies outside its folder {!r}'.format(path, name, tops[0]))
    return tops[0]


def _load_zip(path):
    with zipfile.ZipFile(path) as archive:
        top = _archive_top(archive, path)
        names = set(archive.namelist())
        big_endian = False
        if top + 'byteorder' in names:
            order = archive.read(top + 'byteorder').decode('ascii', 'replace').strip()
            if order not in ('little', 'big'):
                raise TorchFileError('{}: unknown byteorder {!r}'.format(path, order))
            big_endian = order == 'big'
        storages = {}

        def persistent_load(pid):
            key, dtype, numel = _check_pid(pid, path)
            if key not in storages:
                entry = top + 'data/' + key
                if entry not in names:
                    raise TorchFileError('{}: the pickle refers to storage {!r}, which the archive lacks '
                                         '({})'.format(path, key, entry))
                nbytes = numel * _element_size(dtype)
                if archive.getinfo(entry).file_size != nbytes:  # also keeps a zip bomb unread
                    raise TorchFileError('{}: {} holds {} bytes, the pickle says {} elements ({} bytes)'.format(
                        path, entry, archive.getinfo(entry).file_size, numel, nbytes))
                storages[key] = (dtype, Storage(key, _storage_array(archive.read(entry), dtype, numel, big_endian,
                                                                    '{}: {}'.format(path, entry))))
            if storages[key][0] != dtype:
                raise TorchFileError('{}: storage {!r} is read as two different types'.format(path, key))
            return storages[key][1]

        data = archive.read(top + 'data.pkl')
        return RestrictedUnpickler(io.BytesIO(data), path, ALLOWED_GLOBALS, persistent_load,
                                   'a PyTorch weights file').load()


def _load_legacy(path):
    with open(path, 'rb') as f:
        def plain(what):  # the header pickles hold only numbers, strings and dicts
            return RestrictedUnpickler(f, path, {}, None, 'a PyTorch weights file ({})'.format(what)).load()

        try:
            magic = plain('magic number')
        except (pickle.UnpicklingError, EOFError, ValueError) as e:
            raise TorchFileError('{}: not a PyTorch checkpoint (neither a zip archive nor the legacy '
                                 'format: {})'.format(path, e)) from e
        if magic != LEGACY_MAGIC:
            raise TorchFileError('{}: not a PyTorch checkpoint (no zip, no legacy magic number)'.format(path))
        if plain('protocol version') != LEGACY_PROTOCOL:
            raise TorchFileError('{}: unsupported legacy protocol version'.format(path))
        sys_info = plain('system info')
        big_endian = isinstance(sys_info, dict) and sys_info.get('little_endian') is False
        pending = {}  # key -> (Storage without its array yet, dtype, numel)

        def persistent_load(pid):
            key, dtype, numel = _check_pid(pid, path)
            if key not in pending:
                pending[key] = (Storage(key, None), dtype, numel)
            return pending[key][0]

        # The storages' bytes follow the object, so tensors are built once they are read.
        obj = _LegacyUnpickler(f, path, persistent_load).load()
        keys = plain('storage keys')
        if not (isinstance(keys, list) and sorted(map(str, keys)) == sorted(pending)):
            raise TorchFileError('{}: storage key list {!r} does not match the pickle'.format(path, keys))
        for key in map(str, keys):
            storage, dtype, numel = pending[key]
            header = f.read(8)
            if len(header) != 8:
                raise TorchFileError('{}: truncated before storage {!r}'.format(path, key))
            (count,) = struct.unpack('>q' if big_endian else '<q', header)
            if count != numel:
                raise TorchFileError('{}: storage {!r} holds {} elements, the pickle says {}'.format(
                    path, key, count, numel))
            size = _element_size(dtype) * numel
            object.__setattr__(storage, 'array', _storage_array(
                f.read(size), dtype, numel, big_endian, '{}: storage {}'.format(path, key)))
    return _resolve(obj)


class _DeferredTensor(_Frozen):
    """A legacy tensor recorded until its storage's bytes are read."""
    __slots__ = ('args',)

    def __init__(self, storage, *args):
        if not isinstance(storage, Storage):
            raise pickle.UnpicklingError('_rebuild_tensor_v2 got {!r} instead of a storage'.format(type(storage)))
        object.__setattr__(self, 'args', (storage,) + args)


class _LegacyUnpickler(RestrictedUnpickler):
    """The legacy object pickle, with tensors deferred (see :class:`_DeferredTensor`)."""

    def __init__(self, file, path, persistent_load):
        allowed = dict(ALLOWED_GLOBALS)
        allowed[('torch._utils', '_rebuild_tensor_v2')] = _Call('torch._utils._rebuild_tensor_v2', _DeferredTensor)
        allowed[('torch._utils', '_rebuild_parameter')] = _Call('torch._utils._rebuild_parameter', _deferred_param)
        super().__init__(file, path, allowed, persistent_load, 'a PyTorch weights file')


def _deferred_param(data, requires_grad=False, backward_hooks=None):
    del requires_grad, backward_hooks
    if not isinstance(data, _DeferredTensor):
        raise pickle.UnpicklingError('_rebuild_parameter got {!r} instead of a tensor'.format(type(data)))
    return data


def _resolve(obj):
    """``obj`` with every deferred tensor (inside dicts, lists, tuples) built."""
    if isinstance(obj, _DeferredTensor):
        return rebuild_tensor(*obj.args)
    if isinstance(obj, dict):
        out = type(obj)((k, _resolve(v)) for k, v in obj.items())
        out.__dict__.update(getattr(obj, '__dict__', {}))
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_resolve(v) for v in obj)
    return obj


def load_torch_file(path):
    """The object pickled in the PyTorch file ``path``, tensors as ``np.ndarray``.

    Args:
        path (str): a ``.pth`` / ``.pth.tar`` written by ``torch.save`` (zip or legacy).

    Returns:
        object: what was saved (a state dict, or a dict holding one), with every
        tensor / Parameter as a contiguous numpy array (bfloat16 as float32).

    Raises:
        FileNotFoundError: no such file.
        UnsafePickleError: the pickle names a global outside :data:`ALLOWED_GLOBALS`.
        TorchFileError, pickle.UnpicklingError: a malformed file (the message names it).
    """
    with open(path, 'rb'):
        pass  # FileNotFoundError / PermissionError with the path, before any parsing
    try:
        return _load_zip(path) if zipfile.is_zipfile(path) else _load_legacy(path)
    except (UnsafePickleError, TorchFileError):
        raise  # they name the file already
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError, TypeError, IndexError, KeyError,
            AttributeError, struct.error) as e:  # a malformed pickle or archive, by the opcode that broke
        raise TorchFileError('{}: malformed PyTorch checkpoint: {}'.format(path, e)) from e
