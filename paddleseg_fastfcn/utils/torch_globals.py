"""What a PyTorch weights pickle may build: numpy stand-ins for the torch globals it names.

A ``.pth`` pickle names torch classes and functions as globals; the reader of
:mod:`paddleseg_fastfcn.utils.torch_pickle` maps exactly those in
:data:`ALLOWED_GLOBALS` to the stand-ins here (a tensor becomes an
``np.ndarray``) and refuses any other. The stand-ins are frozen, so a pickle's
BUILD opcode cannot change them. Facts from pytorch's ``torch/_utils.py``
(``_rebuild_tensor_v2``, ``_rebuild_parameter``) and
``torch/_weights_only_unpickler.py`` (the globals torch itself admits).
"""
import collections
import math
import pickle
import re

import numpy as np

from . import limits

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


class Frozen:
    """Base of the stand-ins: a pickle's BUILD opcode must not change them."""
    __slots__ = ()

    def __setstate__(self, state):
        raise pickle.UnpicklingError('a pickle tried to set the state of {!r}'.format(self))

    def __setattr__(self, name, value):
        raise pickle.UnpicklingError('a pickle tried to set {!r} on {!r}'.format(name, self))


class StorageType(Frozen):
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


class TensorBytes:
    """The bytes of the tensors one file has built so far, against the ``WEIGHT_BYTES`` cap:
    every tensor is a copy of its view, so many views of one storage add up."""

    def __init__(self, path):
        self.path, self.total = path, 0

    def take(self, nbytes, what):
        self.total += nbytes
        if self.total > limits.cap('WEIGHT_BYTES'):
            limits.check('WEIGHT_BYTES', self.total, self.path, 'the bytes of its tensors so far (the last {})'.format(
                what))


class Storage(Frozen):
    """A storage read from the file: a flat array of ``numel`` elements.

    Attributes:
        key (str): its key in the file.
        array (np.ndarray | None): shape ``(numel,)``; None until read (legacy files).
        built (TensorBytes): shared by the storages of one file.
    """
    __slots__ = ('key', 'array', 'built')

    def __init__(self, key, array, built):
        object.__setattr__(self, 'key', key)
        object.__setattr__(self, 'array', array)
        object.__setattr__(self, 'built', built)


class Call(Frozen):
    """A frozen callable stand-in (a plain function could have attributes set by BUILD)."""
    __slots__ = ('name', 'function')

    def __init__(self, name, function):
        object.__setattr__(self, 'name', name)
        object.__setattr__(self, 'function', function)

    def __call__(self, *args):
        return self.function(*args)

    def __repr__(self):
        return self.name


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def rebuild_tensor(storage, offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    """``torch._utils._rebuild_tensor_v2``: the strided view ``size``/``stride`` of ``storage``, copied.

    A zero or overlapping stride can expand a few stored bytes into gigabytes (torch
    saves an ``expand``-ed tensor that way), and each tensor is a copy: the bytes of
    the copies one file builds are checked against ``WEIGHT_BYTES`` before each is
    allocated.

    Returns:
        np.ndarray: shape ``size``, contiguous, the storage's dtype (bfloat16 -> float32).

    Raises:
        LimitExceeded: the file's tensors add up past the cap.
    """
    del requires_grad, backward_hooks, metadata  # autograd state; nothing to keep
    if not isinstance(storage, Storage):
        raise pickle.UnpicklingError('_rebuild_tensor_v2 got {!r} instead of a storage'.format(type(storage)))
    if not (is_int(offset) and isinstance(size, tuple) and isinstance(stride, tuple)
            and len(size) == len(stride) and all(is_int(v) and v >= 0 for v in size + stride) and offset >= 0):
        raise pickle.UnpicklingError('storage {}: bad tensor geometry offset={!r} size={!r} stride={!r}'.format(
            storage.key, offset, size, stride))
    array = storage.array
    if 0 in size:
        return np.zeros(size, array.dtype)
    storage.built.take(math.prod(size) * array.itemsize, 'of size {} stride {} from storage {!r}'.format(
        size, stride, storage.key))
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
        ('torch._utils', '_rebuild_tensor_v2'): Call('torch._utils._rebuild_tensor_v2', rebuild_tensor),
        ('torch._utils', '_rebuild_parameter'): Call('torch._utils._rebuild_parameter', rebuild_parameter),
    }
    for name, dtype in STORAGE_DTYPES.items():
        allowed[('torch', name)] = StorageType(name, dtype)
    for name, dtype in DTYPES.items():
        allowed[('torch', name)] = TorchDtype(name, dtype)
    return allowed


#: ``{(module, name): stand-in}`` admitted in a ``.pth`` pickle; everything else is refused.
ALLOWED_GLOBALS = _allowed_globals()


def element_size(dtype):
    return 2 if dtype == BFLOAT16 else np.dtype(dtype).itemsize


def storage_array(raw, dtype, numel, big_endian, where):
    """``numel`` elements of ``dtype`` from ``raw`` bytes (bfloat16 widened to float32)."""
    base = np.dtype(np.uint16 if dtype == BFLOAT16 else dtype).newbyteorder('>' if big_endian else '<')
    if len(raw) < numel * base.itemsize:
        raise TorchFileError('{}: storage holds {} bytes, its header says {} elements of {} bytes'.format(
            where, len(raw), numel, base.itemsize))
    array = np.frombuffer(raw, base, count=numel)
    if dtype == BFLOAT16:  # bfloat16 is the upper half of a float32
        return (array.astype(np.uint32) << 16).view(np.float32)
    return array.astype(base.newbyteorder('='), copy=False)


def check_pid(pid, path):
    """``(key, dtype, numel)`` of a storage persistent id, or an error naming the file."""
    if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == 'storage'):
        raise pickle.UnpicklingError('{}: unexpected persistent id {!r}'.format(path, pid))
    _, storage_type, key, _location, numel = pid[:5]
    if not isinstance(storage_type, StorageType):
        raise pickle.UnpicklingError('{}: persistent id names {!r}, not a storage type'.format(path, storage_type))
    if not (isinstance(key, str) and STORAGE_KEY.match(key)) or not (is_int(numel) and numel >= 0):
        raise pickle.UnpicklingError('{}: bad storage key {!r} / size {!r}'.format(path, key, numel))
    if len(pid) > 5 and pid[5] is not None:
        raise pickle.UnpicklingError('{}: storage views (torch < 0.4 files) are not supported'.format(path))
    return key, storage_type.dtype, numel
