"""Two "machines" on this one: two launchers with --nnodes 2 and one rendezvous address.

Each launcher (a node, 1 CPU process) is started as on a separate machine,
with its own --log_dir and save_dir; they meet at --master 127.0.0.1:<port>.
``--rank`` fixes the node rank: without it, the node whose launcher starts the
rendezvous server gets node rank 0 and the others follow by pod name, and on
one machine both race for that server (docs/distributed.md). Global ranks and
the data order are then those of one node with 2 processes, and the model has
no batch statistics (group_norm_segmentor.py), so both runs must end with the
same parameters: measured bit-identical (max abs difference 0.0) on
paddlepaddle 3.3.1 CPU; the mean of two gradients is the same float sum in
either layout.
"""
import os
import re
import time

import numpy as np
import pytest

from paddleseg_fastfcn.core.train import train

from tests.distributed.group_norm_segmentor import write_group_norm_config
from tests.distributed.launch_helpers import (LAUNCH_TIMEOUT, free_port, kill_machine,
                                              launch_command, read_params, start, wait_for, worker_logs)

pytestmark = [pytest.mark.distributed, pytest.mark.slow]

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'group_norm_segmentor.py')
# From killing node 1 until node 0's launcher has exited. Measured: ~3 s (gloo sees the
# closed connection in its next all_reduce); the bound leaves room for 2 busy cores.
EXIT_BOUND = 120


def _params(save_dir, name):
    return read_params(os.path.join(save_dir, name))


def _max_abs_difference(a, b):
    assert set(a) == set(b)
    return max(float(np.abs(a[key] - b[key]).max()) for key in a)


def _start_nodes(tmp_path, tag, args_of_node):
    """Start the two node launchers; returns [(process, log_dir, output_path)] by node rank."""
    master = '127.0.0.1:{}'.format(free_port())
    nodes = []
    for node in (0, 1):
        log_dir = tmp_path / '{}_node{}_logs'.format(tag, node)
        output = tmp_path / '{}_node{}.out'.format(tag, node)
        command = launch_command(SCRIPT, args_of_node(node), log_dir, nproc=1, master=master,
                                 launcher_args=['--nnodes', 2, '--rank', node])
        nodes.append((start(command, output), log_dir, output))
    return nodes


def _finish(nodes):
    """Wait for the launchers of ``nodes`` (as from ``_start_nodes``); assert all exited 0."""
    try:
        for process, log_dir, output in nodes:
            process.wait(timeout=LAUNCH_TIMEOUT)
        for process, log_dir, output in nodes:
            assert process.returncode == 0, _explain_node(process, log_dir, output)
    finally:
        for process, _, _ in nodes:
            kill_machine(process)


def _explain_node(process, log_dir, output):
    return 'node exit code {}\n{}\n{}'.format(process.returncode, output.read_text()[-3000:],
                                              worker_logs(str(log_dir)))


def _global_rank(log_dir):
    """PADDLE_TRAINER_ID the node's launcher gave its one worker (from envlog.0)."""
    text = (log_dir / 'envlog.0').read_text()
    return int(re.search(r'^PADDLE_TRAINER_ID=(\d+)$', text, re.M).group(1))


def test_two_nodes_train_checkpoint_on_rank_0_and_resume_like_one_node(tmp_path):
    config = write_group_norm_config(tmp_path)
    common = ['--config', config, '--device', 'cpu', '--iters', 4, '--save_interval', 2,
              '--log_iters', 1, '--seed', 5, '--batch_size', 1]

    # The reference, one node with 2 processes, runs alongside: start-up dominates.
    one_node = str(tmp_path / 'one_node')
    log_dir = tmp_path / 'one_node_logs'
    reference = (start(launch_command(SCRIPT, common + ['--save_dir', one_node], log_dir),
                       tmp_path / 'one_node.out'), log_dir, tmp_path / 'one_node.out')
    save_dirs = [str(tmp_path / 'node{}_out'.format(n)) for n in (0, 1)]
    nodes = _start_nodes(tmp_path, 'train', lambda n: common + ['--save_dir', save_dirs[n]])
    _finish(nodes + [reference])
    assert [_global_rank(log_dir) for _, log_dir, _ in nodes] == [0, 1]
    assert 'batch_size 1 per rank x 2 rank(s) = global batch 2' in worker_logs(
        str(nodes[0][1]))[0]
    # Rank 0 alone writes: node 1's save_dir is never created.
    assert sorted(os.listdir(save_dirs[0])) == ['iter_2', 'iter_4', 'train.log']
    assert not os.path.exists(save_dirs[1])

    want = _params(one_node, 'iter_4')
    got = _params(save_dirs[0], 'iter_4')
    assert _max_abs_difference(got, want) == 0.0
    assert _max_abs_difference(got, _params(one_node, 'iter_2')) > 1e-3  # it trained

    # Resume on both nodes from rank 0's iter_2 (on real machines: a shared file system).
    resumed = [str(tmp_path / 'node{}_resumed'.format(n)) for n in (0, 1)]
    nodes = _start_nodes(tmp_path, 'resume', lambda n: common + [
        '--save_dir', resumed[n], '--resume_model', os.path.join(save_dirs[0], 'iter_2')])
    _finish(nodes)
    assert 'resumed from' in worker_logs(str(nodes[0][1]))[0]
    assert sorted(os.listdir(resumed[0])) == ['iter_4', 'train.log']
    assert _max_abs_difference(_params(resumed[0], 'iter_4'), want) == 0.0


