"""The training loop (replaces PaddleSeg 2.8's ``core.train``, broken on Paddle 3:
it indexes 0-D loss tensors, and its loss / metrics fail on type promotion).

Everything is built from the YAML through ``core.builder``. The data order
comes from ``ShardedBatchSampler`` (a function of seed, epoch and rank) and
checkpoints carry the RNG states, so ``--resume_model`` continues exactly and
the same code runs under ``python -m paddle.distributed.launch``.

A run holds its save_dir (``core.run_lock``, taken by rank 0 before anything is
written there) and removes the temporary directories a killed run left. The model's
tensors are checked for NaN / infinity at every log line and before every evaluation
and checkpoint (``core.finite_state``). SIGTERM / SIGINT stop the run after the
current iteration, with a checkpoint of it (``core.stop_signals``; one process only: under
the launcher signals keep the launcher's meaning).
"""
import contextlib
import dataclasses
import os
import random
import time

import numpy as np
import paddle

from paddleseg_fastfcn.core import checkpoint as ckpt
from paddleseg_fastfcn.core.builder import builder, check_loss_terms, load_config
from paddleseg_fastfcn.core.data_loader import build_loader
from paddleseg_fastfcn.core.finite_state import check_model_finite
from paddleseg_fastfcn.core.distributed import (all_finite, init_distributed,
                                                maybe_sync_batchnorm, mean_over_ranks,
                                                min_max_over_ranks)
from paddleseg_fastfcn.core.inference_options import InferenceOptions
from paddleseg_fastfcn.core.loss_terms import check_finite, term_names, weighted_loss_terms
from paddleseg_fastfcn.core.optim import build_optimizer, group_lr_multipliers
from paddleseg_fastfcn.core.population_bn import prepare_frozen_step, statistics_are_fixed
from paddleseg_fastfcn.core.precise_bn import bn_batches_from_config, recompute_bn_statistics
from paddleseg_fastfcn.core.run_lock import RunLock
from paddleseg_fastfcn.core.sampler import ShardedBatchSampler
from paddleseg_fastfcn.core.seeded_dataset import SeededDataset
from paddleseg_fastfcn.core.stop_signals import StopRequest, TrainingStopped
from paddleseg_fastfcn.core.train_state import TrainRun, TrainSettings, TrainState
from paddleseg_fastfcn.datasets import validate_dataset
from paddleseg_fastfcn.utils.device import check_precision, set_device
from paddleseg_fastfcn.utils.train_logger import LogWindow, TrainLogger


# --resume_model value: continue from the newest complete checkpoint in save_dir, if any.
AUTO_RESUME = 'auto'


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    paddle.seed(seed)


def train(config, save_dir='output', iters=None, batch_size=None, learning_rate=None,
          do_eval=False, save_interval=1000, log_iters=10, keep_checkpoint_max=5,
          resume_model=None, use_vdl=False, num_workers=0, seed=None, device='cpu',
          precision='fp32', amp_level='O1', opts=None):
    """Train the model of a PaddleSeg-schema YAML config; train.py documents the arguments.

    Returns:
        dict: ``iter`` (last iteration), ``loss`` (last logged total), ``best_miou``
        (None without do_eval), ``save_dir``.

    Raises:
        SaveDirLocked: another live run holds save_dir (its pid, host and start named).
        TrainingStopped: SIGTERM / SIGINT; the checkpoint of the last iteration is complete.
        FloatingPointError: a non-finite loss or model tensor (iteration and names).
    """
    amp_dtype = check_precision(device, precision, amp_level)
    set_device(device)
    if resume_model and resume_model != AUTO_RESUME:
        ckpt.check_checkpoint_dir(resume_model)  # fail before the slow builds
    cfg = load_config(config, learning_rate=learning_rate, batch_size=batch_size,
                      iters=iters, opts=opts,
                      datasets=('train_dataset', 'val_dataset') if do_eval else ('train_dataset',))
    world_size, rank = init_distributed()
    settings = TrainSettings(
        save_dir=save_dir, do_eval=do_eval, save_interval=save_interval, log_iters=log_iters,
        keep_checkpoint_max=keep_checkpoint_max, num_workers=num_workers, device=device,
        amp_dtype=amp_dtype, amp_level=amp_level, world_size=world_size, rank=rank)
    with contextlib.ExitStack() as stack:
        taken_over = []
        if rank == 0:
            # Before anything is written in save_dir: a second run is refused leaving it as it was.
            stack.enter_context(RunLock(save_dir, taken_over.append))
        log = TrainLogger(save_dir, enabled=rank == 0, use_vdl=use_vdl)
        stack.callback(log.close)
        for line in taken_over:
            log.info(line)
        if rank == 0:
            ckpt.remove_temporaries(save_dir, log.info)
        if resume_model == AUTO_RESUME:
            resume_model = _newest_checkpoint(save_dir, log)
        # A fresh name scope: optimizer state is keyed by parameter names, so a
        # resumed run must name parameters as the run that saved them did,
        # whatever was built earlier in this process.
        with paddle.utils.unique_name.guard():
            run = _build(cfg, _shared_seed(seed, world_size), settings, log)
            if resume_model:
                _resume(run, resume_model, seed, log)
            # Under the launcher the signals stay its own: it sends SIGTERM three times within
            # 0.6 s and SIGKILL after 30 s, and stops the other ranks when one exits, so a
            # rank finishing its iteration (possibly blocked in a collective) cannot be promised.
            stop = StopRequest()
            with stop if world_size == 1 else contextlib.nullcontext():
                return _loop(run, settings, log, stop)


