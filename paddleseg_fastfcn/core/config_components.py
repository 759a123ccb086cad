"""Component dicts against the classes they name: a registered ``type``, known keyword arguments.

PaddleSeg's ``SegBuilder`` finds a component's class by its ``type`` in the registries
(``paddleseg.cvlibs.manager``) and calls it with the other keys; a misspelt type or key
surfaces only while building, as "The specified component (X) was not found" or a
``TypeError`` from deep inside, without the file or line. Here the same lookup runs on
the config before anything is built, so ``core.builder`` can name where the key is
written. Classes that take ``**kwargs`` accept any key.
"""
import difflib
import inspect

import paddle
from paddleseg.cvlibs import manager

from .config_schema import Violation
from .optim import optimizer_type

# SegBuilder's registries, in its lookup order.
REGISTRIES = (manager.MODELS, manager.BACKBONES, manager.DATASETS, manager.TRANSFORMS,
              manager.LOSSES, manager.OPTIMIZERS)

# lr_scheduler keys SegBuilder consumes itself (the linear warm-up) before calling the class.
SCHEDULER_BUILDER_KEYS = ('warmup_iters', 'warmup_start_lr')


def registered_class(name):
    """The class (or factory) SegBuilder builds for ``type: name``, or None."""
    for registry in REGISTRIES:
        if name in registry.components_dict:
            return registry.components_dict[name]
    return None


def _arguments(component):
    """Keyword argument names of ``component``, or None when it takes ``**kwargs``."""
    try:
        params = inspect.signature(component).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _check_keys(path, dic, component, name, extra=()):
    accepted = _arguments(component)
    if accepted is None:
        return []
    return [Violation(path + (key,), value, 'an argument of {} ({})'.format(
                name, ', '.join(list(accepted) + list(extra))))
            for key, value in dic.items() if key != 'type' and key not in accepted and key not in extra]


def _unknown_type(path, name, names, what):
    close = difflib.get_close_matches(str(name), names, n=3)
    hint = '; did you mean {}?'.format(' or '.join(close)) if close else ''
    return Violation(path + ('type',), name, 'the name of a registered {}{}'.format(what, hint))


def _walk(path, value):
    """Violations of every component dict (a dict with ``type``) under ``value``, as SegBuilder nests them."""
    found = []
    if isinstance(value, dict) and isinstance(value.get('type'), str):
        component = registered_class(value['type'])
        if component is None:
            names = [n for r in REGISTRIES for n in r.components_dict]
            return [_unknown_type(path, value['type'], names, 'component')]
        found += _check_keys(path, value, component, value['type'])
    if isinstance(value, dict):
        for key, item in value.items():
            found += _walk(path + (key,), item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _walk(path + (index,), item)
    return found


def component_violations(dic):
    """Unregistered types and unknown keyword arguments in the config dict ``dic``.

    Covers the components SegBuilder builds through the registries (model and its parts,
    datasets and their transforms, losses, ``export.transforms``) and the
    ``lr_scheduler`` (a ``paddle.optimizer.lr`` class) and the ``optimizer``, under the
    name SegBuilder gives it (``SGD`` with a ``momentum`` key is ``Momentum``).

    Returns:
        list[Violation]
    """
    found = []
    for key in ('model', 'train_dataset', 'val_dataset', 'loss', 'export'):
        if key in dic:
            found += _walk((key,), dic[key])
    scheduler = dic.get('lr_scheduler')
    if isinstance(scheduler, dict) and isinstance(scheduler.get('type'), str):
        cls = getattr(paddle.optimizer.lr, scheduler['type'], None)
        if not (inspect.isclass(cls) and issubclass(cls, paddle.optimizer.lr.LRScheduler)):
            names = [n for n in dir(paddle.optimizer.lr) if n[0].isupper()]
            found.append(_unknown_type(('lr_scheduler',), scheduler['type'], names,
                                       'paddle.optimizer.lr scheduler'))
        else:
            found += _check_keys(('lr_scheduler',), scheduler, cls, scheduler['type'],
                                 extra=SCHEDULER_BUILDER_KEYS)
    found += _optimizer_violations(dic.get('optimizer'))
    return found


def _optimizer_violations(opt_cfg):
    if not (isinstance(opt_cfg, dict) and isinstance(opt_cfg.get('type'), str)):
        return []
    name = optimizer_type(opt_cfg)
    cls = manager.OPTIMIZERS.components_dict.get(name)
    if cls is None:
        return [_unknown_type(('optimizer',), opt_cfg['type'], list(manager.OPTIMIZERS.components_dict),
                              'optimizer')]
    return _check_keys(('optimizer',), opt_cfg, cls, name)
