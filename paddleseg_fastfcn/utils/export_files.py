"""Check an exported Paddle model (``model.json`` + ``model.pdiparams``) before a runtime reads it.

Paddle Inference trusts both files: measured on 3.3.1, a model.pdiparams cut in half
loads without an error (the missing weights are whatever memory held), a program that
declares other parameter shapes than the weights file holds loads too, and an
unparsable model.json ends in a raw C++ exception. So the files are checked here first,
in bounded time and memory:

* model.json: at most ``PROGRAM_BYTES`` (``utils.limits``), valid UTF-8 JSON, a PIR
  program (``base_code.magic == 'pir'``), whose parameter ops (``"#": "p"``) each
  declare a name, a dtype and a static shape.
* model.pdiparams: ``paddle.jit.save`` writes every persistable value of the program,
  sorted by name, as one serialized dense tensor after another
  (``uint32 version = 0``, ``uint64 lod_level`` + its levels, ``uint32 version = 0``,
  ``int32 desc_size``, a ``TensorDesc`` protobuf (dtype, dims), then the raw data).
  Each header is parsed (the data is skipped, never read), its dtype and dims must be
  the declared ones, its data must be in the file, and the file must end after the last.

What this cannot vet: a well-formed program whose ops are hostile or nonsensical is
executed as it is by the runtime.
"""
import json
import os
import struct

from paddleseg_fastfcn.utils import limits

#: PIR dtype names in model.json -> (TensorDesc data_type, bytes per element).
PIR_DTYPES = {
    't_bool': (0, 1), 't_i16': (1, 2), 't_i32': (2, 4), 't_i64': (3, 8), 't_f16': (4, 2),
    't_f32': (5, 4), 't_f64': (6, 8), 't_ui8': (20, 1), 't_i8': (21, 1), 't_bf16': (22, 2),
    't_c64': (23, 8), 't_c128': (24, 16),
}
# A TensorDesc (dtype + up to a few dozen dims) is tens of bytes; LoD on a parameter is unused.
MAX_DESC_BYTES = 4096
MAX_LOD_LEVELS = 8
_TYPE_NAMES = {code: name[2:] for name, (code, _) in PIR_DTYPES.items()}


class ExportFileError(ValueError):
    """An export file is corrupted, truncated or not what its name says (the file is named)."""


def _read_json(path):
    size = os.path.getsize(path)
    limits.check('PROGRAM_BYTES', size, path, 'a program file of {:,} bytes'.format(size))
    if size == 0:
        raise ExportFileError('{}: empty file (0 bytes); re-export the model'.format(path))
    with open(path, 'rb') as f:
        raw = f.read()
    try:
        return json.loads(raw.decode('utf-8'))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ExportFileError('{}: not a valid JSON program (truncated or corrupted?): {}'.format(
            path, str(e)[:200])) from None


def _ops(program):
    """Every op of the PIR program, nested regions (``if`` branches) included."""
    stack = list(program['program']['regions'])
    while stack:
        region = stack.pop()
        for block in region['blocks']:
            for op in block['ops']:
                yield op
                stack.extend(op.get('regions', []))


def _parameter(op):
    """``(name, dtype name, shape)`` of a parameter op ``{"#": "p", "A": [.., name], "O": {"TT": ..}}``."""
    name = op['A'][-1]
    dtype, shape = op['O']['TT']['D'][:2]
    dtype = dtype['#'].split('.', 1)[-1]
    if not isinstance(name, str) or dtype not in PIR_DTYPES:
        raise ValueError('parameter {!r} has dtype {!r}'.format(name, dtype))
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise ValueError('parameter {!r} has no static shape: {!r}'.format(name, shape))
    return name, dtype, [int(d) for d in shape]


def program_parameters(path):
    """The parameters a PIR program file declares, sorted by name (the order of the weights file).

    Args:
        path (str): model.json.

    Returns:
        list[tuple[str, str, list[int]]]: ``(name, PIR dtype name, shape)``.

    Raises:
        ExportFileError, LimitExceeded: not a PIR program, or larger than the cap.
    """
    program = _read_json(path)
    try:
        if program['base_code']['magic'] != 'pir':
            raise ValueError('base_code.magic is {!r}, not \'pir\''.format(program['base_code']['magic']))
        params = {}
        for op in _ops(program):
            if op.get('#') == 'p':
                name, dtype, shape = _parameter(op)
                params[name] = (name, dtype, shape)
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as e:
        raise ExportFileError('{}: not a Paddle PIR program as paddle.jit.save writes it ({}: {})'.format(
            path, type(e).__name__, e)) from None
    return [params[name] for name in sorted(params)]