def _newest_checkpoint(save_dir, log):
    """``--resume_model auto``: save_dir's newest complete checkpoint, or None (fresh start).

    Every rank looks on its own file system and all must find the same
    iteration, otherwise ranks would continue from different states. A newest
    checkpoint holding NaN / inf is refused when loaded (naming it), not skipped for
    an older one: that would silently discard iterations; the user chooses.
    """
    found = ckpt.find_latest_checkpoint(save_dir, log.info)
    iteration = found[0] if found else 0
    low, high = min_max_over_ranks(iteration)
    if low != high:
        raise ValueError('--resume_model auto: the ranks found different newest checkpoints '
                         'in {} (iterations {} to {}; 0 = none): every machine must see the '
                         'same save_dir, e.g. a shared file system'.format(save_dir, low, high))
    if found is None:
        log.info('resume auto: no complete checkpoint in {}, starting from iteration '
                 '0'.format(save_dir))
        return None
    log.info('resume auto: newest complete checkpoint is {}'.format(found[1]))
    return found[1]


def _shared_seed(seed, world_size):
    """``seed``, or a random one that all ranks agree on (they shard one permutation)."""
    if seed is not None:
        return seed
    seed = random.SystemRandom().randrange(2 ** 31)
    if world_size > 1:
        shared = paddle.to_tensor([seed], dtype='int64')
        paddle.distributed.broadcast(shared, src=0)
        seed = int(shared.item())
    return seed


def _build(cfg, seed, settings, log):
    """Seed, then build model, optimizer, scheduler, losses and datasets from the config."""
    seed_everything(seed)
    seg = builder(cfg)
    model = seg.model
    if seg.random_init_warning:
        log.info(seg.random_init_warning)
    check_loss_terms(cfg, model)
    # SyncBN is on by default for multi-GPU runs (the official recipe).
    model = maybe_sync_batchnorm(model, cfg.dic.get('sync_bn', True), settings.device,
                                 settings.world_size, log)
    losses = seg.loss
    # validate_dataset: missing files, unreadable images and out-of-range labels
    # raise errors naming the file (PaddleSeg's datasets do not check).
    val_dataset = eval_options = class_names = None
    if settings.do_eval:
        from paddleseg_fastfcn.core.evaluate import dataset_class_names
        val_dataset = validate_dataset(seg.val_dataset, cfg.val_dataset_cfg)
        # val.py's protocol (test_config), so best_model is chosen by the score val.py reports.
        eval_options = InferenceOptions.from_config(cfg.test_config)
        class_names = dataset_class_names(cfg, val_dataset)
    return TrainRun(
        model=model, optimizer=build_optimizer(seg, model), lr_scheduler=seg.lr_scheduler,
        losses=losses, names=term_names(losses['types']),
        train_dataset=validate_dataset(seg.train_dataset, cfg.train_dataset_cfg),
        val_dataset=val_dataset, batch_size=cfg.batch_size,
        state=TrainState(seed=seed, total_iters=cfg.iters), eval_options=eval_options,
        class_names=class_names, bn_batches=bn_batches_from_config(seg, cfg, seed, log))


