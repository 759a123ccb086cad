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

Nothing is allocated for what the file merely declares: the zip's entries are
checked against the file and the caps of :mod:`.limits` before any is read
(:func:`open_zip`), a legacy storage's size against the bytes that remain, every
pickle by :mod:`.safe_pickle`, every tensor view against its storage.
"""
import os
import pickle
import struct
import zipfile

from paddleseg_fastfcn.utils import limits
from paddleseg_fastfcn.utils.safe_pickle import UnsafePickleError, mapped_file, restricted_load_at, restricted_loads
from paddleseg_fastfcn.utils.pickle_bounds import map_leaves
from paddleseg_fastfcn.utils.torch_globals import (
    ALLOWED_GLOBALS, Call, Frozen, Storage, TensorBytes, TorchFileError, check_pid, element_size, rebuild_tensor,
    storage_array)

LEGACY_MAGIC = 0x1950a86a20f9469cfc6c  # torch.serialization.MAGIC_NUMBER
LEGACY_PROTOCOL = 1001
DEFLATE_MAX_RATIO = 1032  # deflate cannot expand its input more than this
# A central-directory record is 46 bytes plus its name, extra field and comment: 1 KiB
# is far more than any torch entry uses, and bounds what zipfile parses per declared entry.
CD_RECORD_MAX = 46 + 1024


def open_zip(path):
    """``zipfile.ZipFile(path)`` once its central directory and every entry fit the file and the caps.

    Checked before any entry is read: the entry count (``ARCHIVE_MEMBERS``), the
    central directory's size against the entries it declares, each entry's data
    within the file, the uncompressed sizes' sum (``WEIGHT_BYTES``) and each
    compressed entry's ratio (deflate's maximum).

    Raises:
        LimitExceeded: naming the file, what it declares and the cap or what it holds.
        zipfile.BadZipFile: not a zip.
    """
    size = os.path.getsize(path)
    limits.check('WEIGHT_BYTES', size, path, 'its size in bytes')
    with open(path, 'rb') as f:
        end = zipfile._EndRecData(f)  # what ZipFile reads first; private, but stable since Python 2
    if not end:
        raise zipfile.BadZipFile('{}: not a zip file'.format(path))
    entries, cd_size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]
    limits.check('ARCHIVE_MEMBERS', entries, path, 'its zip entries (as its end record declares)')
    limits.check_holds(cd_size, entries * CD_RECORD_MAX, path, 'its zip central directory, in bytes, '
                       '(for {} entries, at most {} bytes each)'.format(entries, CD_RECORD_MAX))
    archive = zipfile.ZipFile(path)
    try:
        infos = archive.infolist()
        limits.check('ARCHIVE_MEMBERS', len(infos), path, 'its zip entries')
        total = 0
        for info in infos:
            limits.check_holds(info.header_offset + 30 + info.compress_size, size, path,
                               'zip entry {!r} (header offset + compressed size, in bytes)'.format(info.filename))
            if info.compress_type != zipfile.ZIP_STORED:
                limits.check_holds(info.file_size, DEFLATE_MAX_RATIO * max(info.compress_size, 1), path,
                                   'zip entry {!r} (uncompressed bytes, against {}x its {} compressed bytes)'.format(
                                       info.filename, DEFLATE_MAX_RATIO, info.compress_size))
            total += info.file_size
            limits.check('WEIGHT_BYTES', total, path, "its zip entries' uncompressed sizes (summed so far)")
    except BaseException:
        archive.close()
        raise
    return archive


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
    built = TensorBytes(path)
    with open_zip(path) as archive:
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
                                                                    '{}: {}'.format(path, entry)), built))
            if storages[key][0] != dtype:
                raise TorchFileError('{}: storage {!r} is read as two different types'.format(path, key))
            return storages[key][1]

        return restricted_loads(archive.read(top + 'data.pkl'), path, ALLOWED_GLOBALS, persistent_load,
                                'a PyTorch weights file')


def _load_legacy(path):
    built = TensorBytes(path)
    with mapped_file(path) as data:
        pos = 0

        def read_pickle(allowed, what, persistent_load=None):
            nonlocal pos
            obj, pos = restricted_load_at(data, pos, path, allowed, persistent_load,
                                          'a PyTorch weights file ({})'.format(what))
            return obj

        try:
            magic = read_pickle({}, 'magic number')  # the header pickles hold only numbers, strings and dicts
        except limits.LimitExceeded:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError) as e:
            raise TorchFileError('{}: not a PyTorch checkpoint (neither a zip archive nor the legacy '
                                 'format: {})'.format(path, e)) from e
        if magic != LEGACY_MAGIC:
            raise TorchFileError('{}: not a PyTorch checkpoint (no zip, no legacy magic number)'.format(path))
        if read_pickle({}, 'protocol version') != LEGACY_PROTOCOL:
            raise TorchFileError('{}: unsupported legacy protocol version'.format(path))
        sys_info = read_pickle({}, 'system info')
        big_endian = isinstance(sys_info, dict) and sys_info.get('little_endian') is False
        pending = {}  # key -> (Storage without its array yet, dtype, numel)

        def persistent_load(pid):
            key, dtype, numel = check_pid(pid, path)
            if key not in pending:
                pending[key] = (Storage(key, None, built), dtype, numel)
            return pending[key][0]

        # The storages' bytes follow the object, so tensors are built once they are read.
        obj = read_pickle(_LEGACY_GLOBALS, 'object', persistent_load)
        keys = read_pickle({}, 'storage keys')
        if not (isinstance(keys, list) and sorted(map(str, keys)) == sorted(pending)):
            raise TorchFileError('{}: storage key list {!r} does not match the pickle'.format(path, keys))
        for key in map(str, keys):
            storage, dtype, numel = pending[key]
            if pos + 8 > len(data):
                raise TorchFileError('{}: truncated before storage {!r}'.format(path, key))
            (count,) = struct.unpack_from('>q' if big_endian else '<q', data, pos)
            if count != numel:
                raise TorchFileError('{}: storage {!r} holds {} elements, the pickle says {}'.format(
                    path, key, count, numel))
            size = element_size(dtype) * numel
            limits.check_holds(size, len(data) - pos - 8, path, 'storage {!r} ({:,} elements), in bytes,'.format(
                key, numel))
            object.__setattr__(storage, 'array', storage_array(
                data[pos + 8:pos + 8 + size], dtype, numel, big_endian, '{}: storage {}'.format(path, key)))
            pos += 8 + size
    return map_leaves(obj, lambda v: rebuild_tensor(*v.args) if isinstance(v, _DeferredTensor) else v)


class _DeferredTensor(Frozen):
    """A legacy tensor recorded until its storage's bytes are read."""
    __slots__ = ('args',)

    def __init__(self, storage, *args):
        if not isinstance(storage, Storage):
            raise pickle.UnpicklingError('_rebuild_tensor_v2 got {!r} instead of a storage'.format(type(storage)))
        object.__setattr__(self, 'args', (storage,) + args)


