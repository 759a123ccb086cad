"""A job that loses a worker restarts with ``--resume_model auto`` and ends as if never stopped.

paddle.distributed.launch 3.3.1 restarts a failed job itself only in its etcd
elastic mode (``--master etcd://...``, test_elastic_restart.py); with the HTTP
rendezvous used here ``--max_restart`` has no effect and the launch exits
non-zero. The restart is then the supervisor's rerun of the same command
(docs/distributed.md), which this test performs: run 1 is killed (``kill -9`` of rank 1) once a
checkpoint exists, run 2 is the same command and continues from the newest
complete checkpoint. Checkpoints hold parameters, optimizer, LR schedule,
iteration and RNG states, and the data order is a function of (seed,
iteration), so the result must be bit-identical to an uninterrupted run
(measured on paddlepaddle 3.3.1 CPU: max abs parameter difference 0.0).
"""
import os
import re
import signal

import numpy as np
import pytest

from tests.distributed.group_norm_segmentor import write_group_norm_config
from tests.distributed.launch_helpers import (LAUNCH_TIMEOUT, explain, kill_machine, launch,
                                              launch_command, read_params, start, wait_for, workers)

pytestmark = [pytest.mark.distributed, pytest.mark.slow]

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'group_norm_segmentor.py')
ITERS, SAVE_INTERVAL = 200, 40


def train_args(config, save_dir, iters=ITERS):
    """train.py arguments of the resumable job (``--resume_model auto``) writing ``save_dir``."""
    return ['--config', config, '--device', 'cpu', '--iters', iters, '--save_interval',
            SAVE_INTERVAL, '--keep_checkpoint_max', 0, '--log_iters', 10, '--seed', 3,
            '--batch_size', 1, '--save_dir', save_dir, '--resume_model', 'auto']


def test_a_killed_worker_restarts_from_the_last_checkpoint_bit_identically(tmp_path):
    config = write_group_norm_config(tmp_path)
    straight, job = str(tmp_path / 'straight'), str(tmp_path / 'job')
    # The uninterrupted run and the run to kill start together: the launches' start-up
    # (importing paddle) dominates, so this halves the test's time.
    uninterrupted = start(launch_command(SCRIPT, train_args(config, straight),
                                         tmp_path / 'straight_logs'), tmp_path / 'straight.out')
    launcher = start(launch_command(SCRIPT, train_args(config, job), tmp_path / 'killed_logs'),
                     tmp_path / 'killed.out')
    try:
        kill_worker_after_first_checkpoint(launcher, job, tmp_path / 'killed.out')
        launcher.wait(timeout=60)
        uninterrupted.wait(timeout=LAUNCH_TIMEOUT)
    finally:
        kill_machine(launcher)
        kill_machine(uninterrupted)
    assert uninterrupted.returncode == 0, (tmp_path / 'straight.out').read_text()[-3000:]
    assert launcher.returncode != 0
    assert not os.path.isdir(os.path.join(job, 'iter_{}'.format(ITERS)))  # killed mid-run

    restarted_logs = tmp_path / 'restarted_logs'
    result = launch(SCRIPT, train_args(config, job), restarted_logs)
    assert result.returncode == 0, explain(result, restarted_logs)
    check_resumed_like_uninterrupted(job, straight)


def kill_worker_after_first_checkpoint(launcher, job, output_path):
    """SIGKILL rank 1 of ``launcher`` once ``job/iter_<SAVE_INTERVAL>`` exists, mid-run."""
    first = os.path.join(job, 'iter_{}'.format(SAVE_INTERVAL))
    wait_for(lambda: launcher.poll() is not None or os.path.isdir(first), LAUNCH_TIMEOUT, first)
    assert launcher.poll() is None, output_path.read_text()[-3000:]
    os.kill(workers(launcher.pid)[1], signal.SIGKILL)


def check_resumed_like_uninterrupted(job, straight, iters=ITERS):
    """Assert that ``job`` resumed after a kill and ended as the uninterrupted ``straight`` run.

    Args:
        job (str): save_dir of the job that was killed once and continued with ``auto``.
        straight (str): save_dir of the uninterrupted run of the same command.
        iters (int): the runs' ``--iters``.
    """
    with open(os.path.join(job, 'train.log')) as f:
        log = f.read()
    assert 'resume auto: no complete checkpoint in {}'.format(job) in log  # run 1
    resumed_at = int(re.search(r'resumed from \S+iter_(\d+) at iteration \d+', log).group(1))
    assert SAVE_INTERVAL <= resumed_at < iters
    print('restarted from iteration {}'.format(resumed_at))

    want = read_params(os.path.join(straight, 'iter_{}'.format(iters)))
    got = read_params(os.path.join(job, 'iter_{}'.format(iters)))
    assert set(got) == set(want)
    for key in want:
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    # The resumed stretch changed the model: the comparison is not between frozen models.
    at_restart = read_params(os.path.join(straight, 'iter_{}'.format(resumed_at)))
    assert any(not np.array_equal(at_restart[k], want[k]) for k in want)
