"""Atomic training checkpoints: ``save_dir/iter_N/`` and ``save_dir/best_model/``.

A checkpoint directory holds
  model.pdparams   model state_dict (paddle.save)
  model.pdopt      optimizer state_dict, including the LR scheduler's state
  train_state.pkl  ``TrainState.to_dict()`` (iteration, epoch, sampler seed, best
                   score, the AMP GradScaler's state) and the RNG states of python
                   random / numpy / paddle under ``'rng'``, all plain values
All three are read back by ``utils.weight_files.read_paddle_file``, which runs no
code a file names (they may come from someone else).
and appears only complete: files are written into a hidden temporary directory
in save_dir, fsync'ed, and the directory is then renamed into place. A crash or
an exception while saving leaves the previous checkpoints untouched; a write the
disk refuses (full, read-only) becomes a ``DiskWriteError`` saying how much space
the checkpoint needs, how much is free and which checkpoint is still complete.
A temporary directory left by a killed process is removed by the next run
(``remove_temporaries``, under the save_dir's ``core.run_lock``). A state holding a
NaN or an infinity is never written, and never resumed from.
"""
import json
import os
import pickle
import random
import shutil

import numpy as np
import paddle

from paddleseg_fastfcn.core.finite_state import describe, non_finite_names
from paddleseg_fastfcn.utils.atomic_write import write_failure
from paddleseg_fastfcn.utils.download import fsync_dir
from paddleseg_fastfcn.utils.safe_pickle import UnsafePickleError
from paddleseg_fastfcn.utils.weight_files import read_paddle_file
from paddleseg_fastfcn.utils.weights import WeightsError, load_weights

MODEL_FILE = 'model.pdparams'
OPTIMIZER_FILE = 'model.pdopt'
STATE_FILE = 'train_state.pkl'
SCORE_FILE = 'score.json'
TMP_PREFIX = '.tmp_'


def _plain_generator_states(states):
    # paddle.get_rng_state() returns C++ GeneratorState objects, which pickle as a
    # call of paddle.base.libpaddle.GeneratorState (not admitted by the safe reader);
    # their __getstate__ is a plain tuple (device, seed, offset, engine state as ints).
    return [tuple(s.__getstate__()) for s in states]


def _generator_states(plain):
    cls = type(paddle.get_rng_state()[0])
    states = []
    for item in plain:
        state = cls.__new__(cls)
        state.__setstate__(tuple(item))
        states.append(state)
    return states


def rng_states():
    """The RNG states that a resumed run must continue from (plain values only)."""
    states = {'python': random.getstate(), 'numpy': np.random.get_state(),
              'paddle': _plain_generator_states(paddle.get_rng_state())}
    if paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0:
        states['paddle_cuda'] = _plain_generator_states(paddle.get_cuda_rng_state())
    return states


def set_rng_states(states):
    """Restore what :func:`rng_states` returned (also after a save / load round trip)."""
    python = states['python']
    random.setstate((python[0], tuple(python[1]), python[2]))
    np.random.set_state(states['numpy'])
    paddle.set_rng_state(_generator_states(states['paddle']))
    if 'paddle_cuda' in states and paddle.is_compiled_with_cuda():
        paddle.set_cuda_rng_state(_generator_states(states['paddle_cuda']))


def _fsync_file(path):
    with open(path, 'rb') as f:
        os.fsync(f.fileno())


