"""What a pickle may declare and build, checked before and after it is unpickled.

CPython's C unpickler allocates what an opcode declares before it reads it: a
20-byte pickle whose ``BINBYTES8`` claims 2**40 bytes, or whose ``LONG_BINPUT``
names memo slot 0xffffffff, asks for terabytes. :func:`scan` walks the opcodes of
an in-memory pickle (no payload is copied) and refuses any declared length beyond
the bytes that remain, any memo slot beyond the opcodes read so far and more
new objects than the ``PICKLE_OBJECTS`` cap. Once unpickled, :func:`check_structure`
bounds the containers' nesting depth and their size with every shared reference
counted as a copy (what a recursive walk would visit), in time linear in the
objects actually built, and :func:`map_leaves` rebuilds a structure without
recursion. Caps from :mod:`.limits`.
"""
import itertools
import pickle
import pickletools
import struct

from . import limits

_OPS = {op.code.encode('latin1')[0]: op for op in pickletools.opcodes}
# Opcodes that build no new object (they combine, copy references, or are bookkeeping).
_NO_NEW_OBJECT = {'APPEND', 'APPENDS', 'SETITEM', 'SETITEMS', 'ADDITEMS', 'POP', 'DUP', 'MARK', 'POP_MARK',
                  'GET', 'BINGET', 'LONG_BINGET', 'PUT', 'BINPUT', 'LONG_BINPUT', 'MEMOIZE', 'PROTO', 'STOP',
                  'FRAME', 'BUILD', 'READONLY_BUFFER'}
_PUTS = {'PUT', 'BINPUT', 'LONG_BINPUT'}
# Counted arguments: pickletools' marker for where the length is -> (struct format, bytes).
_COUNTED = {pickletools.TAKEN_FROM_ARGUMENT1: ('<B', 1), pickletools.TAKEN_FROM_ARGUMENT4: ('<i', 4),
            pickletools.TAKEN_FROM_ARGUMENT4U: ('<I', 4), pickletools.TAKEN_FROM_ARGUMENT8U: ('<Q', 8)}
_CONTAINERS = (dict, list, tuple, set, frozenset)
_EXPANDED = 'the objects it builds (at least; each shared reference counted as a copy)'


def _line_end(data, pos, path, name):
    end = data.find(b'\n', pos)
    if end < 0:
        raise pickle.UnpicklingError('{}: truncated pickle: {} at byte {} has no end of line'.format(path, name, pos))
    return end + 1


def scan(data, path, start=0):
    """Check the pickle starting at ``data[start]`` before it is unpickled; return where it ends.

    Args:
        data (bytes | mmap.mmap): holds the pickle (and possibly more after it).
        path (str): the file, for messages.
        start (int): offset of the pickle's first opcode.

    Returns:
        int: the offset just past its STOP opcode.

    Raises:
        LimitExceeded: an opcode declares more bytes than remain, a memo slot beyond
            the opcodes read, or the pickle builds more objects than the cap.
        pickle.UnpicklingError: an unknown opcode or a truncated pickle.
    """
    size, pos, opcodes, built = len(data), start, 0, 0
    max_objects = limits.cap('PICKLE_OBJECTS')
    while True:
        if pos >= size:
            raise pickle.UnpicklingError('{}: truncated pickle (no STOP opcode before byte {})'.format(path, pos))
        op = _OPS.get(data[pos])
        if op is None:
            raise pickle.UnpicklingError('{}: invalid pickle opcode {!r} at byte {}'.format(path, data[pos:pos + 1],
                                                                                           pos))
        at, pos, opcodes = pos, pos + 1, opcodes + 1
        if op.name not in _NO_NEW_OBJECT:
            built += 1
            if built > max_objects:
                limits.check('PICKLE_OBJECTS', built, path, "the pickle's object-building opcodes (at least)")
        arg = op.arg
        if arg is None:
            pass
        elif arg.n == pickletools.UP_TO_NEWLINE:
            end = _line_end(data, pos, path, op.name)
            if op.name in ('GLOBAL', 'INST'):  # module and name, one line each
                end = _line_end(data, end, path, op.name)
            if op.name == 'PUT':
                try:
                    _check_memo(int(data[pos:end]), opcodes, path, at)
                except ValueError:
                    raise pickle.UnpicklingError('{}: bad PUT index at byte {}'.format(path, at)) from None
            pos = end
        elif arg.n in _COUNTED:
            fmt, width = _COUNTED[arg.n]
            limits.check_holds(pos + width, size, path, 'the length of {} at byte {}'.format(op.name, at))
            (length,) = struct.unpack_from(fmt, data, pos)
            if length < 0:
                raise pickle.UnpicklingError('{}: negative length {} in {} at byte {}'.format(path, length, op.name,
                                                                                              at))
            pos += width
            limits.check_holds(length, size - pos, path, '{} at byte {} (a byte / text / long value)'.format(
                op.name, at))
            pos += length
        else:
            limits.check_holds(pos + arg.n, size, path, 'the argument of {} at byte {}'.format(op.name, at))
            if op.name in _PUTS:
                _check_memo(int.from_bytes(data[pos:pos + arg.n], 'little'), opcodes, path, at)
            elif op.name == 'FRAME':
                (length,) = struct.unpack_from('<Q', data, pos)
                limits.check_holds(length, size - pos - arg.n, path, 'FRAME at byte {}'.format(at))
            pos += arg.n
        if op.name == 'STOP':
            return pos


