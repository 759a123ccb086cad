import errno
import os
import pickle
import random
import re

import numpy as np
import paddle
import pytest

from paddleseg_fastfcn.core import checkpoint as ckpt
from paddleseg_fastfcn.core.train_state import TrainState
from paddleseg_fastfcn.utils.atomic_write import DiskWriteError
from paddleseg_fastfcn.utils.weight_files import read_paddle_file
from tests.conftest import fill_filesystem


def _state(iteration, seed=0):
    return TrainState(seed=seed, total_iters=10, iteration=iteration)


def _model_and_optimizer():
    # Optimizer state is keyed by generated parameter names: build each copy in a
    # fresh name scope, as core.train does.
    with paddle.utils.unique_name.guard():
        return _build_and_step()


def _build_and_step():
    model = paddle.nn.Sequential(paddle.nn.Linear(4, 3), paddle.nn.BatchNorm1D(3))
    scheduler = paddle.optimizer.lr.PolynomialDecay(0.1, decay_steps=10, power=0.9)
    optimizer = paddle.optimizer.Momentum(learning_rate=scheduler, momentum=0.9,
                                          parameters=model.parameters())
    model(paddle.rand([5, 4])).mean().backward()
    optimizer.step()
    optimizer.clear_grad()
    scheduler.step()
    return model, optimizer


def test_roundtrip_restores_model_optimizer_scheduler_and_rng(tmp_path):
    model, optimizer = _model_and_optimizer()
    random.seed(1), np.random.seed(2), paddle.seed(3)
    path = ckpt.save_checkpoint(str(tmp_path), 'iter_1', model, optimizer, _state(1, seed=9))
    expected_draws = (random.random(), np.random.rand(), float(paddle.rand([1])))

    fresh, fresh_opt = _model_and_optimizer()
    state = ckpt.load_checkpoint(path, fresh, fresh_opt)
    assert state['iteration'] == 1 and state['seed'] == 9
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[key].numpy(), value.numpy())
    assert fresh_opt.get_lr() == optimizer.get_lr()
    ckpt.set_rng_states(state['rng'])
    assert (random.random(), np.random.rand(), float(paddle.rand([1]))) == expected_draws


def _raise_on_optimizer_file(real_save):
    def save(obj, path, *args, **kwargs):
        if path.endswith(ckpt.OPTIMIZER_FILE):
            raise OSError('disk full (injected)')
        return real_save(obj, path, *args, **kwargs)
    return save


def test_failure_while_saving_leaves_previous_checkpoints_intact(tmp_path, monkeypatch):
    model, optimizer = _model_and_optimizer()
    save_dir = str(tmp_path)
    ckpt.save_checkpoint(save_dir, 'iter_1', model, optimizer, _state(1))
    before = {f: open(os.path.join(save_dir, 'iter_1', f), 'rb').read()
              for f in os.listdir(os.path.join(save_dir, 'iter_1'))}

    monkeypatch.setattr(ckpt.paddle, 'save', _raise_on_optimizer_file(paddle.save))
    with pytest.raises(OSError, match='injected'):
        ckpt.save_checkpoint(save_dir, 'iter_2', model, optimizer, _state(2))
    # Re-saving an existing name fails the same way and must not touch it either.
    with pytest.raises(OSError, match='injected'):
        ckpt.save_checkpoint(save_dir, 'iter_1', model, optimizer, _state(99))

    assert sorted(os.listdir(save_dir)) == ['iter_1']  # no iter_2, no temp dirs left
    after = {f: open(os.path.join(save_dir, 'iter_1', f), 'rb').read()
             for f in os.listdir(os.path.join(save_dir, 'iter_1'))}
    assert after == before
    monkeypatch.undo()
    fresh, fresh_opt = _model_and_optimizer()
    state = ckpt.load_checkpoint(os.path.join(save_dir, 'iter_1'), fresh, fresh_opt)
    assert state['iteration'] == 1


def _contents(folder):
    return {f: open(os.path.join(folder, f), 'rb').read() for f in os.listdir(folder)}


def _with_iter_1(save_dir):
    """Save a complete iter_1 in ``save_dir``; returns (model, optimizer, iter_1's file bytes)."""
    model, optimizer = _model_and_optimizer()
    ckpt.save_checkpoint(save_dir, 'iter_1', model, optimizer, _state(1))
    return model, optimizer, _contents(os.path.join(save_dir, 'iter_1'))


def _assert_iter_1_survives(save_dir, before):
    assert sorted(n for n in os.listdir(save_dir) if n != 'filler') == ['iter_1']  # no temporaries
    assert _contents(os.path.join(save_dir, 'iter_1')) == before
    fresh, fresh_opt = _model_and_optimizer()
    assert ckpt.load_checkpoint(os.path.join(save_dir, 'iter_1'), fresh, fresh_opt)['iteration'] == 1