def _atomic_dir(save_dir, name, write):
    """Run ``write(tmp_dir)`` and atomically publish tmp_dir as save_dir/name."""
    os.makedirs(save_dir, exist_ok=True)
    target = os.path.join(save_dir, name)
    tmp = os.path.join(save_dir, '{}{}_{}'.format(TMP_PREFIX, name, os.getpid()))
    old = os.path.join(save_dir, '{}old_{}_{}'.format(TMP_PREFIX, name, os.getpid()))
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        write(tmp)
        for fname in os.listdir(tmp):
            _fsync_file(os.path.join(tmp, fname))
        fsync_dir(tmp)
        if os.path.exists(target):
            # rename() cannot replace a non-empty directory: move the old one
            # aside first; it is deleted only once the new one is in place.
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
        fsync_dir(save_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if os.path.isdir(old) and not os.path.exists(target):
            os.replace(old, target)  # the new one never got in place: put the old one back
        raise
    return target


def save_checkpoint(save_dir, name, model, optimizer, train_state, score=None):
    """Atomically write ``save_dir/name/``.

    Args:
        model (paddle.nn.Layer): unwrapped model.
        optimizer: its optimizer (state includes the LR scheduler).
        train_state (TrainState): the run's progress; RNG states are added here.
        score (dict | None): written as score.json (best_model).

    Returns:
        str: the checkpoint directory.

    Raises:
        DiskWriteError: the disk refused the write (what, space needed / free, and the
            last complete checkpoint, which is untouched); no temporary files remain.
        FloatingPointError: a model or optimizer tensor holds a NaN or an infinity (named);
            nothing is written.
    """
    state = dict(train_state.to_dict(), rng=rng_states())
    model_state, optimizer_state = model.state_dict(), optimizer.state_dict()
    bad = non_finite_names(model_state) + ['optimizer: ' + n for n in non_finite_names(optimizer_state)]
    if bad:
        raise FloatingPointError('refusing to write checkpoint {}: non-finite values in {}; the '
                                 'checkpoints in {} are unchanged'.format(name, describe(bad), save_dir))

    def write(tmp):
        paddle.save(model_state, os.path.join(tmp, MODEL_FILE))
        paddle.save(optimizer_state, os.path.join(tmp, OPTIMIZER_FILE))
        with open(os.path.join(tmp, STATE_FILE), 'wb') as f:
            pickle.dump(state, f)
        if score is not None:
            with open(os.path.join(tmp, SCORE_FILE), 'w') as f:
                json.dump(score, f, indent=2)

    try:
        return _atomic_dir(save_dir, name, write)
    except OSError as e:
        # _atomic_dir has removed its temporary directory; say what is left.
        raise write_failure('checkpoint {}'.format(name), os.path.join(save_dir, name), e,
                            needed_bytes=state_nbytes(model_state) + state_nbytes(optimizer_state),
                            note=_complete_checkpoints_note(save_dir)) from e


def state_nbytes(state):
    """Bytes of the tensors / arrays in a (nested) state dict: what saving it roughly needs."""
    if isinstance(state, dict):
        return sum(state_nbytes(v) for v in state.values())
    if isinstance(state, (list, tuple)):
        return sum(state_nbytes(v) for v in state)
    if isinstance(state, paddle.Tensor):
        return int(state.numel()) * state.element_size()
    if isinstance(state, np.ndarray):
        return state.nbytes
    return 0


def _complete_checkpoints_note(save_dir):
    """Which complete checkpoints survive in ``save_dir`` (for the error message)."""
    latest = find_latest_checkpoint(save_dir, info=lambda line: None)
    best = os.path.join(save_dir, 'best_model')
    names = ([latest[1]] if latest else []) + ([best] if os.path.isdir(best) else [])
    if not names:
        return 'no complete checkpoint exists in {} yet'.format(save_dir)
    return 'the last complete checkpoint is intact: {}'.format(' and '.join(names))


def list_iter_checkpoints(save_dir):
    """[(iteration, path)] of save_dir/iter_N directories, oldest first."""
    found = []
    if os.path.isdir(save_dir):
        for name in os.listdir(save_dir):
            if name.startswith('iter_') and name[5:].isdigit():
                found.append((int(name[5:]), os.path.join(save_dir, name)))
    return sorted(found)


def _is_complete(path):
    return all(os.path.isfile(os.path.join(path, f)) for f in (MODEL_FILE, OPTIMIZER_FILE, STATE_FILE))


def prune_checkpoints(save_dir, keep_max, warn=print):
    """Keep the ``keep_max`` newest complete iter_N directories; delete every older one.

    Incomplete directories never count as kept. A deletion that fails (permissions, a
    busy file system) is reported to ``warn`` and left: the next pruning tries again.

    Args:
        keep_max (int | None): <= 0 or None keeps all.
        warn (callable): receives one line per directory that could not be deleted.
    """
    if keep_max is None or keep_max <= 0:
        return
    checkpoints = list_iter_checkpoints(save_dir)
    complete = [it for it, path in checkpoints if _is_complete(path)]
    if len(complete) <= keep_max:
        return
    oldest_kept = complete[-keep_max]
    for iteration, path in checkpoints:
        if iteration >= oldest_kept:
            break
        try:
            shutil.rmtree(path)
        except OSError as e:
            warn('could not delete the old checkpoint {} ({}); training goes on, it is tried '
                 'again at the next checkpoint'.format(path, e))


def remove_temporaries(save_dir, info=print):
    """Delete the temporary directories of saves that a killed process left in ``save_dir``.

    Only for the run that holds save_dir's lock (another run's save may be in progress).
    """
    if not os.path.isdir(save_dir):
        return
    for name in sorted(os.listdir(save_dir)):
        path = os.path.join(save_dir, name)
        if name.startswith(TMP_PREFIX) and os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
            info('removed {}, the temporary directory of a checkpoint save that was '
                 'interrupted'.format(path))


def check_checkpoint_dir(path):
    """Raise FileNotFoundError naming ``path`` unless it holds a complete checkpoint."""
    if not os.path.isdir(path):
        raise FileNotFoundError('--resume_model: checkpoint directory not found: {}'.format(path))
    missing = [f for f in (MODEL_FILE, OPTIMIZER_FILE, STATE_FILE)
               if not os.path.isfile(os.path.join(path, f))]
    if missing:
        raise FileNotFoundError('--resume_model: {} is not a complete checkpoint, missing '
                                '{}'.format(path, ', '.join(missing)))


def find_latest_checkpoint(save_dir, info=print):
    """The newest complete ``save_dir/iter_N`` (``--resume_model auto``).

    A checkpoint is published by one rename, so an ``iter_N`` lacking a file was
    not written by ``save_checkpoint`` (copied in part, or damaged) and is
    skipped, as are the temporary directories of a save that was interrupted.

    Args:
        save_dir (str): the run's save_dir (may not exist yet).
        info (callable): receives one line per skipped directory.

    Returns:
        tuple | None: (iteration, directory), None when there is no complete one.
    """
    if os.path.isdir(save_dir):
        for name in sorted(os.listdir(save_dir)):
            if name.startswith(TMP_PREFIX):
                info('resume auto: skipping {}, the temporary directory of an interrupted '
                     'save'.format(os.path.join(save_dir, name)))
    for iteration, path in reversed(list_iter_checkpoints(save_dir)):
        try:
            check_checkpoint_dir(path)
        except FileNotFoundError as e:
            info('resume auto: skipping {} ({})'.format(
                path, str(e).replace('--resume_model: ', '')))
            continue
        return iteration, path
    return None


def load_checkpoint(path, model, optimizer):
    """Restore model and optimizer from a checkpoint dir; return its train state.

    Paddle keys optimizer state by generated parameter names (``linear_0.w_0``),
    so the model must be built as in the run that saved it; ``core.train`` builds
    under a fresh ``paddle.utils.unique_name.guard()`` for that reason.
    The RNG states are not applied here (``set_rng_states(state['rng'])``): the
    caller decides when, after building everything that draws random numbers.

    Raises:
        FileNotFoundError: ``path`` is not a directory or lacks a checkpoint file.
        ValueError: the model state does not fit exactly (keys named), the
            optimizer state does not match, or either holds a NaN / infinity (named).
        UnsafePickleError: a file names a global the safe reader does not admit.
    """
    check_checkpoint_dir(path)
    try:
        load_weights(model, os.path.join(path, MODEL_FILE), strict=True)
    except WeightsError as e:
        raise ValueError('--resume_model: {}'.format(e)) from e
    opt_path = os.path.join(path, OPTIMIZER_FILE)
    opt_state = read_paddle_file(opt_path, 'optimizer state')
    bad = ([MODEL_FILE + ': ' + n for n in non_finite_names(model.state_dict())]
           + [OPTIMIZER_FILE + ': ' + n for n in non_finite_names(opt_state)])
    if bad:
        raise ValueError('--resume_model: {} holds non-finite values (NaN / inf) in {}; training '
                         'cannot continue from it: resume from an earlier checkpoint or start over'
                         .format(path, describe(bad)))
    try:
        optimizer.set_state_dict(opt_state)
    except AssertionError as e:
        raise ValueError('--resume_model: the optimizer state in {} does not match this model '
                         '({}); it was saved for a different model or optimizer config'.format(
                             opt_path, e)) from e
    state_path = os.path.join(path, STATE_FILE)
    try:
        return read_paddle_file(state_path, 'train state')
    except UnsafePickleError as e:
        if e.name != 'GeneratorState':
            raise
        raise ValueError('--resume_model: {} was written by an older version of this project, which '
                         'pickled Paddle\'s RNG state as a Paddle object ({}.{}); it cannot be read '
                         'safely: resume with the version that wrote it, or start a new run'.format(
                             state_path, e.module, e.name)) from e