def test_a_killed_node_makes_the_other_end_non_zero_within_the_bound(tmp_path):
    config = write_group_norm_config(tmp_path)
    nodes = _start_nodes(tmp_path, 'kill', lambda n: [
        '--config', config, '--device', 'cpu', '--iters', 100000, '--log_iters', 1,
        '--save_interval', 100000, '--save_dir', tmp_path / 'node{}_out'.format(n),
        '--seed', 0])
    (survivor, survivor_logs, survivor_output), (victim, _, _) = nodes
    try:
        # Rank 0 logs an iteration only after its all_reduce with rank 1: both train.
        wait_for(lambda: survivor.poll() is not None or victim.poll() is not None or
                 '[TRAIN]' in worker_logs(str(survivor_logs)).get(0, ''), LAUNCH_TIMEOUT,
                 'the first [TRAIN] line of node 0')
        assert survivor.poll() is None and victim.poll() is None, _explain_node(*nodes[0])
        kill_machine(victim)  # its launcher and its worker, as a machine that goes down
        killed = time.monotonic()
        survivor.wait(timeout=EXIT_BOUND)
        elapsed = time.monotonic() - killed
    finally:
        for process, _, _ in nodes:
            kill_machine(process)
    print('node 0 exited {} s after node 1 was killed'.format(round(elapsed, 1)))
    assert survivor.returncode != 0, _explain_node(*nodes[0])
    assert elapsed < EXIT_BOUND
    # Rank 0 failed in a collective with the dead peer ('Connection reset by peer',
    # or gloo's 'TIMEOUT ... pair_rank = 1', depending on when the kill lands).
    log = worker_logs(str(survivor_logs))[0]
    assert re.search(r'gloo/transport/tcp/pair\.cc:\d+\] .*(reset|closed|TIMEOUT)', log), \
        log[-3000:]


def test_resume_auto_refuses_when_the_nodes_see_different_checkpoints(tmp_path):
    """Node-local save_dirs: node 0 has iter_2, node 1 has none; continuing would mix states."""
    config = write_group_norm_config(tmp_path)
    save_dirs = [str(tmp_path / 'node{}_out'.format(n)) for n in (0, 1)]
    train(config, save_dir=save_dirs[0], iters=2, batch_size=1, save_interval=2, seed=5)
    nodes = _start_nodes(tmp_path, 'auto', lambda n: [
        '--config', config, '--device', 'cpu', '--iters', 4, '--batch_size', 1, '--seed', 5,
        '--save_dir', save_dirs[n], '--resume_model', 'auto'])
    try:
        for process, _, _ in nodes:
            process.wait(timeout=LAUNCH_TIMEOUT)
    finally:
        for process, _, _ in nodes:
            kill_machine(process)
    for process, log_dir, output in nodes:
        assert process.returncode != 0, _explain_node(process, log_dir, output)
        log = worker_logs(str(log_dir))[0]
        assert ('--resume_model auto: the ranks found different newest checkpoints in '
                '{} (iterations 0 to 2; 0 = none)'.format(save_dirs[_global_rank(log_dir)])
                in log), log[-3000:]
    assert sorted(os.listdir(save_dirs[0])) == ['iter_2', 'train.log']  # nothing trained