def _resume(run, path, requested_seed, log):
    """Restore model, optimizer, scheduler, iteration, seed and RNG states from ``path``."""
    state = ckpt.load_checkpoint(path, run.model, run.optimizer)
    restored = TrainState.from_dict(state, os.path.join(path, ckpt.STATE_FILE))
    if requested_seed is not None and restored.seed != requested_seed:
        log.info('resume: using the checkpoint\'s seed {} (not {})'.format(
            restored.seed, requested_seed))
    total_iters = run.state.total_iters
    if restored.total_iters != total_iters:
        # The restored scheduler caches the lr of the old schedule; recompute it
        # for the new length (decay_steps comes from this run's config).
        run.lr_scheduler.last_lr = run.lr_scheduler.get_lr()
        log.info('resume: the checkpoint was trained for {} iterations, continuing a '
                 '{}-iteration schedule'.format(restored.total_iters, total_iters))
    ckpt.set_rng_states(state['rng'])
    run.state = dataclasses.replace(restored, total_iters=total_iters)
    log.info('resumed from {} at iteration {}'.format(path, restored.iteration))


def _loop(run, settings, log, stop):
    scaler = None
    if settings.amp_dtype == 'float16':
        scaler = paddle.amp.GradScaler(init_loss_scaling=1024)
        if run.state.scaler:
            scaler.load_state_dict(run.state.scaler)
    if settings.amp_dtype is not None and settings.amp_level == 'O2':
        run.model, run.optimizer = paddle.amp.decorate(
            models=run.model, optimizers=run.optimizer, level='O2', dtype=settings.amp_dtype)
    train_model = paddle.DataParallel(run.model) if settings.world_size > 1 else run.model
    state = run.state
    sampler = ShardedBatchSampler(
        len(run.train_dataset), run.batch_size, num_replicas=settings.world_size,
        rank=settings.rank, seed=state.seed, start_iter=state.iteration,
        total_iters=state.total_iters)
    loader = build_loader(SeededDataset(run.train_dataset), sampler, settings.num_workers)
    log.info('training {} iterations from {}: {} samples, batch_size {} per rank x {} rank(s) '
             '= global batch {}, {} iterations/epoch, seed {}, device {}, precision {}; lr '
             'multipliers per parameter group (mult, #params): {}; loss terms: {}'.format(
                 state.total_iters, state.iteration, len(run.train_dataset), run.batch_size,
                 settings.world_size, run.batch_size * settings.world_size,
                 sampler.batches_per_epoch, state.seed, settings.device,
                 settings.amp_dtype or 'fp32', group_lr_multipliers(run.optimizer), run.names))

    train_model.train()
    window = LogWindow(run.names, run.batch_size)
    last_total, start_iter = None, state.iteration
    freeze_from = run.bn_batches.freeze_from if run.bn_batches is not None else None
    t_start = tic = time.time()
    for data in loader:
        reader_cost = time.time() - tic
        iteration = state.iteration + 1
        if statistics_are_fixed(iteration, freeze_from):
            prepare_frozen_step(run.model, run.bn_batches, state.iteration,
                                settings.save_interval, log)
        term_values, lr = _step(run, train_model, scaler, data, iteration, settings)
        stopping = stop.requested  # read once: a signal from here on waits for the next iteration
        state.iteration, state.epoch = iteration, sampler.epoch_of(iteration - 1) + 1
        window.add(term_values, time.time() - tic, reader_cost)
        saving = iteration % settings.save_interval == 0 or iteration == state.total_iters
        logging = iteration % settings.log_iters == 0 or iteration == state.total_iters
        if saving or logging or stopping:
            check_model_finite(run.model, iteration)
        if logging:
            eta = (time.time() - t_start) / (iteration - start_iter) * (
                state.total_iters - iteration)
            log.info(window.line(state.epoch, iteration, state.total_iters, lr, eta))
            log.scalars(window.scalars(lr), iteration)
            last_total = window.summary()[0]
            window.reset()
        if saving:
            _eval_and_save(run, scaler, settings, log)
        if stopping and iteration < state.total_iters:
            raise _stopped(run, scaler, settings, log, stop.signum, saved=saving)
        tic = time.time()
    return {'iter': state.iteration, 'loss': last_total, 'save_dir': settings.save_dir,
            'best_miou': state.best_miou if settings.do_eval else None}


