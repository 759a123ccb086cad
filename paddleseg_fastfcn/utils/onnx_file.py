"""Check an ONNX model file before ONNX Runtime (or paddle2onnx's reader) loads it.

ONNX Runtime reports a corrupted file as a raw ``InvalidProtobuf`` / ``Fail`` exception,
and follows ``external_data`` locations wherever they point. Checked here, in bounded
memory (the file is at most ``WEIGHT_BYTES``, ``utils.limits``, and parsed once):

* it parses as an ONNX ``ModelProto`` (protobuf), without following external data;
* no tensor keeps its data in another file (this project's exports embed their
  weights; an external location could name any file on the machine);
* every initializer holds as many bytes as its dtype and dims declare;
* ``onnx.checker.check_model`` accepts it (graph structure, opsets, types).

What this cannot vet: a well-formed graph is executed as it is by the runtime.
"""
import os

from paddleseg_fastfcn.utils import limits
from paddleseg_fastfcn.utils.export_files import ExportFileError


def graph_tensors(graph):
    """Every TensorProto of ``graph`` and of its subgraphs (``If`` / ``Loop`` bodies)."""
    import onnx
    stack = [graph]
    while stack:
        g = stack.pop()
        yield from g.initializer
        for node in g.node:
            for attr in node.attribute:
                if attr.HasField('t'):
                    yield attr.t
                yield from attr.tensors
                if attr.type == onnx.AttributeProto.GRAPH:
                    stack.append(attr.g)
                stack.extend(attr.graphs)


def _check_tensor(tensor, path):
    import onnx
    from onnx import helper
    name = tensor.name or '(unnamed)'
    if tensor.data_location == onnx.TensorProto.EXTERNAL or tensor.external_data:
        raise ExportFileError('{}: tensor {} keeps its data in an external file; refused (an ONNX export '
                              'of this project embeds its weights)'.format(path, name))
    if not tensor.HasField('raw_data') or tensor.data_type == onnx.TensorProto.STRING:
        return
    numel = 1
    for d in tensor.dims:
        numel *= d
    itemsize = helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
    if len(tensor.raw_data) != numel * itemsize:
        raise ExportFileError('{}: tensor {} declares {} elements ({:,} bytes) but holds {:,} bytes; the file '
                              'is corrupted'.format(path, name, list(tensor.dims), numel * itemsize,
                                                    len(tensor.raw_data)))


def check_onnx_file(path):
    """Refuse an ONNX file that is corrupted, truncated, too large or points outside itself.

    Args:
        path (str): model.onnx.

    Raises:
        ExportFileError, LimitExceeded: naming ``path`` and what is wrong.
    """
    import onnx
    size = os.path.getsize(path)
    limits.check('WEIGHT_BYTES', size, path, 'an ONNX model of {:,} bytes'.format(size))
    if size == 0:
        raise ExportFileError('{}: empty file (0 bytes); re-export with `export.py --onnx True`'.format(path))
    try:
        model = onnx.load(path, load_external_data=False)
    except Exception as e:  # protobuf's DecodeError and friends: the bytes are no ModelProto
        raise ExportFileError('{}: not an ONNX model (truncated or corrupted?): {}'.format(
            path, str(e)[:200])) from None
    for tensor in graph_tensors(model.graph):
        _check_tensor(tensor, path)
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError) as e:
        raise ExportFileError('{}: not a valid ONNX model: {}'.format(path, str(e).strip()[:300])) from None
