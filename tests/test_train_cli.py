"""train.py command line: a real run in a subprocess, bad input in-process."""
import os
import re
import subprocess
import sys

import pytest

import train as train_cli
from tests.core.train_helpers import write_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_cli_trains_and_writes_checkpoint(tmp_path):
    config = write_config(tmp_path)
    out = tmp_path / 'out'
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, 'train.py'), '--config', config, '--save_dir', str(out),
         '--iters', '2', '--batch_size', '2', '--learning_rate', '0.005', '--save_interval', '2',
         '--log_iters', '1', '--seed', '5', '--num_workers', '0', '--keep_checkpoint_max', '2',
         '--device', 'cpu', '--precision', 'fp32', '--opts', 'loss.coef=[1,0.3,0.1]'],
        capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'iter: 2/2' in proc.stdout and 'lr: 0.005,' in proc.stdout
    assert sorted(os.listdir(out / 'iter_2')) == [
        'model.pdopt', 'model.pdparams', 'train_state.pkl']
    assert 'iter: 1/2' in (out / 'train.log').read_text()


@pytest.mark.parametrize('extra, message', [
    (['--opts', 'itres=5'], "unknown top-level config key 'itres'"),
    (['--device', 'gpu'], 'paddle is not compiled with CUDA'),
    (['--precision', 'bf16'], '--precision bf16 needs --device gpu'),
])
def test_bad_input_exits_non_zero_with_a_clear_message(tmp_path, capsys, extra, message):
    config = write_config(tmp_path)
    argv = ['--config', config, '--save_dir', str(tmp_path / 'out'), '--iters', '1']
    argv += [a.format(tmp=tmp_path) for a in extra]
    assert train_cli.main(argv) == 1
    assert re.search(message, capsys.readouterr().err)
    assert not os.path.exists(tmp_path / 'out' / 'iter_1')


def test_missing_resume_dir_is_rejected_by_the_parser(tmp_path, capsys):
    config = write_config(tmp_path)
    with pytest.raises(SystemExit) as e:
        train_cli.parse_args(['--config', config, '--resume_model', str(tmp_path / 'nowhere' / 'iter_8')])
    assert e.value.code == 2
    assert re.search('argument --resume_model: folder not found: .*nowhere/iter_8', capsys.readouterr().err)


def test_invalid_choice_is_rejected_by_the_parser(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        train_cli.parse_args(['--config', write_config(tmp_path), '--amp_level', 'O3'])
    assert e.value.code == 2
    assert "invalid choice: 'O3'" in capsys.readouterr().err


def test_full_disk_at_a_checkpoint_exits_1_naming_the_intact_one(tmp_path, capsys, monkeypatch):
    import errno

    import paddle

    from paddleseg_fastfcn.core import checkpoint as ckpt
    config = write_config(tmp_path)
    out = tmp_path / 'out'
    real_save, calls = paddle.save, []

    def disk_full_after_iter_1(obj, path, *args, **kwargs):
        calls.append(path)
        if 'iter_2' in path:
            with open(path, 'wb') as f:
                f.write(b'partial')
            raise OSError(errno.ENOSPC, 'No space left on device')
        return real_save(obj, path, *args, **kwargs)
    monkeypatch.setattr(ckpt.paddle, 'save', disk_full_after_iter_1)
    argv = ['--config', config, '--save_dir', str(out), '--iters', '3', '--batch_size', '2',
            '--save_interval', '1', '--log_iters', '1', '--seed', '1']
    assert train_cli.main(argv) == 1
    err = capsys.readouterr().err
    assert re.search(r'^error: cannot write checkpoint iter_2 to .*iter_2: No space left on device \(ENOSPC\); '
                     r'needs about [\d.]+ MB; free on that file system: .*; the last complete checkpoint is '
                     r'intact: .*out/iter_1$', err.strip()), err
    assert 'Traceback' not in err
    assert sorted(os.listdir(out)) == ['iter_1', 'train.log']  # no temporaries, no iter_3
    assert 'iter: 2/3' in (out / 'train.log').read_text()


def test_unwritable_save_dir_fails_before_training(tmp_path, capsys):
    config = write_config(tmp_path)
    (tmp_path / 'file').write_text('')
    argv = ['--config', config, '--save_dir', str(tmp_path / 'file' / 'out'), '--iters', '1']
    assert train_cli.main(argv) == 1
    assert re.search(r'error: cannot write the save_dir lock to .*file/out/\.lock: Not a directory \(ENOTDIR\)',
                     capsys.readouterr().err)


def test_a_second_run_on_the_same_save_dir_is_refused_naming_the_first(tmp_path, capsys):
    import socket

    from paddleseg_fastfcn.core.run_lock import RunLock
    config = write_config(tmp_path)
    out = tmp_path / 'out'
    with RunLock(str(out)):  # the first run, still going
        assert train_cli.main(['--config', config, '--save_dir', str(out), '--iters', '1']) == 1
    err = capsys.readouterr().err
    assert re.search(r'^error: SaveDirLocked: save_dir .*out is in use by another training run: pid {} on host '
                     r'{} since .* UTC \(lock file .*out/\.lock\); wait for it to end, stop it, or choose '
                     r'another --save_dir$'.format(os.getpid(), re.escape(socket.gethostname())), err.strip()), err
    assert os.listdir(out) == []  # the refused run wrote nothing (the first run's lock is released)