def _check_memo(index, opcodes, path, at):
    # The unpickler sizes its memo table by the largest slot named; a pickler numbers
    # slots in order, so a slot cannot exceed the number of opcodes before it.
    if index > opcodes:
        raise limits.LimitExceeded('{}: refused: memo slot {:,} at byte {} exceeds the {:,} opcodes read so far '
                                   '(the unpickler would size its memo table by it)'.format(path, index, at, opcodes),
                                   path)


def _children(obj):
    if isinstance(obj, dict):
        items = itertools.chain.from_iterable(obj.items())
        extra = getattr(obj, '__dict__', None)  # an OrderedDict's attributes (set by BUILD)
        return itertools.chain(items, extra.values()) if extra else items
    return iter(obj)


def check_structure(obj, path):
    """Refuse ``obj`` if its containers nest deeper than ``PICKLE_DEPTH``, expand (every shared
    reference counted as a copy) to more than ``PICKLE_OBJECTS`` objects, or hold a cycle.

    Linear in the objects and references built (each container is visited once, its
    expanded size memoised by id); no recursion.

    Raises:
        LimitExceeded: naming the file, what it builds and the cap.
    """
    if not isinstance(obj, _CONTAINERS):
        return
    max_objects, max_depth = limits.cap('PICKLE_OBJECTS'), limits.cap('PICKLE_DEPTH')
    done = {}  # id -> (expanded count, depth)
    active = {id(obj)}
    stack = [[obj, _children(obj), 1, 0]]  # container, its children, expanded count, depth below
    while stack:
        frame = stack[-1]
        for child in frame[1]:
            if not isinstance(child, _CONTAINERS):
                frame[2] += 1
            elif id(child) in done:
                count, depth = done[id(child)]
                frame[2] += count
                frame[3] = max(frame[3], depth)
            elif id(child) in active:
                raise limits.LimitExceeded('{}: refused: the pickle builds a container that holds itself (its '
                                           'expanded size is unbounded)'.format(path), path, 'PICKLE_OBJECTS')
            else:
                if len(stack) + 1 > max_depth:
                    limits.check('PICKLE_DEPTH', len(stack) + 1, path, 'the nesting depth of its containers')
                active.add(id(child))
                stack.append([child, _children(child), 1, 0])
                break
            if frame[2] > max_objects:
                limits.check('PICKLE_OBJECTS', frame[2], path, _EXPANDED)
        else:
            stack.pop()
            active.discard(id(frame[0]))
            done[id(frame[0])] = (frame[2], frame[3] + 1)
            if stack:
                stack[-1][2] += frame[2]
                stack[-1][3] = max(stack[-1][3], frame[3] + 1)
                if stack[-1][2] > max_objects:
                    limits.check('PICKLE_OBJECTS', stack[-1][2], path, _EXPANDED)


def map_leaves(obj, leaf):
    """``obj`` with every value ``v`` that is not a dict, list or tuple replaced by ``leaf(v)``.

    Containers are rebuilt bottom-up without recursion (their type, and an OrderedDict's
    attributes, kept) only where something below them changed; a shared value is
    mapped once. Dict keys are kept as they are. Run :func:`check_structure` first
    (it refuses cycles).
    """
    built = {}  # id -> mapped value
    stack = [(obj, False)]
    while stack:
        value, expanded = stack.pop()
        if id(value) in built:
            continue
        if not isinstance(value, (dict, list, tuple)):
            built[id(value)] = leaf(value)
            continue
        children = list(value.values()) if isinstance(value, dict) else value
        if not expanded:
            stack.append((value, True))
            stack.extend((c, False) for c in children if id(c) not in built)
            continue
        if all(built[id(c)] is c for c in children):
            built[id(value)] = value
        elif isinstance(value, dict):
            new = type(value)((k, built[id(v)]) for k, v in value.items())
            if getattr(value, '__dict__', None):
                new.__dict__.update(value.__dict__)
            built[id(value)] = new
        else:
            built[id(value)] = type(value)(built[id(c)] for c in children)
    return built[id(obj)]
