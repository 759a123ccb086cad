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
:data:`~paddleseg_fastfcn.utils.torch_globals.ALLOWED_GLOBALS`: the torch names a
weights file uses, each mapped to a numpy stand-in, so a tensor becomes an
``np.ndarray``, and any other global is refused with the file and the global named.
"""
import io
import pickle
import struct
import zipfile

from paddleseg_fastfcn.utils.safe_pickle import RestrictedUnpickler, UnsafePickleError
from paddleseg_fastfcn.utils.torch_globals import (
    ALLOWED_GLOBALS, Call, Frozen, Storage, TorchFileError, check_pid, element_size, rebuild_tensor, storage_array)

LEGACY_MAGIC = 0x1950a86a20f9469cfc6c  # torch.serialization.MAGIC_NUMBER
LEGACY_PROTOCOL = 1001


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
            key, dtype, numel = check_pid(pid, path)
            if key not in storages:
                entry = top + 'data/' + key
                if entry not in names:
                    raise TorchFileError('{}: the pickle refers to storage {!r}, which the archive lacks '
                                         '({})'.format(path, key, entry))
                nbytes = numel * element_size(dtype)
                if archive.getinfo(entry).file_size != nbytes:  # also keeps a zip bomb unread
                    raise TorchFileError('{}: {} holds {} bytes, the pickle says {} elements ({} bytes)'.format(
                        path, entry, archive.getinfo(entry).file_size, numel, nbytes))
                storages[key] = (dtype, Storage(key, storage_array(archive.read(entry), dtype, numel, big_endian,
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
            key, dtype, numel = check_pid(pid, path)
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
            size = element_size(dtype) * numel
            object.__setattr__(storage, 'array', storage_array(
                f.read(size), dtype, numel, big_endian, '{}: storage {}'.format(path, key)))
    return _resolve(obj)


class _DeferredTensor(Frozen):
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
        allowed[('torch._utils', '_rebuild_tensor_v2')] = Call('torch._utils._rebuild_tensor_v2', _DeferredTensor)
        allowed[('torch._utils', '_rebuild_parameter')] = Call('torch._utils._rebuild_parameter', _deferred_param)
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
        UnsafePickleError: the pickle names a global outside ``ALLOWED_GLOBALS``.
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
