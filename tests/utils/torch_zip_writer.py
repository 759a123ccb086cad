"""Write files in torch.save's zip layout without torch (test helper).

torch.save pickles with the standard ``pickle`` module at protocol 2, a tensor
as ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
OrderedDict())`` and each storage as the persistent id
``('storage', torch.<Type>Storage, key, 'cpu', numel)`` whose bytes go to
``<top>/data/<key>``. The same is done here with markers that pickle as those
globals, so tests can write full-size checkpoints (and crafted ones) in any
environment; tests/data/torch_fixtures holds files written by torch itself.
"""
import collections
import io
import pickle
import zipfile

import numpy as np

STORAGE_NAMES = {np.dtype(np.float32): 'FloatStorage', np.dtype(np.float64): 'DoubleStorage',
                 np.dtype(np.float16): 'HalfStorage', np.dtype(np.int64): 'LongStorage',
                 np.dtype(np.int32): 'IntStorage', np.dtype(np.uint8): 'ByteStorage',
                 np.dtype(np.bool_): 'BoolStorage'}


class Global:
    """Pickles as the global ``module.name`` (a GLOBAL opcode), whatever is installed."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, *args):  # pickle wants a callable in a reduce tuple; it is never called
        raise TypeError('{}.{} is a marker'.format(self.module, self.name))


class Call:
    """Pickles as ``func(*args)`` (GLOBAL + args + REDUCE); ``func`` is a :class:`Global`."""

    def __init__(self, func, *args):
        self.func, self.args = func, args


class StorageRef:
    """A storage persistent id; ``type_name`` defaults to the array's storage class."""

    def __init__(self, key, array, type_name=None):
        self.key, self.array = key, array
        self.type_name = type_name or STORAGE_NAMES[array.dtype]


class _Pickler(pickle._Pickler):  # the pure-Python pickler lets a type's save be replaced
    dispatch = dict(pickle._Pickler.dispatch)

    def __init__(self, file, storages):
        super().__init__(file, protocol=2)
        self.storages = storages

    def save_marker_global(self, obj):
        self.write(pickle.GLOBAL + '{}\n{}\n'.format(obj.module, obj.name).encode('ascii'))

    dispatch[Global] = save_marker_global

    def persistent_id(self, obj):
        if isinstance(obj, StorageRef):
            return ('storage', Global('torch', obj.type_name), obj.key, 'cpu', int(obj.array.size))
        return None

    def reducer_override(self, obj):
        if isinstance(obj, Call):
            return obj.func, obj.args
        if isinstance(obj, np.ndarray):
            key = str(len(self.storages))
            array = np.array(obj, order="C")  # ascontiguousarray would make a 0-d array 1-d
            self.storages[key] = array
            stride = tuple(s // array.itemsize for s in array.strides) if array.size else (1,) * array.ndim
            return (Global('torch._utils', '_rebuild_tensor_v2'),
                    (StorageRef(key, array.reshape(-1)), 0, array.shape, stride, False, collections.OrderedDict()))
        return NotImplemented


def dump_torch_pickle(obj):
    """``(data.pkl bytes, {key: flat array})`` for ``obj`` (numpy arrays become tensors)."""
    storages = {}
    buffer = io.BytesIO()
    _Pickler(buffer, storages).dump(obj)
    return buffer.getvalue(), storages


def write_zip(path, pickle_bytes, storages, top='archive', byteorder='little', extra=()):
    """Lay out a torch zip checkpoint: ``top/data.pkl``, ``top/data/<key>``, ``top/byteorder``.

    Args:
        storages (dict[str, np.ndarray | bytes]): raw storages by key.
        extra (iterable[tuple[str, bytes]]): further entries, by full name.
    """
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as archive:
        archive.writestr(top + '/data.pkl', pickle_bytes)
        archive.writestr(top + '/byteorder', byteorder)
        for key, array in storages.items():
            if isinstance(array, np.ndarray):
                array = array.astype(array.dtype.newbyteorder('>' if byteorder == 'big' else '<')).tobytes()
            archive.writestr('{}/data/{}'.format(top, key), array)
        archive.writestr(top + '/version', '3\n')
        for name, data in extra:
            archive.writestr(name, data)


def write_torch_zip(path, obj, **kwargs):
    """torch.save(``obj``, ``path``) without torch, numpy arrays standing for tensors."""
    pickle_bytes, storages = dump_torch_pickle(obj)
    write_zip(path, pickle_bytes, storages, **kwargs)
