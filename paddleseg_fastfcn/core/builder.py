"""The one code path from a YAML file to built components.

train.py, val.py, predict.py, export.py and the tools all call ``load_config``
and ``build_model`` so that a config means the same thing everywhere. Parsing,
``_base_`` inheritance and component building are PaddleSeg 2.8's own
(``paddleseg.cvlibs.Config`` / ``SegBuilder``, which work on Paddle 3); this module
adds the checks PaddleSeg lacks: unknown top-level keys (a typo such as ``iter:``
is silently ignored by PaddleSeg), PaddleSeg keys this trainer does not implement
(``to_static_training``, ``distill_loss``), and errors that name the file and line, and
it loads ``pretrained`` weights itself through ``utils.weights`` (PaddleSeg's
backbones would read them with ``paddle.load``, which runs code a file names).

Backbone weights: ``model.backbone.pretrained`` is a path or URL (a ``.pdparams``,
a PaddleSeg ``.tar.gz``, a PyTorch ``.pth``), optionally checked against
``model.backbone.pretrained_sha256``; ``scratch`` starts from random weights on
purpose. Unset (PaddleSeg's ``null``) also starts from random weights; both log a
WARNING. A local path that does not exist stops the build with an error saying
where to get the weights.
"""
import os
import re

import yaml
from paddleseg.cvlibs import Config, SegBuilder
from paddleseg.cvlibs.config import parse_from_yaml
from paddleseg.utils.utils import CachedProperty

import paddleseg_fastfcn  # noqa: F401  (registers components)
from paddleseg_fastfcn.utils.weights import load_backbone_weights, load_weights

# Config keys of weight files, taken out before PaddleSeg builds the components.
WEIGHT_KEYS = ('pretrained', 'pretrained_sha256')

# PaddleSeg 2.8's top-level schema plus this project's additions.
KNOWN_TOP_LEVEL_KEYS = frozenset({
    'batch_size', 'iters', 'train_dataset', 'val_dataset', 'optimizer',
    'lr_scheduler', 'loss', 'model', 'test_config', 'export',
    # paddleseg-fastfcn: SyncBN switch for multi-GPU training.
    'sync_bn',
    # paddleseg-fastfcn: class names of the evaluation reports (a built-in list or a names
    # file, see datasets/class_names.py); top level because PaddleSeg's dataset classes
    # accept no extra keyword.
    'class_names',
})
# PaddleSeg 2.8 keys this project's trainer does not implement: PaddleSeg would
# parse them and the run would silently differ from what the file asks for.
UNSUPPORTED_TOP_LEVEL_KEYS = {
    'to_static_training': 'training runs in dygraph only (export.py converts the trained '
                          'model to a static graph); remove the key',
    'distill_loss': 'this trainer has no knowledge-distillation mode; remove the key',
}
# Sections whose sub-keys this project reads in full (core/export.py: deploy_transforms).
SECTION_KEYS = {'export': frozenset({'transforms'})}


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


def _check_sections(path, dic):
    """Sub-keys of ``SECTION_KEYS`` sections must be known (``export: {transform: ...}`` is a typo)."""
    for section, allowed in SECTION_KEYS.items():
        value = dic.get(section)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise ConfigError('`{}` (at {}) must be a mapping, got {!r}'.format(
                section, locate_key(path, section), value))
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise ConfigError('unknown key(s) {} in `{}` (at {}); known keys are {}'.format(
                ', '.join(unknown), section, locate_key(path, section), ', '.join(sorted(allowed))))
        if 'transforms' in value and not isinstance(value['transforms'], list):
            raise ConfigError('`{}.transforms` (at {}) must be a list of transforms'.format(
                section, locate_key(path, section)))


