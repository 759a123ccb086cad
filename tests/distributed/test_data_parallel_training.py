"""2 processes x batch 1 under paddle.distributed.launch == 1 process x batch 2.

Same seed -> same initial weights (and DataParallel broadcasts rank 0's) and the
same per-epoch permutation: rank r takes positions r, r+2, ... of it, so the
two ranks' batch i together hold exactly the single process's batch i, with
the same per-sample augmentation seeds. The model uses GroupNorm (see
group_norm_segmentor.py): BatchNorm would normalise per-card batches
differently. Every image has the same number of labelled pixels, so the mean
of the per-rank losses is the loss of the pooled batch and DataParallel's
averaged gradient is the pooled gradient. What remains is float summation
order: tolerance 1e-5 (absolute) on losses and parameters (measured on
paddlepaddle 3.3.1 CPU: largest parameter gap 6e-8 after 4 iterations, while
iterations 3-4 move parameters by up to 5e-2).
"""
import os
import re

import numpy as np
import pytest

from paddleseg_fastfcn.core.train import train

from tests.distributed.group_norm_segmentor import write_group_norm_config
from tests.distributed.launch_helpers import explain, launch, read_params, worker_logs

pytestmark = pytest.mark.distributed

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'group_norm_segmentor.py')
TRAIN_LOSS = re.compile(r'\[TRAIN\] epoch: \d+, iter: (\d+)/4, loss: ([\d.]+)')
TOLERANCE = 1e-5


def _losses(save_dir):
    with open(os.path.join(save_dir, 'train.log')) as f:
        return {int(m.group(1)): float(m.group(2)) for m in TRAIN_LOSS.finditer(f.read())}


def _params(save_dir, name):
    return read_params(os.path.join(save_dir, name))


def test_two_ranks_match_one_process_with_the_global_batch_and_resume(tmp_path):
    config = write_group_norm_config(tmp_path)
    common = ['--config', config, '--device', 'cpu', '--iters', 4, '--save_interval', 2,
              '--log_iters', 1, '--seed', 5]

    single = str(tmp_path / 'single')
    # 6 images: 3 iterations per epoch in both runs, so iteration 4 starts epoch 2.
    train(config, save_dir=single, iters=4, batch_size=2, save_interval=2, log_iters=1,
          seed=5)

    dist = str(tmp_path / 'dist')
    log_dir = tmp_path / 'launch_logs'
    result = launch(SCRIPT, common + ['--batch_size', 1, '--save_dir', dist, '--do_eval'],
                    log_dir)
    assert result.returncode == 0, explain(result, log_dir)

    want, got = _losses(single), _losses(dist)
    assert sorted(got) == [1, 2, 3, 4]
    for iteration in got:
        assert got[iteration] == pytest.approx(want[iteration], abs=TOLERANCE), iteration
    assert got[4] < got[1]  # it learns: the comparison is not between frozen models
    single_params, dist_params = _params(single, 'iter_4'), _params(dist, 'iter_4')
    assert set(dist_params) == set(single_params)
    for key in single_params:
        np.testing.assert_allclose(dist_params[key], single_params[key], rtol=0,
                                   atol=TOLERANCE, err_msg=key)

    # Only rank 0 writes: one log, the checkpoints, best_model (evaluation ran on both ranks).
    assert sorted(os.listdir(dist)) == ['best_model', 'iter_2', 'iter_4', 'train.log']
    logs = worker_logs(str(log_dir))
    assert 'batch_size 1 per rank x 2 rank(s) = global batch 2' in logs[0]
    assert logs[0].count('[EVAL]') == 2
    assert '[TRAIN]' not in logs[1] and '[EVAL]' not in logs[1]

    # --resume_model under launch continues exactly where the 2-rank run was.
    resumed = str(tmp_path / 'resumed')
    log_dir = tmp_path / 'resume_logs'
    result = launch(SCRIPT, common + ['--batch_size', 1, '--save_dir', resumed,
                                      '--resume_model', os.path.join(dist, 'iter_2')], log_dir)
    assert result.returncode == 0, explain(result, log_dir)
    assert sorted(_losses(resumed)) == [3, 4]
    for iteration, loss in _losses(resumed).items():
        assert loss == pytest.approx(got[iteration], abs=1e-6)
    resumed_params = _params(resumed, 'iter_4')
    for key in dist_params:
        np.testing.assert_allclose(resumed_params[key], dist_params[key], rtol=0, atol=1e-7,
                                   err_msg=key)