def test_enospc_mid_write_names_the_space_and_the_intact_checkpoint(tmp_path, monkeypatch):
    save_dir = str(tmp_path)
    model, optimizer, before = _with_iter_1(save_dir)
    real_save = paddle.save

    def half_written(obj, path, *args, **kwargs):
        if path.endswith(ckpt.OPTIMIZER_FILE):
            with open(path, 'wb') as f:
                f.write(b'partial')
            raise OSError(errno.ENOSPC, 'No space left on device')
        return real_save(obj, path, *args, **kwargs)
    monkeypatch.setattr(ckpt.paddle, 'save', half_written)
    needed = ckpt.state_nbytes(model.state_dict()) + ckpt.state_nbytes(optimizer.state_dict())
    assert needed >= (4 * 3 + 3 + 4 * 3) * 4  # the weights alone, float32
    with pytest.raises(DiskWriteError) as e:
        ckpt.save_checkpoint(save_dir, 'iter_2', model, optimizer, _state(2))
    message = str(e.value)
    assert 'cannot write checkpoint iter_2 to {}'.format(os.path.join(save_dir, 'iter_2')) in message
    assert 'No space left on device (ENOSPC)' in message and 'needs about ' in message
    assert 'free on that file system: ' in message
    assert 'the last complete checkpoint is intact: {}'.format(os.path.join(save_dir, 'iter_1')) in message
    monkeypatch.undo()
    _assert_iter_1_survives(save_dir, before)


def _iter_1_on_a_small_filesystem(small_filesystem):
    """(save_dir on a 2 MB tmpfs holding a complete iter_1, model, optimizer, iter_1's bytes)."""
    save_dir = small_filesystem('2m')
    return (save_dir,) + _with_iter_1(save_dir)


def test_a_really_full_filesystem_keeps_the_last_checkpoint(small_filesystem):
    save_dir, model, optimizer, before = _iter_1_on_a_small_filesystem(small_filesystem)
    fill_filesystem(save_dir, leave=0)
    for name in ('iter_2', 'iter_1'):  # a new checkpoint, and overwriting the complete one
        with pytest.raises(DiskWriteError, match=r'checkpoint {}.*\(ENOSPC\).*free on that file system: 0 B.*'
                                                 r'intact: .*iter_1'.format(name)):
            ckpt.save_checkpoint(save_dir, name, model, optimizer, _state(2))
    _assert_iter_1_survives(save_dir, before)


def test_a_read_only_save_dir(small_filesystem):
    save_dir, model, optimizer, before = _iter_1_on_a_small_filesystem(small_filesystem)
    small_filesystem.read_only(save_dir)
    with pytest.raises(DiskWriteError, match=r'checkpoint iter_2.*\(EROFS\).*mounted read-only.*intact: .*iter_1'):
        ckpt.save_checkpoint(save_dir, 'iter_2', model, optimizer, _state(2))
    _assert_iter_1_survives(save_dir, before)


def test_overwriting_a_checkpoint_replaces_it_whole(tmp_path):
    model, optimizer = _model_and_optimizer()
    ckpt.save_checkpoint(str(tmp_path), 'best_model', model, optimizer, _state(1),
                         score={'miou': 0.1})
    ckpt.save_checkpoint(str(tmp_path), 'best_model', model, optimizer, _state(2),
                         score={'miou': 0.2})
    assert sorted(os.listdir(tmp_path)) == ['best_model']
    assert '0.2' in open(os.path.join(tmp_path, 'best_model', ckpt.SCORE_FILE)).read()


def test_prune_keeps_the_newest(tmp_path):
    model, optimizer = _model_and_optimizer()
    for it in (2, 10, 4, 6):
        ckpt.save_checkpoint(str(tmp_path), 'iter_{}'.format(it), model, optimizer, _state(it))
    os.makedirs(tmp_path / 'best_model')
    ckpt.prune_checkpoints(str(tmp_path), 2)
    assert sorted(os.listdir(tmp_path)) == ['best_model', 'iter_10', 'iter_6']


def test_a_failed_rename_while_overwriting_puts_the_old_checkpoint_back(tmp_path, monkeypatch):
    save_dir = str(tmp_path)
    model, optimizer, before = _with_iter_1(save_dir)
    real_replace = os.replace

    def replace(src, dst):
        if os.path.basename(src).startswith(ckpt.TMP_PREFIX + 'iter_1'):
            raise OSError(errno.EIO, 'Input/output error')
        return real_replace(src, dst)
    monkeypatch.setattr(ckpt.os, 'replace', replace)
    with pytest.raises(DiskWriteError, match=r'\(EIO\).*intact: .*iter_1'):
        ckpt.save_checkpoint(save_dir, 'iter_1', model, optimizer, _state(5))
    monkeypatch.undo()
    _assert_iter_1_survives(save_dir, before)


def test_train_state_is_plain_and_an_old_rng_object_is_refused_with_advice(tmp_path):
    model, optimizer = _model_and_optimizer()
    path = ckpt.save_checkpoint(str(tmp_path), 'iter_1', model, optimizer, _state(1))
    state = read_paddle_file(os.path.join(path, ckpt.STATE_FILE), 'train state')
    assert all(isinstance(s, tuple) for s in state['rng']['paddle'])
    # What earlier versions wrote: paddle.get_rng_state()'s C++ objects, pickled as a call.
    with open(os.path.join(path, ckpt.STATE_FILE), 'wb') as f:
        pickle.dump({'iter': 1, 'rng': {'paddle': paddle.get_rng_state()}}, f)
    with pytest.raises(ValueError, match='older version.*GeneratorState'):
        ckpt.load_checkpoint(path, *_model_and_optimizer())


