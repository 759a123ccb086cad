"""The one code path from a YAML file to built components.

train.py, val.py, predict.py, export.py and the tools all call ``load_config``
and ``build_model`` so that a config means the same thing everywhere. Parsing,
``_base_`` inheritance and component building are PaddleSeg 2.8's own
(``paddleseg.cvlibs.Config`` / ``SegBuilder``, which work on Paddle 3); this module
adds the checks PaddleSeg lacks: unknown top-level keys (a typo such as ``iter:``
is silently ignored by PaddleSeg) and errors that name the file and line.
"""
import os
import re

import yaml
from paddleseg.cvlibs import Config, SegBuilder
from paddleseg.cvlibs.config import parse_from_yaml

import paddleseg_fastfcn  # noqa: F401  (registers components)
from paddleseg_fastfcn.core.precise_bn import parse_precise_bn

# PaddleSeg 2.8's top-level schema plus this project's additions.
KNOWN_TOP_LEVEL_KEYS = frozenset({
    'batch_size', 'iters', 'train_dataset', 'val_dataset', 'optimizer',
    'lr_scheduler', 'loss', 'distill_loss', 'model', 'test_config', 'export',
    'to_static_training',
    # paddleseg-fastfcn: SyncBN switch for multi-GPU training.
    'sync_bn',
    # paddleseg-fastfcn: re-estimate BatchNorm statistics before each evaluation (core.precise_bn).
    'precise_bn',
})


class ConfigError(ValueError):
    """A config file is invalid; the message names the file, line and key."""


def _base_chain(path):
    """The YAML files a config reads, itself first, then its ``_base_`` files."""
    chain, todo = [], [(os.path.abspath(path), None)]
    while todo:
        p, child = todo.pop(0)
        if not os.path.isfile(p):
            raise ConfigError('{}: _base_ file not found: {}'.format(child, p))
        chain.append(p)
        try:
            with open(p, 'r', encoding='utf-8') as f:
                dic = yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            raise ConfigError('YAML syntax error in {}: {}'.format(p, e)) from e
        if not isinstance(dic, dict):
            raise ConfigError('{}: a config must be a YAML mapping'.format(p))
        bases = dic.get('_base_', [])
        bases = [bases] if isinstance(bases, str) else bases
        todo.extend((os.path.join(os.path.dirname(p), b), p) for b in bases)
    return chain


def locate_key(path, key):
    """``file:line`` where top-level ``key`` is written in ``path`` or its bases."""
    pattern = re.compile(r'^{}\s*:'.format(re.escape(key)))
    for p in _base_chain(path):
        with open(p, 'r', encoding='utf-8') as f:
            for lineno, line in enumerate(f, 1):
                if pattern.match(line):
                    return '{}:{}'.format(p, lineno)
    return path


def load_config(path, learning_rate=None, batch_size=None, iters=None, opts=None):
    """Parse and check a PaddleSeg-schema YAML config.

    Args:
        path (str): the YAML file.
        learning_rate, batch_size, iters: command-line overrides (None keeps the file's).
        opts (list[str]): ``key.sub=value`` overrides, as PaddleSeg's ``--opts``.

    Returns:
        paddleseg.cvlibs.Config

    Raises:
        ConfigError: missing file, YAML syntax error, an unknown top-level key, or a
            bad ``precise_bn`` value.
    """
    if not os.path.isfile(path):
        raise ConfigError('config file not found: {}'.format(path))
    _base_chain(path)  # missing bases and YAML errors, named by file
    # Unknown keys first: a typo such as `optimiser:` would otherwise surface as
    # PaddleSeg's less helpful "No optimizer specified".
    unknown = sorted(set(parse_from_yaml(path)) - KNOWN_TOP_LEVEL_KEYS)
    for item in opts or []:
        # PaddleSeg adds an unknown top-level `--opts` key silently (`itres=5`
        # would train with the file's iters).
        top = item.split('=', 1)[0].split('.', 1)[0]
        if '=' in item and top not in KNOWN_TOP_LEVEL_KEYS:
            raise ConfigError('--opts {}: unknown top-level config key {!r}; known keys are {}'.format(
                item, top, ', '.join(sorted(KNOWN_TOP_LEVEL_KEYS))))
    if unknown:
        where = ', '.join('{} (at {})'.format(k, locate_key(path, k)) for k in unknown)
        raise ConfigError('unknown top-level config key(s): {}; known keys are {}'.format(
            where, ', '.join(sorted(KNOWN_TOP_LEVEL_KEYS))))
    try:
        cfg = Config(path, learning_rate=learning_rate, batch_size=batch_size,
                     iters=iters, opts=opts)
    except (AssertionError, RuntimeError, ValueError) as e:
        raise ConfigError('{}: {}'.format(path, e)) from e
    try:
        parse_precise_bn(cfg.dic.get('precise_bn'), locate_key(path, 'precise_bn'),
                         cfg.batch_size)
    except ValueError as e:
        raise ConfigError(str(e)) from e
    return cfg


def build_model(cfg):
    """Build ``cfg``'s model through PaddleSeg's SegBuilder (the registries)."""
    try:
        return SegBuilder(cfg).model
    except (RuntimeError, KeyError, AssertionError) as e:
        raise ConfigError('cannot build `model` from the config: {}'.format(e)) from e


def builder(cfg):
    """A PaddleSeg ``SegBuilder`` for datasets, losses, optimizer and scheduler."""
    return SegBuilder(cfg)
