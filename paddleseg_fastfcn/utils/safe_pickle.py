"""Unpickling that can only build what an allow-list names.

``pickle.load`` (and so ``paddle.load`` and a plain ``torch.load``) calls any
global a file names, so a weight file can run code on the machine that loads it.
Every callable or class a pickle can invoke is obtained through
``Unpickler.find_class``; refusing every ``(module, name)`` that is not on an
allow-list therefore refuses the file before anything it names can run. The
format readers (Paddle's ``.pdparams`` / ``.pdopt`` / checkpoint state, PyTorch's
``.pth``) each pass their own allow-list.

Every load is bounded too (:mod:`.pickle_bounds`): the file's size against the
``WEIGHT_BYTES`` cap, the opcodes scanned before the C unpickler allocates what they
declare, and what was built checked for depth and expanded size before anything
walks it.
"""
import contextlib
import io
import mmap
import os
import pickle

from . import limits
from .pickle_bounds import check_structure, map_leaves, scan


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle names a global that the reader does not admit.

    Also a ValueError: the scripts report bad input files (ValueError) without a traceback.

    Attributes:
        path (str): the file being read.
        module, name (str): the refused global.
    """

    def __init__(self, path, module, name, what='this file'):
        self.path, self.module, self.name = path, module, name
        super().__init__(
            '{}: refused to load: its pickle calls {}.{}, which is not something {} may '
            'contain (only tensors, arrays, numbers, strings and containers are admitted; '
            'loading it with pickle / paddle.load / torch.load would run that code)'.format(
                path, module, name, what))


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose ``find_class`` only returns allow-listed globals.

    Args:
        file: a binary file object.
        path (str): the file's name, for error messages.
        allowed (dict): ``{(module, name): object}``; the object is what the
            pickle gets for that global (the real one, or a safe stand-in).
        persistent_load (callable | None): handler for persistent ids (PyTorch
            storages); None refuses any persistent id.
        what (str): what the file is, for error messages.
        encoding (str): how Python 2 ``str`` objects are decoded (``'latin1'``
            keeps numpy arrays pickled by Python 2 readable, as ``paddle.load`` does).
    """

    def __init__(self, file, path, allowed, persistent_load=None, what='this file', encoding='ASCII'):
        super().__init__(file, encoding=encoding)
        self._path = path
        self._allowed = allowed
        self._what = what
        self._persistent = persistent_load

    def find_class(self, module, name):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(self._path, module, name, self._what) from None

    def persistent_load(self, pid):
        if self._persistent is None:
            raise pickle.UnpicklingError('{}: unexpected persistent id {!r} in the pickle'.format(
                self._path, pid))
        return self._persistent(pid)


class Pending:
    """Base of the stand-ins an allow-list may give for an object completed by BUILD
    (e.g. an array whose data is checked before it is built): once the pickle is
    loaded, each is replaced by its :meth:`value`."""

    def value(self):
        raise NotImplementedError


def _finish(value):
    return value.value() if isinstance(value, Pending) else value


def restricted_load_at(buffer, start, path, allowed, persistent_load=None, what='this file', encoding='ASCII'):
    """Unpickle the pickle at ``buffer[start]`` with :class:`RestrictedUnpickler`, bounded.

    Args:
        buffer (bytes | mmap.mmap): holds the pickle (a file may hold several in a row).
        start (int): offset of its first opcode.
        path, allowed, persistent_load, what, encoding: see :class:`RestrictedUnpickler`.

    Returns:
        tuple: (the object, the offset just past the pickle).

    Raises:
        LimitExceeded: the pickle declares more than it holds or than a cap allows.
        UnsafePickleError: it names a global outside ``allowed``.
    """
    end = scan(buffer, path, start)
    stream = buffer if isinstance(buffer, mmap.mmap) else io.BytesIO(buffer)
    stream.seek(start)
    obj = RestrictedUnpickler(stream, path, allowed, persistent_load, what, encoding).load()
    check_structure(obj, path)
    return map_leaves(obj, _finish), end


def restricted_loads(data, path, allowed, persistent_load=None, what='this file', encoding='ASCII'):
    """Unpickle ``data`` (bytes) with :class:`RestrictedUnpickler`, bounded (see :func:`restricted_load_at`)."""
    return restricted_load_at(data, 0, path, allowed, persistent_load, what, encoding)[0]


@contextlib.contextmanager
def mapped_file(path):
    """The file at ``path`` as a read-only buffer (mapped, not read), once its size passes ``WEIGHT_BYTES``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        LimitExceeded: the file is larger than the cap.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError('file not found: {}'.format(path))
    with open(path, 'rb') as f:
        size = os.fstat(f.fileno()).st_size
        limits.check('WEIGHT_BYTES', size, path, 'its size in bytes')
        if size == 0:
            yield b''
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buffer:
            yield buffer


def restricted_load(path, allowed, persistent_load=None, what='this file', encoding='ASCII'):
    """Unpickle the file at ``path`` with :class:`RestrictedUnpickler`, bounded (see :func:`restricted_load_at`).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UnsafePickleError: the pickle names a global outside ``allowed``.
        LimitExceeded: the file is larger than ``WEIGHT_BYTES``, or its pickle declares
            more than it holds or than a cap allows.
    """
    with mapped_file(path) as buffer:
        return restricted_load_at(buffer, 0, path, allowed, persistent_load, what, encoding)[0]
