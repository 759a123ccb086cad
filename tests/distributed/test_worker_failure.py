"""A rank that dies ends the whole launch with a non-zero exit code, not a hang.

paddle.distributed.launch watches its workers: when one exits non-zero (here
SIGKILL, as the OOM killer would) it stops the others and exits non-zero
itself. The surviving rank would otherwise wait in its next all_reduce.
"""
import os
import re
import signal
import subprocess
import time

import pytest

from tests.core.train_helpers import write_config
from tests.distributed.launch_helpers import REPO, launch_command, launch_env, worker_logs

pytestmark = pytest.mark.distributed

START_TIMEOUT = 180   # until both ranks are training (slow on 2 busy cores)
EXIT_TIMEOUT = 60     # from the kill until the launcher has exited


def _rank_of(pid):
    with open('/proc/{}/environ'.format(pid), 'rb') as f:
        env = dict(item.split(b'=', 1) for item in f.read().split(b'\0') if b'=' in item)
    return int(env.get(b'PADDLE_TRAINER_ID', b'-1'))


def _workers(launcher_pid):
    """{rank: pid} of the launcher's child processes."""
    with open('/proc/{0}/task/{0}/children'.format(launcher_pid)) as f:
        pids = [int(p) for p in f.read().split()]
    return {_rank_of(pid): pid for pid in pids}


def _wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError('timed out after {} s waiting for {}'.format(timeout, what))


def test_killing_one_worker_ends_the_launch_non_zero(tmp_path):
    config = write_config(tmp_path)
    log_dir = tmp_path / 'launch_logs'
    command = launch_command(os.path.join(REPO, 'train.py'), [
        '--config', config, '--device', 'cpu', '--iters', 100000, '--log_iters', 1,
        '--save_interval', 100000, '--save_dir', tmp_path / 'out', '--seed', 0], log_dir)
    # A file, not a pipe: nobody reads a pipe while we wait, and a full one would block.
    output_path = tmp_path / 'launcher.out'
    output_file = open(output_path, 'w')
    launcher = subprocess.Popen(command, cwd=REPO, env=launch_env(), stdout=output_file,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # Rank 0 logs an iteration only after the all_reduce with rank 1: both are training.
        _wait_for(lambda: launcher.poll() is not None or
                  '[TRAIN]' in worker_logs(str(log_dir)).get(0, ''), START_TIMEOUT,
                  'the first [TRAIN] line')
        assert launcher.poll() is None, output_path.read_text()[-3000:]
        workers = _workers(launcher.pid)
        assert sorted(workers) == [0, 1]
        os.kill(workers[1], signal.SIGKILL)
        launcher.wait(timeout=EXIT_TIMEOUT)
        assert launcher.returncode != 0
        # Which failure the launcher sees first is a race: rank 1's SIGKILL ('rank 1
        # status failed'), or rank 0 aborting on the broken connection ('Exit code -6').
        text = output_path.read_text()
        assert re.search(r'rank \d status failed|Exit code -?[1-9]', text), text[-3000:]
        # The surviving rank was stopped too, not left waiting in a collective.
        _wait_for(lambda: not os.path.exists('/proc/{}'.format(workers[0])) or
                  _zombie(workers[0]), 10, 'rank 0 to end')
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)  # our own session only
            launcher.wait()
        output_file.close()


def _zombie(pid):
    try:
        with open('/proc/{}/stat'.format(pid)) as f:
            return f.read().split(')')[-1].split()[0] == 'Z'
    except FileNotFoundError:
        return True
