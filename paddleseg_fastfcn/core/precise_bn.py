"""Precise BatchNorm: re-estimate BN statistics from the current weights.

The running statistics of a BatchNorm layer are an exponential average over
past batches, each normalised by the weights of its own iteration. With small
batches (4 images of 64x64 leave 16 values per channel at stride 32) and a
large learning rate they are both noisy and stale, so checkpoints a few
iterations apart evaluate very differently with the same quality of weights.
``recompute_bn_statistics`` replaces them by the exact mean and (biased)
variance of what reaches each layer over a fixed set of images, computed with
the weights being evaluated. The trainer calls it before every evaluation and
checkpoint (config key ``precise_bn``), so the statistics a saved model carries
are the ones it was scored with, and ``val.py`` reproduces the score.
"""
import copy

import numpy as np
import paddle

from paddleseg_fastfcn.core.distributed import batch_norm_layers
from paddleseg_fastfcn.core.seeded_dataset import SeededDataset

PRECISE_BN_KEYS = ('num_images', 'transforms', 'batch_size', 'freeze_from')
TRANSFORM_CHOICES = ('val', 'train')


@paddle.no_grad()
def recompute_bn_statistics(model, batches):
    """Set every BatchNorm's ``_mean`` / ``_variance`` to the exact statistics of ``batches``.

    Each batch goes through ``model`` with the BatchNorm layers in training mode
    (normalising by the batch's own statistics, as in training) and every other
    layer in eval mode (no dropout; the forward path that evaluation uses). Per
    channel, the sums of the count, mean x count and (variance + mean^2) x count of
    every call are accumulated in float64, so the result is the mean and biased
    variance over all values the layer saw, independent of the batch order (no
    momentum). Layers that no batch reaches keep their statistics. Weights are
    not touched; every sublayer's train / eval mode and each BN's momentum are
    restored.

    Args:
        model (paddle.nn.Layer): the network; called as ``model(images)``.
        batches (iterable[paddle.Tensor]): image batches [N, 3, H, W].

    Returns:
        int: the number of batches fed.
    """
    layers = [layer for _, layer in batch_norm_layers(model)]
    modes = [(layer, layer.training) for layer in model.sublayers(include_self=True)]
    momenta = [layer._momentum for layer in layers]
    sums = {}

    def accumulate(layer, inputs, output):
        # momentum 0: the buffers hold exactly this call's batch mean / biased variance.
        x = inputs[0]
        count = float(np.prod(x.shape)) / layer._mean.shape[0]
        mean = layer._mean.numpy().astype(np.float64)
        var = layer._variance.numpy().astype(np.float64)
        acc = sums.setdefault(id(layer), [0.0, 0.0, 0.0])
        acc[0] += count
        acc[1] = acc[1] + count * mean
        acc[2] = acc[2] + count * (var + mean * mean)

    saved = [(layer._mean.numpy(), layer._variance.numpy()) for layer in layers]
    hooks = [layer.register_forward_post_hook(accumulate) for layer in layers]
    num_batches = 0
    try:
        model.eval()
        for layer in layers:
            layer.train()
            layer._momentum = 0.0
        for images in batches:
            model(images)
            num_batches += 1
    except BaseException:
        # A failed pass leaves single-batch statistics in the buffers: put the old ones back.
        for layer, (mean, var) in zip(layers, saved):
            layer._mean.set_value(mean)
            layer._variance.set_value(var)
        raise
    finally:
        for hook in hooks:
            hook.remove()
        for layer, momentum in zip(layers, momenta):
            layer._momentum = momentum
        for layer, training in modes:
            layer.training = training
    # Until every batch has run, the buffers hold single-batch statistics; set them all at the end.
    for layer in layers:
        if id(layer) not in sums:
            continue
        count, first, second = sums[id(layer)]
        mean = first / count
        var = np.maximum(second / count - mean * mean, 0.0)
        layer._mean.set_value(paddle.to_tensor(mean).astype(layer._mean.dtype))
        layer._variance.set_value(paddle.to_tensor(var).astype(layer._variance.dtype))
    return num_batches


