"""What the trainer and evaluation need to run under ``python -m paddle.distributed.launch``.

The launcher starts one process per card (or ``--nproc_per_node`` CPU
processes) and passes rank, world size and the assigned card through the
environment; this module turns that into an initialised process group, a
SyncBatchNorm model and cross-rank reductions. A rank that dies is handled by
the launcher: measured on paddlepaddle 3.3.1 CPU, SIGKILL of one of two workers
makes the launcher stop the other one and exit non-zero within about a second
(tests/distributed/test_worker_failure.py), so no watchdog is added here.
"""
import math

import numpy as np
import paddle


def init_distributed():
    """Initialise the process group once when launched with more than one rank.

    Call after ``paddle.set_device`` so that the backend matches the device
    (gloo on CPU, NCCL on GPU).

    Returns:
        tuple: (world_size, rank).
    """
    world_size = paddle.distributed.get_world_size()
    if world_size > 1 and not paddle.distributed.is_initialized():
        paddle.distributed.init_parallel_env()
    return world_size, paddle.distributed.get_rank()


def batch_norm_layers(model):
    """[(name, layer)] of every BatchNorm (1D/2D/3D, Sync or not) in ``model``."""
    return [(name, layer) for name, layer in model.named_sublayers()
            if isinstance(layer, paddle.nn.layer.norm._BatchNormBase)]


def maybe_sync_batchnorm(model, sync_bn, device, world_size, log):
    """Replace every BatchNorm by SyncBatchNorm for multi-GPU training.

    ``SyncBatchNorm.convert_sync_batchnorm`` converts any ``_BatchNormBase``,
    which includes the Encoding layer's ``BatchNorm1D`` over [N, K, C] (the GPU
    kernel accepts 2-D to 5-D input). Parameters and running statistics are
    shared with the converted layers and keep their state_dict keys, so
    checkpoints load into the plain model that export / val / predict build.

    Args:
        sync_bn (bool): the config's ``sync_bn`` switch (default True).
        device (str): 'cpu' | 'gpu'. Paddle has no CPU SyncBatchNorm kernel, so
            CPU processes keep per-process statistics.
        world_size (int): number of ranks.
        log: has ``info(str)``.

    Returns:
        paddle.nn.Layer: the model to train (converted or as given).
    """
    if not isinstance(sync_bn, bool):
        raise ValueError('config key sync_bn must be true or false, got {!r}'.format(sync_bn))
    if world_size <= 1 or not sync_bn:
        return model
    if device != 'gpu':
        log.info('sync_bn is ignored on CPU (Paddle has no CPU SyncBatchNorm); each process '
                 'normalizes with its own batch statistics')
        return model
    count = len(batch_norm_layers(model))
    model = paddle.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    log.info('sync_bn: {} BatchNorm layers converted to SyncBatchNorm'.format(count))
    return model


def mean_over_ranks(values):
    """Average python floats element-wise over all ranks (one all_reduce).

    A non-finite value on any rank makes the mean non-finite, so every rank
    sees the same answer to "stop?" at the same iteration. float64 keeps the
    sum of finite float32 losses from overflowing.

    Args:
        values (list[float]): this rank's values.

    Returns:
        list[float]: the means (``values`` itself with one process).
    """
    world_size = paddle.distributed.get_world_size()
    if world_size <= 1:
        return list(values)
    total = paddle.to_tensor(np.asarray(values, np.float64))
    paddle.distributed.all_reduce(total)
    return [float(v) / world_size for v in total.numpy()]


def min_max_over_ranks(value):
    """(smallest, largest) of an integer over all ranks, with one all_reduce.

    Returns:
        tuple[int, int]: (value, value) with one process.
    """
    if paddle.distributed.get_world_size() <= 1:
        return value, value
    both = paddle.to_tensor([value, -value], dtype='int64')
    paddle.distributed.all_reduce(both, op=paddle.distributed.ReduceOp.MAX)
    high, negated_low = (int(v) for v in both.numpy())
    return -negated_low, high


def all_finite(values):
    return all(math.isfinite(v) for v in values)

