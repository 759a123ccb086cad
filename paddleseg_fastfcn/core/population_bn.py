"""Training with population BatchNorm statistics for the last part of a schedule.

A BatchNorm layer in training normalises each batch by that batch's own mean and
variance; evaluation normalises by population statistics. With tiny batches (4
images of 64x64 leave 16 values per channel at stride 32) the two differ so much
that weights can fit the training set under batch statistics and fail under the
population ones: measured on the mini run, one class's IoU was 0.79 with batch
statistics and 0.21 with re-estimated population statistics, on the training
images themselves. Wu & Johnson ("Rethinking 'Batch' in BatchNorm", 2021, sec. 5)
remove this train-test inconsistency by using population statistics in training
for the last iterations. Here: at iteration ``freeze_from`` the trainer re-estimates
the statistics (``precise_bn.recompute_bn_statistics``), then every later step
normalises by them, fixed, as evaluation does. Gradients still reach the BN scale and
shift and every other weight; the statistics become constants of the model that
checkpoints carry, so a resumed run continues with the same ones.
"""
from paddleseg_fastfcn.core.distributed import batch_norm_layers
from paddleseg_fastfcn.core.precise_bn import recompute_bn_statistics


def use_population_statistics(model):
    """Put every BatchNorm of ``model`` in eval mode (running statistics, no update).

    The rest of the model keeps its mode (dropout stays on in training). Called
    before each step of the frozen phase: evaluation calls ``model.train()``, which
    puts the layers back in batch mode.

    Args:
        model (paddle.nn.Layer): the network (not its DataParallel wrapper, whose
            layers are the same objects).

    Returns:
        int: the number of BatchNorm layers set.
    """
    layers = [layer for _, layer in batch_norm_layers(model)]
    for layer in layers:
        layer.training = False
    return len(layers)


def statistics_are_fixed(iteration, freeze_from):
    """Whether iteration ``iteration`` (its step, evaluation and checkpoint) uses the frozen
    statistics set at ``freeze_from`` (None: never), which must then not be re-estimated."""
    return freeze_from is not None and iteration > freeze_from


def prepare_frozen_step(model, bn_batches, done, save_interval, log):
    """Before the step after ``done`` iterations, in the frozen phase: BN in eval mode.

    At ``bn_batches.freeze_from`` itself the statistics must be the ones re-estimated
    with the current weights. When that iteration is a checkpoint's, the checkpoint's
    re-estimation (or, resumed there, its saved statistics) already set them; otherwise
    they are re-estimated here. A run resumed later continues with the frozen
    statistics its checkpoint holds.

    Args:
        model (paddle.nn.Layer): the network.
        bn_batches (precise_bn.BNBatches): the batches statistics are estimated from.
        done (int): the iterations done.
        save_interval (int): iterations between checkpoints.
        log: the trainer's logger (``info``).
    """
    if done == bn_batches.freeze_from:
        if done == 0 or done % save_interval:
            recompute_bn_statistics(model, bn_batches)
        log.info('precise_bn.freeze_from: BatchNorm statistics re-estimated at iteration {}; '
                 'training normalises by them, frozen, from iteration {} on'.format(done, done + 1))
    use_population_statistics(model)
