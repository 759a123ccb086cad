"""Every script refuses an out-of-range value or a missing file at parse time: exit 2, argparse's message.

The parsers are called in-process (the same ``parse_args`` the scripts run); one subprocess
checks the whole path for train.py, the case a new user hits first.
"""
import importlib.util
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_script(relpath, monkeypatch):
    """Import a script (train.py, tools/benchmark.py ...) as a module without running it."""
    path = os.path.join(REPO, relpath)
    monkeypatch.syspath_prepend(os.path.dirname(path))  # as `python <script>` finds its neighbours
    spec = importlib.util.spec_from_file_location('script_' + relpath.replace('/', '_')[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def files(tmp_path):
    """{cfg}: an existing file, {dir}: an existing folder, {absent}: neither."""
    cfg = tmp_path / 'config.yml'
    cfg.write_text('batch_size: 1\n')
    return {'cfg': str(cfg), 'dir': str(tmp_path), 'absent': str(tmp_path / 'absent')}


# (script, its arguments, argparse's message). deploy/python/infer.py runs
# paddleseg_fastfcn.deploy.infer's parser.
CASES = [
    ('train.py', ['--config', '{absent}'], 'argument --config: file not found: {absent}'),
    ('train.py', ['--config', '{cfg}', '--batch_size', '0'], 'argument --batch_size: must be >= 1, got 0'),
    ('train.py', ['--config', '{cfg}', '--learning_rate', '-0.1'],
     'argument --learning_rate: must be > 0, got -0.1'),
    ('train.py', ['--config', '{cfg}', '--save_interval', '0'], 'argument --save_interval: must be >= 1, got 0'),
    ('train.py', ['--config', '{cfg}', '--log_iters', 'ten'], "argument --log_iters: expected an integer, got 'ten'"),
    ('train.py', ['--config', '{cfg}', '--num_workers', '-1'], 'argument --num_workers: must be >= 0, got -1'),
    ('train.py', ['--config', '{cfg}', '--resume_model', '{absent}'],
     'argument --resume_model: folder not found: {absent}'),
    ('val.py', ['--config', '{cfg}', '--model_path', '{absent}'], 'argument --model_path: file not found: {absent}'),
    ('val.py', ['--config', '{cfg}', '--model_path', '{cfg}', '--crop_size', '0', '64'],
     'argument --crop_size: must be >= 1, got 0'),
    ('val.py', ['--config', '{cfg}', '--model_path', '{cfg}', '--scales', '0.5', '0'],
     'argument --scales: must be > 0, got 0'),
    ('predict.py', ['--config', '{cfg}', '--model_path', '{cfg}', '--image_path', '{absent}'],
     'argument --image_path: no such file or folder: {absent}'),
    ('predict.py', ['--config', '{cfg}', '--model_path', '{cfg}', '--image_path', '{dir}', '--stride', '-1', '8'],
     'argument --stride: must be >= 1, got -1'),
    ('export.py', ['--config', '{cfg}', '--model_path', '{cfg}', '--input_shape', '1', '3', '0', '64'],
     'argument --input_shape: must be >= 1, got 0'),
    ('export.py', ['--config', '{dir}', '--model_path', '{cfg}'], 'argument --config: is a folder, not a file: {dir}'),
    ('paddleseg_fastfcn/deploy/infer.py', ['--config', '{cfg}', '--image_path', '{dir}', '--cpu_threads', '0'],
     'argument --cpu_threads: must be >= 1, got 0'),
    ('paddleseg_fastfcn/deploy/infer.py', ['--config', '{cfg}', '--image_path', '{dir}', '--batch_size', '-2'],
     'argument --batch_size: must be >= 1, got -2'),
    # --save_dir naming an existing file: refused before anything is built or written.
    ('train.py', ['--config', '{cfg}', '--save_dir', '{cfg}'], 'argument --save_dir: is a file, not a folder: {cfg}'),
    ('val.py', ['--config', '{cfg}', '--model_path', '{cfg}', '--save_dir', '{cfg}'],
     'argument --save_dir: is a file, not a folder: {cfg}'),
    ('predict.py', ['--config', '{cfg}', '--model_path', '{cfg}', '--image_path', '{dir}', '--save_dir', '{cfg}'],
     'argument --save_dir: is a file, not a folder: {cfg}'),
    ('export.py', ['--config', '{cfg}', '--model_path', '{cfg}', '--save_dir', '{cfg}'],
     'argument --save_dir: is a file, not a folder: {cfg}'),
    ('paddleseg_fastfcn/deploy/infer.py', ['--config', '{cfg}', '--image_path', '{dir}', '--save_dir', '{cfg}'],
     'argument --save_dir: is a file, not a folder: {cfg}'),
    ('paddleseg_fastfcn/deploy/evaluate.py', ['--config', '{cfg}', '--dataset_config', '{cfg}', '--save_dir', '{cfg}'],
     'argument --save_dir: is a file, not a folder: {cfg}'),
    ('tools/benchmark.py', ['--threads', '0'], 'argument --threads: must be >= 1, got 0'),
    ('tools/benchmark.py', ['--timeout', '0'], 'argument --timeout: must be > 0, got 0'),
    ('tools/check_torch_parity.py', ['--official_repo', '{absent}', '--config', '{cfg}'],
     'argument --official_repo: folder not found: {absent}'),
    ('tools/convert_torch_checkpoint.py', ['--src', '{absent}', '--config', '{cfg}', '--out', 'x.pdparams'],
     'argument --src: file not found: {absent}'),
    ('tools/model_summary.py', ['--config', '{cfg}', '--input_size', '0', '64'],
     'argument --input_size/--size: must be >= 1, got 0'),
    ('tools/make_mini_dataset.py', ['--out', '{dir}', '--num_train', '0'], 'argument --num_train: must be >= 1, got 0'),
    ('tools/data/prepare_custom.py', ['--out', '{dir}', '--ignore_index', '300'],
     'argument --ignore_index: must be <= 255, got 300'),
    ('tools/data/prepare_custom.py', ['--out', '{dir}', '--val_fraction', '1'],
     'argument --val_fraction: must be in [0, 1), got 1'),
    ('tools/data/prepare_custom.py', ['--out', '{dir}', '--list', '{absent}'], 'argument --list: file not found: {absent}'),
    ('tools/data/prepare_cityscapes.py', ['--root', '{absent}'], 'argument --root: folder not found: {absent}'),
    ('tools/data/prepare_pascal_context.py', ['--voc_root', '{dir}', '--json', '{absent}', '--out', '{dir}'],
     'argument --json: file not found: {absent}'),
]


@pytest.mark.parametrize('script, argv, message', CASES, ids=['{} {}'.format(c[0], c[1][-2]) for c in CASES])
def test_bad_argument_exits_2_with_the_message(files, capsys, monkeypatch, script, argv, message):
    module = load_script(script, monkeypatch)
    with pytest.raises(SystemExit) as exit_info:
        module.parse_args([a.format(**files) for a in argv])
    assert exit_info.value.code == 2
    assert message.format(**files) in capsys.readouterr().err


def test_train_iters_minus_five_exits_2_before_any_work(files, tmp_path):
    proc = subprocess.run([sys.executable, os.path.join(REPO, 'train.py'), '--config', files['cfg'],
                           '--iters', '-5', '--save_dir', str(tmp_path / 'out')],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 2
    assert 'train.py: error: argument --iters: must be >= 1, got -5' in proc.stderr
    assert not (tmp_path / 'out').exists()
