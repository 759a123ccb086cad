"""Optimizer from the config, with per-group learning-rate multipliers.

PaddleSeg 2.8's optimizer components work on Paddle 3 (tested in
tests/core/test_optim.py: a group with ``lr_mult: 10`` moves 10x as far in one
step), so they are used as they are. What is added here: the optimizer is built
for a given model object (after SyncBN conversion, which replaces layers), and a
``custom_cfg`` name that matches no parameter is reported, since PaddleSeg
silently puts every parameter in the default group then.
"""
import logging

logger = logging.getLogger(__name__)


def optimizer_type(opt_cfg):
    """The registered optimizer name PaddleSeg 2.8 builds for the ``optimizer`` mapping.

    Its conventions: ``sgd`` / ``adam`` are ``SGD`` / ``Adam``, and SGD with a
    ``momentum`` key is its ``Momentum`` optimizer.
    """
    opt_type = {'sgd': 'SGD', 'adam': 'Adam'}.get(opt_cfg.get('type'), opt_cfg.get('type'))
    if opt_type == 'SGD' and 'momentum' in opt_cfg:
        opt_type = 'Momentum'
    return opt_type


def build_optimizer(seg_builder, model):
    """Build the config's optimizer over ``model``'s parameters.

    Args:
        seg_builder: ``paddleseg_fastfcn.core.builder.builder(cfg)``.
        model (paddle.nn.Layer): the model to optimize (unwrapped, not DataParallel).

    Returns:
        paddle.optimizer.Optimizer whose learning rate is ``seg_builder.lr_scheduler``.
    """
    opt_cfg = seg_builder.config.optimizer_cfg
    if not opt_cfg:
        raise ValueError('the config has no `optimizer` section')
    opt_cfg['type'] = optimizer_type(opt_cfg)
    names = [param_name for param_name, _ in model.named_parameters()]
    for i, item in enumerate(opt_cfg.get('custom_cfg') or []):
        if not any(item.get('name', '') in n for n in names):
            logger.warning('optimizer.custom_cfg[%d].name %r matches no parameter name; '
                           'its lr_mult has no effect', i, item.get('name'))
    factory = seg_builder.build_component(opt_cfg)
    return factory(model, seg_builder.lr_scheduler)


def group_lr_multipliers(optimizer):
    """[(lr multiplier, number of parameters)] per parameter group, for logging."""
    groups = getattr(optimizer, '_param_groups', None) or []
    result = []
    for group in groups:
        if isinstance(group, dict):
            result.append((group.get('learning_rate', 1.0), len(group['params'])))
    return result
