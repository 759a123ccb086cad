"""SIGTERM / SIGINT to a real train.py: it stops after the iteration, saves it, says how to resume."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.core.train_helpers import write_config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _train_cmd(config, out, iters, *extra):
    return [sys.executable, os.path.join(REPO, 'train.py'), '--config', config, '--save_dir', str(out),
            '--iters', str(iters), '--save_interval', '1000', '--log_iters', '1', '--seed', '1'] + list(extra)


@pytest.mark.parametrize('signum, status', [(signal.SIGTERM, 143), (signal.SIGINT, 130)],
                         ids=['SIGTERM', 'SIGINT'])
def test_a_stop_signal_mid_training_saves_the_iteration_and_says_how_to_resume(tmp_path, signum, status):
    config = write_config(tmp_path)
    out = tmp_path / 'out'
    with open(tmp_path / 'stderr.txt', 'w') as err_file:
        proc = subprocess.Popen(_train_cmd(config, out, 500), stdout=subprocess.PIPE, stderr=err_file,
                                text=True, cwd=REPO)
        deadline = time.time() + 300
        for line in proc.stdout:  # the log line of iteration 2: training is under way
            if 'iter: 2/500' in line or time.time() > deadline:
                break
        proc.send_signal(signum)
        proc.stdout.read()
        assert proc.wait(timeout=300) == status
    err = (tmp_path / 'stderr.txt').read_text()
    name = signal.Signals(signum).name
    match = re.search(r'training stopped by {} after iteration (\d+); the checkpoint (\S+) is complete: '
                      r'continue with --resume_model (\S+) \(or --save_dir \S+ --resume_model auto\)'.format(name),
                      err)
    assert match, err[-3000:]
    assert 'Traceback' not in err
    stopped_at = int(match.group(1))
    assert 2 <= stopped_at < 500 and match.group(2) == match.group(3) == str(out / 'iter_{}'.format(stopped_at))
    # Only the complete checkpoint and the log: no temporary folder, no lock file.
    assert sorted(os.listdir(out)) == ['iter_{}'.format(stopped_at), 'train.log']
    assert sorted(os.listdir(out / 'iter_{}'.format(stopped_at))) == ['model.pdopt', 'model.pdparams',
                                                                       'train_state.pkl']
    resumed = subprocess.run(_train_cmd(config, out, stopped_at + 1, '--resume_model', 'auto'),
                             capture_output=True, text=True, timeout=300, cwd=REPO)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'resumed from {} at iteration {}'.format(match.group(2), stopped_at) in resumed.stdout
    assert 'iter: {0}/{0}'.format(stopped_at + 1) in resumed.stdout


def test_a_repeated_sigterm_waits_for_the_checkpoint_and_a_second_sigint_stops_at_once(capsys):
    from paddleseg_fastfcn.core.stop_signals import StopNow, StopRequest
    before = signal.getsignal(signal.SIGTERM)
    with StopRequest() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.signum == signal.SIGTERM
        os.kill(os.getpid(), signal.SIGTERM)  # a supervisor resending it: still the same request
        assert stop.signum == signal.SIGTERM
        with pytest.raises(StopNow, match='stopped at once by a second SIGINT'):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is before  # restored
    assert capsys.readouterr().err.count('received SIGTERM: stopping after the current iteration') == 1
