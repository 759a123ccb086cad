"""A rank that dies ends the whole launch with a non-zero exit code, not a hang.

paddle.distributed.launch watches its workers: when one exits non-zero (here
SIGKILL, as the OOM killer would) it stops the others and exits non-zero
itself. The surviving rank would otherwise wait in its next all_reduce.
"""
import os
import re
import signal

import pytest

from tests.core.train_helpers import write_config
from tests.distributed.launch_helpers import (REPO, ended, kill_machine, launch_command,
                                              start, wait_for, worker_logs, workers)

pytestmark = pytest.mark.distributed

START_TIMEOUT = 180   # until both ranks are training (slow on 2 busy cores)
EXIT_TIMEOUT = 60     # from the kill until the launcher has exited


def test_killing_one_worker_ends_the_launch_non_zero(tmp_path):
    config = write_config(tmp_path)
    log_dir = tmp_path / 'launch_logs'
    command = launch_command(os.path.join(REPO, 'train.py'), [
        '--config', config, '--device', 'cpu', '--iters', 100000, '--log_iters', 1,
        '--save_interval', 100000, '--save_dir', tmp_path / 'out', '--seed', 0], log_dir)
    output_path = tmp_path / 'launcher.out'
    launcher = start(command, output_path)
    try:
        # Rank 0 logs an iteration only after the all_reduce with rank 1: both are training.
        wait_for(lambda: launcher.poll() is not None or
                 '[TRAIN]' in worker_logs(str(log_dir)).get(0, ''), START_TIMEOUT,
                 'the first [TRAIN] line')
        assert launcher.poll() is None, output_path.read_text()[-3000:]
        ranks = workers(launcher.pid)
        assert sorted(ranks) == [0, 1]
        os.kill(ranks[1], signal.SIGKILL)
        launcher.wait(timeout=EXIT_TIMEOUT)
        assert launcher.returncode != 0
        # Which failure the launcher sees first is a race: rank 1's SIGKILL ('rank 1
        # status failed'), or rank 0 aborting on the broken connection ('Exit code -6').
        text = output_path.read_text()
        assert re.search(r'rank \d status failed|Exit code -?[1-9]', text), text[-3000:]
        # The surviving rank was stopped too, not left waiting in a collective.
        wait_for(lambda: ended(ranks[0]), 10, 'rank 0 to end')
    finally:
        kill_machine(launcher)