def parse_precise_bn(value, where, train_batch_size, total_iters=None):
    """Check the ``precise_bn`` config value; returns its settings or None (off).

    Args:
        value (dict | None): the config's ``precise_bn`` mapping: ``num_images`` (int > 0,
            training images fed), ``transforms`` ('val' (default): the val_dataset's
            transforms applied to the training images; 'train': the train_dataset's own,
            augmentation included), ``batch_size`` (int > 0, default the training one),
            ``freeze_from`` (int >= 0 below ``iters``, default None: after this iteration
            training normalises by the statistics re-estimated there, see core.population_bn).
        where (str): ``file:line`` of the key, for error messages.
        train_batch_size (int): the training batch size (the default batch).
        total_iters (int | None): the run's ``iters``, which ``freeze_from`` must be below.

    Returns:
        dict | None: ``num_images``, ``transforms``, ``batch_size``, ``freeze_from``.

    Raises:
        ValueError: naming ``where`` and the bad sub-key.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError('{}: precise_bn must be a mapping with keys {}, got {!r}'.format(
            where, ', '.join(PRECISE_BN_KEYS), value))
    unknown = sorted(set(value) - set(PRECISE_BN_KEYS))
    if unknown:
        raise ValueError('{}: precise_bn: unknown key(s) {}; known keys are {}'.format(
            where, ', '.join(unknown), ', '.join(PRECISE_BN_KEYS)))
    settings = {'num_images': value.get('num_images'),
                'transforms': value.get('transforms', 'val'),
                'batch_size': value.get('batch_size', train_batch_size),
                'freeze_from': value.get('freeze_from')}
    for key in ('num_images', 'batch_size'):
        v = settings[key]
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ValueError('{}: precise_bn.{} must be a positive integer, got {!r}'.format(
                where, key, v))
    if settings['transforms'] not in TRANSFORM_CHOICES:
        raise ValueError('{}: precise_bn.transforms must be one of {}, got {!r}'.format(
            where, ', '.join(TRANSFORM_CHOICES), settings['transforms']))
    freeze_from = settings['freeze_from']
    if freeze_from is not None:
        if isinstance(freeze_from, bool) or not isinstance(freeze_from, int) or freeze_from < 0:
            raise ValueError('{}: precise_bn.freeze_from must be an iteration (an integer >= 0), '
                             'got {!r}'.format(where, freeze_from))
        if total_iters is not None and freeze_from >= total_iters:
            raise ValueError('{}: precise_bn.freeze_from ({}) must be below iters ({}): training '
                             'would never use the frozen statistics'.format(
                                 where, freeze_from, total_iters))
    if settings['num_images'] < settings['batch_size']:
        raise ValueError('{}: precise_bn.num_images ({}) is smaller than its batch_size ({}): '
                         'no full batch'.format(where, settings['num_images'],
                                                settings['batch_size']))
    return settings


def build_bn_dataset(seg, cfg, transforms):
    """The training images with the val_dataset's transforms ('val') or their own ('train').

    Args:
        seg (paddleseg.cvlibs.SegBuilder): builds the dataset component.
        cfg (paddleseg.cvlibs.Config): gives ``train_dataset`` / ``val_dataset``.
        transforms (str): 'val' | 'train'.
    """
    if transforms == 'train':
        return seg.train_dataset
    dataset_cfg = copy.deepcopy(cfg.train_dataset_cfg)
    dataset_cfg['transforms'] = copy.deepcopy(cfg.val_dataset_cfg.get('transforms', []))
    return seg.build_component(dataset_cfg)


class BNBatches:
    """Fixed batches of ``num_images`` training images for ``recompute_bn_statistics``.

    The images are the first ``num_images`` of a permutation drawn from ``seed``
    (the same at every evaluation, so statistics differ only by the weights); the
    last incomplete batch is dropped (a smaller batch normalises differently).
    Each sample is loaded with ``random`` / ``numpy`` seeded from (seed, index) and
    those generators restored afterwards, so random transforms are reproducible
    and the training RNG streams are not disturbed.
    """

    def __init__(self, dataset, num_images, batch_size, seed, freeze_from=None):
        self.dataset = SeededDataset(dataset)
        # The iteration after which training uses these statistics, frozen (or None).
        self.freeze_from = freeze_from
        count = min(num_images, len(dataset))
        order = np.random.RandomState(seed % (2 ** 32)).permutation(len(dataset))[:count]
        self.batches = [order[i:i + batch_size].tolist()
                        for i in range(0, count - batch_size + 1, batch_size)]
        self.seed = seed

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        for indices in self.batches:
            images = [np.asarray(self.dataset[(i, self.seed * 100003 + i)]['img'], np.float32)
                      for i in indices]
            shapes = {im.shape for im in images}
            if len(shapes) > 1:
                raise ValueError('precise_bn: images of one batch differ in size {} (indices {}); '
                                 'use transforms whose output has one size, e.g. '
                                 'precise_bn.transforms: train with a crop'.format(
                                     sorted(shapes), indices))
            yield paddle.to_tensor(np.stack(images))


def bn_batches_from_config(seg, cfg, seed, log):
    """The trainer's ``BNBatches`` from the config key ``precise_bn`` (None when absent).

    Args:
        seg (paddleseg.cvlibs.SegBuilder): the run's builder.
        cfg (paddleseg.cvlibs.Config): the run's config (``precise_bn``, ``batch_size``).
        seed (int): the run's seed (which training images are fed).
        log: the trainer's logger (``info``).
    """
    # builder.load_config has checked the value, naming its file and line.
    settings = parse_precise_bn(cfg.dic.get('precise_bn'), 'config key precise_bn',
                                cfg.batch_size, cfg.iters)
    if settings is None:
        return None
    batches = BNBatches(build_bn_dataset(seg, cfg, settings['transforms']),
                        settings['num_images'], settings['batch_size'], seed,
                        settings['freeze_from'])
    log.info('precise_bn: BatchNorm statistics re-estimated before each evaluation / checkpoint '
             'over {} batches of {} training images ({} transforms){}'.format(
                 len(batches), settings['batch_size'], settings['transforms'],
                 '' if settings['freeze_from'] is None else
                 '; after iteration {} training normalises by the statistics re-estimated '
                 'there, frozen'.format(settings['freeze_from'])))
    return batches