def _step(run, train_model, scaler, data, iteration, settings):
    """One optimization step; returns (weighted loss terms averaged over ranks, lr used).

    The rank average is what DataParallel's averaged gradient optimizes; it is
    the loss of the pooled global batch when the ranks' batches hold equally
    many labelled pixels (the loss is a mean over labelled pixels).
    """
    images, label = data['img'], data['label'].astype('int64')
    with paddle.amp.auto_cast(enable=settings.amp_dtype is not None, level=settings.amp_level,
                              dtype=settings.amp_dtype or 'float16'):
        outputs = train_model(images)
    terms = weighted_loss_terms(outputs, label, run.losses)
    local_values = [float(t) for t in terms]
    # Every rank must take part in this all_reduce and then stop together: a
    # rank that left alone would leave the others waiting in the next one.
    term_values = mean_over_ranks(local_values)
    # Stop before the update so that parameters and checkpoints stay finite.
    if not all_finite(term_values):
        check_finite(local_values, run.names, iteration)
        raise FloatingPointError('non-finite loss on another rank at iteration {}; '
                                 'training stopped on all ranks, the last saved checkpoint '
                                 'is intact'.format(iteration))
    total = paddle.add_n(terms)
    if scaler is not None:
        scaler.scale(total).backward()
        scaler.step(run.optimizer)
        scaler.update()
    else:
        total.backward()
        run.optimizer.step()
    run.optimizer.clear_grad()
    lr = run.optimizer.get_lr()
    run.lr_scheduler.step()
    return term_values, lr


def _stopped(run, scaler, settings, log, signum, saved):
    """After a stop request: the iteration's checkpoint (rank 0, unless just written), said in the log."""
    if settings.rank == 0 and not saved:
        _save_iter(run, scaler, settings, log)
    stopped = TrainingStopped(signum, run.state.iteration, os.path.join(
        settings.save_dir, 'iter_{}'.format(run.state.iteration)), settings.save_dir)
    log.info(str(stopped))
    return stopped


def _eval_and_save(run, scaler, settings, log):
    """Evaluate (with do_eval, on every rank), then rank 0 writes the checkpoints."""
    state, iteration = run.state, run.state.iteration
    score, is_best, metrics = None, False, None
    if run.bn_batches is not None and not statistics_are_fixed(iteration, run.bn_batches.freeze_from):
        # Before evaluating and saving: the checkpoints carry the statistics scored.
        recompute_bn_statistics(run.model, run.bn_batches)
    if run.val_dataset is not None:
        from paddleseg_fastfcn.core.evaluate import evaluate
        metrics = evaluate(run.model, run.val_dataset, num_workers=settings.num_workers,
                           options=run.eval_options, print_detail=False)
        score = {'miou': float(metrics['miou']), 'acc': float(metrics['acc']), 'iter': iteration}
        log.info('[EVAL] iter: {}, mIoU: {:.4f}, acc: {:.4f}'.format(
            iteration, score['miou'], score['acc']))
        log.scalars({'Evaluate/mIoU': score['miou'], 'Evaluate/Acc': score['acc']}, iteration)
        is_best = state.record_score(score['miou'], iteration)
    if settings.rank != 0:
        return
    state.scaler = scaler.state_dict() if scaler is not None else None
    if is_best:
        best_dir = ckpt.save_checkpoint(settings.save_dir, 'best_model', run.model, run.optimizer,
                                        state, score)
        # Beside the weights: the evaluation that made them best (val.py's files).
        from paddleseg_fastfcn.core.evaluate import write_results
        write_results(metrics, best_dir, run.class_names,
                      extra={'iter': iteration, 'inference': run.eval_options.to_dict()})
        log.info('best model so far (mIoU {:.4f}) saved to {}/best_model'.format(
            state.best_miou, settings.save_dir))
    _save_iter(run, scaler, settings, log)


def _save_iter(run, scaler, settings, log):
    """Rank 0: write save_dir/iter_N, then prune the old ones (a failed deletion is a warning)."""
    state = run.state
    state.scaler = scaler.state_dict() if scaler is not None else None
    path = ckpt.save_checkpoint(settings.save_dir, 'iter_{}'.format(state.iteration), run.model,
                                run.optimizer, state)
    ckpt.prune_checkpoints(settings.save_dir, settings.keep_checkpoint_max, warn=log.warning)
    log.info('checkpoint saved to {}'.format(path))
