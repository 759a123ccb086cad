"""--resume_model continues exactly: N iterations + resume for N more == 2N straight."""
import os
import re

import numpy as np
import pytest

from paddleseg_fastfcn.core.train import train
from paddleseg_fastfcn.utils.weight_files import read_paddle_file

from tests.core.train_helpers import write_config


def _load(path, what='weights'):
    # The project's safe reader: arrays, LR-scheduler state and numbers as plain values.
    return read_paddle_file(path, what)


def test_resume_gives_the_same_parameters_as_a_straight_run(tmp_path):
    config = write_config(tmp_path)
    straight = str(tmp_path / 'straight')
    # 3 iterations per epoch: the resumed half crosses an epoch boundary.
    train(config, save_dir=straight, iters=4, save_interval=2, log_iters=1, seed=7,
          keep_checkpoint_max=5)
    resumed = str(tmp_path / 'resumed')
    result = train(config, save_dir=resumed, iters=4, save_interval=2, log_iters=1,
                   seed=123, resume_model=os.path.join(straight, 'iter_2'))
    assert result['iter'] == 4
    assert sorted(os.listdir(resumed)) == ['iter_4', 'train.log']

    want = _load(os.path.join(straight, 'iter_4', 'model.pdparams'))
    got = _load(os.path.join(resumed, 'iter_4', 'model.pdparams'))
    assert set(want) == set(got)
    moved = 0
    start = _load(os.path.join(straight, 'iter_2', 'model.pdparams'))
    for key in want:
        # Same ops in the same order on CPU: bit-identical is expected (tolerance 0).
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)
        moved += int(not np.array_equal(start[key], want[key]))
    assert moved > len(want) // 2  # iterations 3-4 really changed the model

    want_opt = _load(os.path.join(straight, 'iter_4', 'model.pdopt'), 'optimizer state')
    got_opt = _load(os.path.join(resumed, 'iter_4', 'model.pdopt'), 'optimizer state')
    assert want_opt['LR_Scheduler'] == got_opt['LR_Scheduler']
    for key, value in want_opt.items():
        if key != 'LR_Scheduler':
            np.testing.assert_array_equal(got_opt[key], value, err_msg=key)

    with open(os.path.join(resumed, 'train.log')) as f:
        log = f.read()
    assert 'resumed from' in log and 'iter: 3/4' in log and 'iter: 1/4' not in log


def test_resume_auto_starts_fresh_then_continues_from_the_newest_checkpoint(tmp_path):
    config = write_config(tmp_path)
    out = str(tmp_path / 'out')
    first = train(config, save_dir=out, iters=2, save_interval=1, log_iters=1, seed=3,
                  resume_model='auto')
    assert first['iter'] == 2
    os.remove(os.path.join(out, 'iter_2', 'model.pdparams'))  # iter_2 is incomplete now
    second = train(config, save_dir=out, iters=3, save_interval=1, log_iters=1, seed=3,
                   resume_model='auto')
    assert second['iter'] == 3
    with open(os.path.join(out, 'train.log')) as f:
        log = f.read()
    assert 'resume auto: no complete checkpoint in {}, starting from iteration 0'.format(
        out) in log
    assert 'resume auto: skipping {}'.format(os.path.join(out, 'iter_2')) in log
    assert 'resumed from {} at iteration 1'.format(os.path.join(out, 'iter_1')) in log
    assert log.count('iter: 2/3') == 1  # iteration 2 re-run from iter_1, then 3
    # Rerunning the finished job resumes at its end and trains nothing more.
    again = train(config, save_dir=out, iters=3, save_interval=1, log_iters=1, seed=3,
                  resume_model='auto')
    assert again['iter'] == 3 and again['loss'] is None
    with open(os.path.join(out, 'train.log')) as f:
        assert f.read().count('iter: 3/3') == 1


def test_resume_from_missing_directory_names_the_path(tmp_path):
    config = write_config(tmp_path)
    missing = str(tmp_path / 'no_such_run' / 'iter_10')
    with pytest.raises(FileNotFoundError, match='no_such_run/iter_10'):
        train(config, save_dir=str(tmp_path / 'out'), iters=2, resume_model=missing, seed=1)


def test_resume_from_incomplete_checkpoint_names_the_missing_file(tmp_path):
    config = write_config(tmp_path)
    out = str(tmp_path / 'out')
    train(config, save_dir=out, iters=1, save_interval=1, seed=1)
    os.remove(os.path.join(out, 'iter_1', 'model.pdopt'))
    with pytest.raises(FileNotFoundError, match=r'iter_1.*model\.pdopt'):
        train(config, save_dir=out, iters=2, resume_model=os.path.join(out, 'iter_1'), seed=1)


def test_resume_with_more_iters_continues_the_longer_lr_schedule(tmp_path):
    config = write_config(tmp_path, lr=0.01)
    out = str(tmp_path / 'out')
    train(config, save_dir=out, iters=1, save_interval=1, seed=1)
    train(config, save_dir=out, iters=3, save_interval=3, log_iters=1,
          resume_model=os.path.join(out, 'iter_1'))
    with open(os.path.join(out, 'train.log')) as f:
        lrs = [float(m) for m in re.findall(r'iter: [23]/3, .*?lr: ([\d.e-]+),', f.read())]
    # PolynomialDecay(0.01, decay_steps=3, power=0.9) at steps 1 and 2, not the
    # finished 1-iteration schedule's 0.
    expected = [0.01 * (1 - step / 3) ** 0.9 for step in (1, 2)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-5)


def test_resume_auto_refuses_a_non_finite_newest_checkpoint_rather_than_skipping_it(tmp_path):
    import paddle
    config = write_config(tmp_path)
    out = str(tmp_path / 'out')
    train(config, save_dir=out, iters=2, save_interval=1, log_iters=1, seed=3)
    weights = os.path.join(out, 'iter_2', 'model.pdparams')
    state = _load(weights)
    name = sorted(state)[0]
    state[name] = np.full_like(state[name], np.nan)
    paddle.save(state, weights)
    with pytest.raises(ValueError, match=r'--resume_model: .*iter_2 holds non-finite values \(NaN / inf\) in '
                                         r'model\.pdparams: {}'.format(re.escape(name))):
        train(config, save_dir=out, iters=3, save_interval=1, log_iters=1, seed=3, resume_model='auto')
    assert sorted(os.listdir(out)) == ['iter_1', 'iter_2', 'train.log']