def test_find_latest_skips_incomplete_and_temporary_directories(tmp_path):
    model, optimizer = _model_and_optimizer()
    for it in (2, 10, 4):
        ckpt.save_checkpoint(str(tmp_path), 'iter_{}'.format(it), model, optimizer, _state(it))
    os.remove(os.path.join(tmp_path, 'iter_10', ckpt.OPTIMIZER_FILE))  # damaged / partly copied
    os.makedirs(tmp_path / '.tmp_iter_12_4242')  # a save interrupted by a kill
    os.makedirs(tmp_path / 'best_model')
    lines = []
    assert ckpt.find_latest_checkpoint(str(tmp_path), lines.append) == (
        4, os.path.join(str(tmp_path), 'iter_4'))
    assert len(lines) == 2
    assert '.tmp_iter_12_4242' in lines[0] and 'interrupted save' in lines[0]
    assert 'iter_10' in lines[1] and 'missing model.pdopt' in lines[1]


def test_find_latest_without_checkpoints_is_none(tmp_path):
    lines = []
    assert ckpt.find_latest_checkpoint(str(tmp_path / 'not_created'), lines.append) is None
    os.makedirs(tmp_path / 'iter_3')  # empty: not a checkpoint
    assert ckpt.find_latest_checkpoint(str(tmp_path), lines.append) is None
    assert len(lines) == 1 and 'iter_3' in lines[0]


def test_a_non_finite_state_is_never_written(tmp_path):
    model, optimizer = _model_and_optimizer()
    ckpt.save_checkpoint(str(tmp_path), 'iter_1', model, optimizer, _state(1))
    weight = model[0].weight
    weight.set_value(paddle.full_like(weight, float('nan')))
    with pytest.raises(FloatingPointError, match=r'refusing to write checkpoint iter_2: non-finite values '
                                                 r'in 0\.weight; the checkpoints in .* are unchanged'):
        ckpt.save_checkpoint(str(tmp_path), 'iter_2', model, optimizer, _state(2))
    assert sorted(os.listdir(tmp_path)) == ['iter_1']


def test_resume_refuses_a_non_finite_checkpoint_naming_it(tmp_path):
    model, optimizer = _model_and_optimizer()
    path = ckpt.save_checkpoint(str(tmp_path), 'iter_1', model, optimizer, _state(1))
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    state['1._mean'][1] = np.inf  # a BatchNorm running mean
    paddle.save(state, os.path.join(path, ckpt.MODEL_FILE))
    with pytest.raises(ValueError, match=r'--resume_model: .*iter_1 holds non-finite values \(NaN / inf\) in '
                                         r'model\.pdparams: 1\._mean; training cannot continue from it'):
        ckpt.load_checkpoint(path, *_model_and_optimizer())


def test_prune_counts_only_complete_checkpoints(tmp_path):
    model, optimizer = _model_and_optimizer()
    for it in (2, 4, 6):
        ckpt.save_checkpoint(str(tmp_path), 'iter_{}'.format(it), model, optimizer, _state(it))
    os.makedirs(tmp_path / 'iter_8')  # newer but incomplete (a partial copy)
    ckpt.prune_checkpoints(str(tmp_path), 2)
    assert sorted(os.listdir(tmp_path)) == ['iter_4', 'iter_6', 'iter_8']


def test_a_failed_deletion_while_pruning_is_a_warning(tmp_path, undeletable):
    model, optimizer = _model_and_optimizer()
    for it in (2, 4):
        ckpt.save_checkpoint(str(tmp_path), 'iter_{}'.format(it), model, optimizer, _state(it))
    undeletable(tmp_path / 'iter_2' / 'stuck')
    warnings = []
    ckpt.prune_checkpoints(str(tmp_path), 1, warn=warnings.append)
    assert len(warnings) == 1, warnings
    assert re.search(r'could not delete the old checkpoint .*iter_2 \(.*Operation not permitted.*\); '
                     r'training goes on', warnings[0]), warnings[0]
    assert ckpt.find_latest_checkpoint(str(tmp_path), info=lambda line: None)[0] == 4


def test_temporaries_of_an_interrupted_save_are_removed(tmp_path):
    model, optimizer = _model_and_optimizer()
    ckpt.save_checkpoint(str(tmp_path), 'iter_1', model, optimizer, _state(1))
    os.makedirs(tmp_path / (ckpt.TMP_PREFIX + 'iter_2_4242'))
    (tmp_path / (ckpt.TMP_PREFIX + 'iter_2_4242') / ckpt.MODEL_FILE).write_bytes(b'partial')
    lines = []
    ckpt.remove_temporaries(str(tmp_path), lines.append)
    assert sorted(os.listdir(tmp_path)) == ['iter_1']
    assert len(lines) == 1 and 'the temporary directory of a checkpoint save that was interrupted' in lines[0]