def load_config(path, learning_rate=None, batch_size=None, iters=None, opts=None):
    """Parse and check a PaddleSeg-schema YAML config.

    Args:
        path (str): the YAML file.
        learning_rate, batch_size, iters: command-line overrides (None keeps the file's).
        opts (list[str]): ``key.sub=value`` overrides, as PaddleSeg's ``--opts``.

    Returns:
        paddleseg.cvlibs.Config

    Raises:
        ConfigError: missing file, YAML syntax error, an unknown top-level key,
            or a PaddleSeg key this project does not implement.
    """
    if not os.path.isfile(path):
        raise ConfigError('config file not found: {}'.format(path))
    _base_chain(path)  # missing bases and YAML errors, named by file
    # Unknown keys first: a typo such as `optimiser:` would otherwise surface as
    # PaddleSeg's less helpful "No optimizer specified".
    keys = set(parse_from_yaml(path))
    refused = sorted(keys & set(UNSUPPORTED_TOP_LEVEL_KEYS))
    if refused:
        raise ConfigError('; '.join('unsupported config key {!r} (at {}): {}'.format(
            key, locate_key(path, key), UNSUPPORTED_TOP_LEVEL_KEYS[key]) for key in refused))
    unknown = sorted(keys - KNOWN_TOP_LEVEL_KEYS)
    for item in opts or []:
        # PaddleSeg adds an unknown top-level `--opts` key silently (`itres=5`
        # would train with the file's iters).
        top = item.split('=', 1)[0].split('.', 1)[0]
        if '=' in item and top in UNSUPPORTED_TOP_LEVEL_KEYS:
            raise ConfigError('--opts {}: unsupported config key {!r}: {}'.format(
                item, top, UNSUPPORTED_TOP_LEVEL_KEYS[top]))
        if '=' in item and top not in KNOWN_TOP_LEVEL_KEYS:
            raise ConfigError('--opts {}: unknown top-level config key {!r}; known keys are {}'.format(
                item, top, ', '.join(sorted(KNOWN_TOP_LEVEL_KEYS))))
    if unknown:
        where = ', '.join('{} (at {})'.format(k, locate_key(path, k)) for k in unknown)
        raise ConfigError('unknown top-level config key(s): {}; known keys are {}'.format(
            where, ', '.join(sorted(KNOWN_TOP_LEVEL_KEYS))))
    _check_sections(path, parse_from_yaml(path))
    try:
        return Config(path, learning_rate=learning_rate, batch_size=batch_size,
                      iters=iters, opts=opts)
    except (AssertionError, RuntimeError, ValueError) as e:
        raise ConfigError('{}: {}'.format(path, e)) from e


def _take(section, keys):
    """Remove ``keys`` from the dict ``section``; returns {key: value or None}."""
    if not isinstance(section, dict):
        return {k: None for k in keys}
    return {k: section.pop(k, None) for k in keys}


class WeightLoadingSegBuilder(SegBuilder):
    """PaddleSeg's SegBuilder, with ``pretrained`` weights read by the safe loader.

    Args:
        cfg (paddleseg.cvlibs.Config): the config.
        load_pretrained (bool): False builds without reading any ``pretrained``
            file (val / predict / export load a trained model over it anyway).

    Attributes:
        random_init_warning (str | None): after ``model``: the WARNING line when
            the backbone starts from random weights.
    """

    def __init__(self, cfg, load_pretrained=True):
        super().__init__(cfg)
        self.load_pretrained = load_pretrained
        self.random_init_warning = None

    @CachedProperty
    def model(self):
        model_dic = self.config.dic.get('model') or {}
        as_written = dict(model_dic)
        has_backbone = isinstance(model_dic.get('backbone'), dict)
        if has_backbone:
            model_dic['backbone'] = dict(model_dic['backbone'])
        backbone_weights = _take(model_dic.get('backbone'), WEIGHT_KEYS)
        model_weights = _take(model_dic, WEIGHT_KEYS)
        try:
            model = SegBuilder.model.func(self)
        finally:  # the config stays as written (it may be built again)
            model_dic.clear()
            model_dic.update(as_written)
        if not self.load_pretrained:
            return model
        if has_backbone:
            self.random_init_warning = load_backbone_weights(
                model.backbone, backbone_weights['pretrained'], backbone_weights['pretrained_sha256'])
        if model_weights['pretrained']:
            load_weights(model, model_weights['pretrained'], strict=False,
                         sha256=model_weights['pretrained_sha256'])
        return model


def build_model(cfg, load_pretrained=True):
    """Build ``cfg``'s model through PaddleSeg's registries (see :class:`WeightLoadingSegBuilder`)."""
    try:
        return WeightLoadingSegBuilder(cfg, load_pretrained).model
    except (RuntimeError, KeyError, AssertionError) as e:
        raise ConfigError('cannot build `model` from the config: {}'.format(e)) from e


def builder(cfg, load_pretrained=True):
    """A ``WeightLoadingSegBuilder`` for model, datasets, losses, optimizer and scheduler."""
    return WeightLoadingSegBuilder(cfg, load_pretrained)
