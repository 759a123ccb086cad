"""utils.export_files: a damaged model.json / model.pdiparams is refused, naming the file,
before Paddle Inference reads it (which loads a truncated weights file without an error)."""
import json
import re
import os
import shutil

import pytest

from paddleseg_fastfcn.utils.export_files import ExportFileError, check_paddle_export, program_parameters
from paddleseg_fastfcn.utils.limits import LimitExceeded
from tests.deploy.exported_models import infer_on_corrupted_copies

PEAK_MB = 400  # above the child's baseline (paddle imported)
SECONDS = 60

REASONS = {
    ('model.pdiparams', 'truncated'): r'model\.pdiparams: truncated: parameter \d+ of \d+ \(.+\) needs',
    ('model.pdiparams', 'garbage'): r'model\.pdiparams: byte 0: not a Paddle tensor \(.+\) where parameter 1 '
                                    r'of \d+ \(.+\) should be; the file is corrupted',
    ('model.pdiparams', 'zero-length'): r'model\.pdiparams: empty file \(0 bytes\), but the program declares',
    ('model.json', 'truncated'): r'model\.json: not a valid JSON program \(truncated or corrupted\?\)',
    ('model.json', 'garbage'): r'model\.json: not a valid JSON program \(truncated or corrupted\?\)',
    ('model.json', 'zero-length'): r'model\.json: empty file \(0 bytes\)',
}


@pytest.mark.parametrize('file_name', ['model.pdiparams', 'model.json'])
def test_damaged_files_are_refused_by_name_in_bounded_memory(tiny_exports, tmp_path, file_name):
    _, _, save_dir = tiny_exports()
    results, code, peak_mb, seconds = infer_on_corrupted_copies(save_dir, str(tmp_path), file_name, 'paddle')
    assert code == 0, 'the child crashed (status {}): {}'.format(code, results)
    assert set(results) == {'truncated', 'garbage', 'zero-length'}
    for corruption, (status, printed) in results.items():
        assert status == 1, (corruption, printed)
        assert printed.startswith('error: ') and 'Traceback' not in printed, printed
        assert re.search(REASONS[file_name, corruption], printed), (corruption, printed)
        assert os.path.join(corruption, file_name) in printed  # the damaged copy's own file
    assert peak_mb < PEAK_MB and seconds < SECONDS


def _copy(save_dir, tmp_path):
    copy = str(tmp_path / 'copy')
    shutil.copytree(save_dir, copy)
    return os.path.join(copy, 'model.json'), os.path.join(copy, 'model.pdiparams')


def test_intact_export_passes_and_parameters_are_sorted_by_name(tiny_exports):
    _, model, save_dir = tiny_exports()
    params = program_parameters(os.path.join(save_dir, 'model.json'))
    assert [p[0] for p in params] == sorted(p[0] for p in params)
    assert sorted(p[2] for p in params) == sorted(list(v.shape) for v in model.state_dict().values())
    check_paddle_export(os.path.join(save_dir, 'model.json'), os.path.join(save_dir, 'model.pdiparams'))


def test_weights_of_another_shape_or_extra_bytes_are_refused(tiny_exports, tmp_path):
    _, _, save_dir = tiny_exports()
    program, weights = _copy(save_dir, tmp_path)
    with open(weights, 'ab') as f:
        f.write(b'\0' * 8)
    with pytest.raises(ExportFileError, match=r'model\.pdiparams: 8 bytes after the \d+ parameters'):
        check_paddle_export(program, weights)
    shutil.copy(os.path.join(save_dir, 'model.pdiparams'), weights)
    with open(program) as f:
        text = f.read()
    assert text.count('[5,8,1,1]') == 1  # the classifier's weight
    with open(program, 'w') as f:
        f.write(text.replace('[5,8,1,1]', '[5,8,3,3]'))
    with pytest.raises(ExportFileError, match=r'model\.pdiparams: parameter \d+ of \d+ \(.+\) is f32 \[5, 8, 1, 1\] '
                                              r'but the program declares f32 \[5, 8, 3, 3\]'):
        check_paddle_export(program, weights)


@pytest.mark.parametrize('content,message', [
    ({}, r"not a Paddle PIR program as paddle.jit.save writes it \(KeyError: 'base_code'\)"),
    ({'base_code': {'magic': 'onnx'}, 'program': {}}, r"not a Paddle PIR program .*base_code.magic is 'onnx'"),
    ({'base_code': {'magic': 'pir'}, 'program': {'regions': 3}}, r'not a Paddle PIR program'),
    ([1, 2], r'not a Paddle PIR program'),
])
def test_valid_json_that_is_no_program_is_refused(tiny_exports, tmp_path, content, message):
    program, weights = _copy(tiny_exports()[2], tmp_path)
    with open(program, 'w') as f:
        json.dump(content, f)
    with pytest.raises(ExportFileError, match=r'model\.json: ' + message):
        check_paddle_export(program, weights)


def test_a_program_over_the_cap_is_refused_before_it_is_parsed(tiny_exports, tmp_path, monkeypatch):
    program, weights = _copy(tiny_exports()[2], tmp_path)
    monkeypatch.setenv('PADDLESEG_FASTFCN_MAX_PROGRAM_BYTES', '1000')
    with pytest.raises(LimitExceeded, match=r'model\.json: refused: a program file of .* exceeds the cap of 1,000'):
        check_paddle_export(program, weights)