def _tensor_header(f, path, size):
    """``(data_type, dims)`` of the serialized tensor at ``f``'s position (data not read)."""
    def take(n, what):
        data = f.read(n)
        if len(data) != n:
            raise ExportFileError('{}: truncated at byte {:,} inside {} (file size {:,})'.format(
                path, f.tell(), what, size))
        return data

    from paddle.base.proto.framework_pb2 import VarType  # TensorDesc: the protobuf paddle writes
    if struct.unpack('<I', take(4, 'a tensor header'))[0] != 0:
        raise ValueError('unknown tensor version')
    lod_levels = struct.unpack('<Q', take(8, 'a tensor header'))[0]
    if lod_levels > MAX_LOD_LEVELS:
        raise ValueError('{:,} LoD levels'.format(lod_levels))
    for _ in range(lod_levels):
        level_bytes = struct.unpack('<Q', take(8, 'a LoD level'))[0]
        limits.check_holds(level_bytes, size - f.tell(), path, 'a LoD level')
        f.seek(level_bytes, os.SEEK_CUR)
    if struct.unpack('<I', take(4, 'a tensor header'))[0] != 0:
        raise ValueError('unknown dense tensor version')
    desc_bytes = struct.unpack('<i', take(4, 'a tensor header'))[0]
    if not 0 < desc_bytes <= MAX_DESC_BYTES:
        raise ValueError('a tensor description of {:,} bytes'.format(desc_bytes))
    desc = VarType.TensorDesc()
    try:
        desc.ParseFromString(take(desc_bytes, 'a tensor description'))
    except Exception as e:  # protobuf's DecodeError: the bytes are no TensorDesc
        raise ValueError('unparsable tensor description ({})'.format(e)) from None
    return desc.data_type, list(desc.dims)


def check_params_file(path, parameters):
    """Check that the weights file ``path`` holds exactly ``parameters``, in order.

    Args:
        path (str): model.pdiparams.
        parameters (list): ``program_parameters(model.json)``.

    Raises:
        ExportFileError, LimitExceeded: truncated, extra bytes, a tensor whose dtype
            or shape differ from the program's, or more than ``WEIGHT_BYTES``.
    """
    size = os.path.getsize(path)
    limits.check('WEIGHT_BYTES', size, path, 'a weights file of {:,} bytes'.format(size))
    if size == 0 and parameters:
        raise ExportFileError('{}: empty file (0 bytes), but the program declares {:,} parameters'.format(
            path, len(parameters)))
    with open(path, 'rb') as f:
        for i, (name, dtype, shape) in enumerate(parameters):
            start = f.tell()
            try:
                data_type, dims = _tensor_header(f, path, size)
            except ValueError as e:
                if isinstance(e, ExportFileError):
                    raise
                raise ExportFileError('{}: byte {:,}: not a Paddle tensor ({}) where parameter {} of {:,} ({}) '
                                      'should be; the file is corrupted'.format(
                                          path, start, e, i + 1, len(parameters), name)) from None
            expected_type, itemsize = PIR_DTYPES[dtype]
            if (data_type, dims) != (expected_type, shape):
                raise ExportFileError('{}: parameter {} of {:,} ({}) is {} {} but the program declares {} {}; '
                                      'the weights do not belong to this program'.format(
                                          path, i + 1, len(parameters), name,
                                          _TYPE_NAMES.get(data_type, 'data_type {}'.format(data_type)), dims,
                                          dtype[2:], shape))
            nbytes = itemsize
            for d in shape:
                nbytes *= d
            held = size - f.tell()
            if nbytes > held:
                raise ExportFileError('{}: truncated: parameter {} of {:,} ({}, {} {}) needs {:,} bytes, {:,} '
                                      'are left'.format(path, i + 1, len(parameters), name, dtype[2:], shape,
                                                        nbytes, held))
            f.seek(nbytes, os.SEEK_CUR)
        if f.tell() != size:
            raise ExportFileError('{}: {:,} bytes after the {:,} parameters the program declares; the file is '
                                  'corrupted or belongs to another program'.format(
                                      path, size - f.tell(), len(parameters)))


def check_paddle_export(model_file, params_file):
    """Check a Paddle export's program and weights files (see the module docstring).

    Raises:
        ExportFileError, LimitExceeded: naming the file and what is wrong.
    """
    if not model_file.endswith('.json'):
        raise ExportFileError('{}: not a PIR program (model.json); this project deploys the programs '
                              'paddle.jit.save writes on Paddle 3'.format(model_file))
    check_params_file(params_file, program_parameters(model_file))
