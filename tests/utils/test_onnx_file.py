"""utils.onnx_file: a damaged or outward-pointing model.onnx is refused, naming the file,
before ONNX Runtime reads it."""
import os
import re
import shutil

import onnx
import pytest
from onnx.external_data_helper import set_external_data

from paddleseg_fastfcn.utils.export_files import ExportFileError
from paddleseg_fastfcn.utils.limits import LimitExceeded
from paddleseg_fastfcn.utils.onnx_file import check_onnx_file, graph_tensors
from tests.deploy.exported_models import infer_on_corrupted_copies

PEAK_MB = 400  # above the child's baseline (paddle imported)
SECONDS = 60
REASONS = {
    'truncated': r'model\.onnx: not an ONNX model \(truncated or corrupted\?\): .*',
    'garbage': r'model\.onnx: not an ONNX model \(truncated or corrupted\?\): .*',
    'zero-length': r'model\.onnx: empty file \(0 bytes\)',
}


def test_damaged_onnx_files_are_refused_by_name_in_bounded_memory(tiny_exports, tmp_path):
    _, _, save_dir = tiny_exports()
    results, code, peak_mb, seconds = infer_on_corrupted_copies(save_dir, str(tmp_path), 'model.onnx',
                                                                'onnxruntime')
    assert code == 0, 'the child crashed (status {}): {}'.format(code, results)
    assert set(results) == set(REASONS)
    for corruption, (status, printed) in results.items():
        assert status == 1, (corruption, printed)
        assert printed.startswith('error: ') and 'Traceback' not in printed, printed
        assert re.search(REASONS[corruption], printed), (corruption, printed)
        assert os.path.join(corruption, 'model.onnx') in printed
    assert peak_mb < PEAK_MB and seconds < SECONDS


def _weights(model):
    return [t for t in graph_tensors(model.graph) if len(t.raw_data) > 16]


def test_intact_file_passes(tiny_exports):
    check_onnx_file(os.path.join(tiny_exports()[2], 'model.onnx'))


def test_external_data_and_short_tensors_are_refused(tiny_exports, tmp_path):
    source = os.path.join(tiny_exports()[2], 'model.onnx')
    path = str(tmp_path / 'model.onnx')
    model = onnx.load(source)
    tensor = _weights(model)[0]
    set_external_data(tensor, '../../etc/passwd')
    tensor.data_location = onnx.TensorProto.EXTERNAL
    tensor.ClearField('raw_data')
    onnx.save(model, path)
    with pytest.raises(ExportFileError, match=r'model\.onnx: tensor .+ keeps its data in an external file; refused'):
        check_onnx_file(path)
    model = onnx.load(source)
    tensor = _weights(model)[0]
    tensor.raw_data = tensor.raw_data[:-4]
    onnx.save(model, path)
    with pytest.raises(ExportFileError, match=r'model\.onnx: tensor .+ declares \[.*\] elements \([\d,]+ bytes\) '
                                              r'but holds [\d,]+ bytes'):
        check_onnx_file(path)


def test_a_graph_the_checker_rejects_and_a_file_over_the_cap(tiny_exports, tmp_path, monkeypatch):
    path = str(tmp_path / 'model.onnx')
    model = onnx.load(os.path.join(tiny_exports()[2], 'model.onnx'))
    next(node for node in model.graph.node if node.input).input[0] = 'no_such_value'
    onnx.save(model, path)
    with pytest.raises(ExportFileError, match=r'model\.onnx: not a valid ONNX model: .*no_such_value'):
        check_onnx_file(path)
    shutil.copy(os.path.join(tiny_exports()[2], 'model.onnx'), path)
    monkeypatch.setenv('PADDLESEG_FASTFCN_MAX_WEIGHT_BYTES', '100')
    with pytest.raises(LimitExceeded, match=r'model\.onnx: refused: an ONNX model of .* exceeds the cap of 100'):
        check_onnx_file(path)