def _deferred_param(data, requires_grad=False, backward_hooks=None):
    del requires_grad, backward_hooks
    if not isinstance(data, _DeferredTensor):
        raise pickle.UnpicklingError('_rebuild_parameter got {!r} instead of a tensor'.format(type(data)))
    return data


#: The legacy object pickle's globals: tensors deferred (see :class:`_DeferredTensor`).
_LEGACY_GLOBALS = dict(ALLOWED_GLOBALS)
_LEGACY_GLOBALS[('torch._utils', '_rebuild_tensor_v2')] = Call('torch._utils._rebuild_tensor_v2', _DeferredTensor)
_LEGACY_GLOBALS[('torch._utils', '_rebuild_parameter')] = Call('torch._utils._rebuild_parameter', _deferred_param)


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
        LimitExceeded: the file declares more than it holds or than a cap allows.
        TorchFileError, pickle.UnpicklingError: a malformed file (the message names it).
    """
    with open(path, 'rb'):
        pass  # FileNotFoundError / PermissionError with the path, before any parsing
    try:
        return _load_zip(path) if zipfile.is_zipfile(path) else _load_legacy(path)
    except (UnsafePickleError, TorchFileError, limits.LimitExceeded):
        raise  # they name the file already
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError, TypeError, IndexError, KeyError,
            AttributeError, struct.error) as e:  # a malformed pickle or archive, by the opcode that broke
        raise TorchFileError('{}: malformed PyTorch checkpoint: {}'.format(path, e)) from e
