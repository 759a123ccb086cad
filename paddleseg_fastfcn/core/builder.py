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
where to get the weights. ``model.pretrained`` (a warm start of the whole model) is
optional; ``scratch`` there marks a model without a backbone (Fast-SCNN) as trained
from random weights on purpose, which the log says.
"""
import copy
import os

import yaml
from paddleseg.cvlibs import Config
from paddleseg.cvlibs.config import parse_from_yaml, update_config_dict

import paddleseg_fastfcn  # noqa: F401  (registers components)
from . import config_schema
from .config_components import component_violations
from .seg_builder import WeightLoadingSegBuilder
from .precise_bn import parse_precise_bn

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
    # paddleseg-fastfcn: re-estimate BatchNorm statistics before each evaluation (core.precise_bn).
    'precise_bn',
})
# PaddleSeg 2.8 keys this project's trainer does not implement: PaddleSeg would
# parse them and the run would silently differ from what the file asks for.
UNSUPPORTED_TOP_LEVEL_KEYS = {
    'to_static_training': 'training runs in dygraph only (export.py converts the trained '
                          'model to a static graph); remove the key',
    'distill_loss': 'this trainer has no knowledge-distillation mode; remove the key',
}


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
        # Depth first, in the order PaddleSeg merges: a file wins over its bases, an
        # earlier base (with its own bases) over a later one. Joined as PaddleSeg joins them,
        # not normalised: `..` must be resolved by the file system after symlinked folders
        # (normpath would drop a symlinked directory before its `..`).
        todo[0:0] = [(os.path.join(os.path.dirname(p), b), p) for b in bases]
    return chain


def _mark_in(node, path):
    """(depth reached, its yaml mark, whether a list was passed) for ``path`` in ``node``."""
    depth, mark, through_list = 0, node.start_mark, False
    for part in path:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            entry = next(((k, v) for k, v in node.value if k.value == part), None)
            if entry is None:
                break
            mark, node = entry[0].start_mark, entry[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            through_list = True
            if part >= len(node.value):
                break
            node = node.value[part]
            mark = node.start_mark
        else:
            break
        depth += 1
    return depth, mark, through_list


def locate_key(path, key):
    """``file:line`` where ``key`` is written in ``path`` or its ``_base_`` files.

    Args:
        path (str): the config file.
        key (str | Sequence): a top-level key, or the keys and list indices down to a
            nested value, e.g. ``('train_dataset', 'transforms', 2, 'crop_size')``.

    Returns:
        str: ``file:line`` of the file whose value PaddleSeg uses (a file before its
        bases; a list is replaced whole, so the file that writes the list owns its
        items), or of the nearest enclosing key written; ``path`` if none is.
    """
    keys = (key,) if isinstance(key, str) else tuple(key)
    best = None
    for p in _base_chain(path):
        with open(p, 'r', encoding='utf-8') as f:
            root = yaml.compose(f)
        if root is None:
            continue
        depth, mark, through_list = _mark_in(root, keys)
        found = '{}:{}'.format(p, mark.line + 1)
        if depth == len(keys) or (through_list and depth > 0):
            return found
        if depth > 0 and (best is None or depth > best[0]):
            best = (depth, found)
    return best[1] if best else path


_MISSING = object()


def _value_at(dic, path):
    for part in path:
        try:
            dic = dic[part]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return dic


def _where(path, file_dic, dic, keys):
    """file:line of ``keys``, or 'the command line' when an override set the value."""
    in_file, used = _value_at(file_dic, keys), _value_at(dic, keys)
    # A mapping (a violation about a missing key) is where the file writes it, even when
    # an override changed one of its other keys.
    # `is` first: a NaN the file writes is not equal to itself (the merged dict holds the same object).
    if in_file is _MISSING or (in_file is not used and in_file != used and not isinstance(in_file, dict)):
        return 'the command line (overriding {})'.format(path)
    return locate_key(path, keys)


def _check_values(path, file_dic, dic, violations):
    if not violations:
        return
    lines = ['{}: {}: found {!r}, expected {}'.format(
        _where(path, file_dic, dic, v.path), v.key or '(top level)', v.value, v.expected)
        for v in violations]
    if len(lines) == 1:
        raise ConfigError('invalid config value: {}'.format(lines[0]))
    raise ConfigError('invalid config values:\n  {}'.format('\n  '.join(lines)))


def _check_dataset_roots(path, dic, datasets):
    for key in datasets:
        if not isinstance(dic.get(key), dict):
            raise ConfigError('{}: `{}` is needed here but the config has none'.format(path, key))
        root = dic[key].get('dataset_root')
        if isinstance(root, str) and not os.path.isdir(root):
            raise ConfigError('{}: {}.dataset_root: folder {!r} does not exist (relative paths are '
                              'from the working directory {})'.format(
                                  locate_key(path, (key, 'dataset_root')), key, root, os.getcwd()))


def load_config(path, learning_rate=None, batch_size=None, iters=None, opts=None, datasets=()):
    """Parse and check a PaddleSeg-schema YAML config.

    Args:
        path (str): the YAML file.
        learning_rate, batch_size, iters: command-line overrides (None keeps the file's).
        opts (list[str]): ``key.sub=value`` overrides, as PaddleSeg's ``--opts``.
        datasets (Sequence[str]): the dataset keys the caller will read (``train_dataset``,
            ``val_dataset``): their ``dataset_root`` must be a folder.

    Returns:
        paddleseg.cvlibs.Config

    Raises:
        ConfigError: missing file, YAML syntax error, an unknown top-level key, a
            PaddleSeg key this project does not implement, a value outside
            ``config_schema.SCHEMA``, or a component ``type`` / keyword argument its
            class does not have (``config_components``); each named by file:line,
            key, value and expectation; or a bad ``precise_bn`` value.
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
    file_dic = parse_from_yaml(path)
    try:
        dic = update_config_dict(copy.deepcopy(file_dic), learning_rate=learning_rate,
                                 batch_size=batch_size, iters=iters, opts=opts)
    except (AssertionError, KeyError, TypeError) as e:
        raise ConfigError('{}: cannot apply the command-line overrides: {}'.format(path, e)) from e
    _check_values(path, file_dic, dic, config_schema.violations(dic) + component_violations(dic))
    _check_dataset_roots(path, dic, datasets)
    try:
        cfg = Config(path, learning_rate=learning_rate, batch_size=batch_size,
                     iters=iters, opts=opts)
        cfg.source_path = path  # for the checks that need the built model (build_model)
    except (AssertionError, RuntimeError, ValueError) as e:
        raise ConfigError('{}: {}'.format(path, e)) from e
    try:
        parse_precise_bn(cfg.dic.get('precise_bn'), locate_key(path, 'precise_bn'),
                         cfg.batch_size, cfg.iters)
    except ValueError as e:
        raise ConfigError(str(e)) from e
    return cfg


def build_model(cfg, load_pretrained=True):
    """Build ``cfg``'s model through PaddleSeg's registries (see :class:`WeightLoadingSegBuilder`)."""
    try:
        model = WeightLoadingSegBuilder(cfg, load_pretrained).model
    except (RuntimeError, KeyError, AssertionError) as e:
        # One line (PaddleSeg's message spans several), naming the file.
        raise ConfigError('{}: cannot build `model`: {}'.format(
            getattr(cfg, 'source_path', 'the config'), ' '.join(str(e).split()))) from e
    return model


def check_loss_terms(cfg, model):
    """Training only: ``loss`` must give one term per training output of ``model``.

    Models that name their training outputs (``train_output_names``, e.g.
    FastFCNSegmentor: seg, aux, se) are checked; others pass.

    Raises:
        ConfigError: naming file:line (or the command line), the key, what was found
            and how many terms the model needs.
    """
    outputs = getattr(model, 'train_output_names', None)
    bad = outputs and config_schema.loss_count_violation(cfg.dic, outputs)
    if bad:
        path = getattr(cfg, 'source_path', None)
        where = _where(path, parse_from_yaml(path), cfg.dic, bad.path) if path else 'config'
        raise ConfigError('{}: {}: found {!r}, expected {}'.format(where, bad.key, bad.value, bad.expected))


def builder(cfg, load_pretrained=True):
    """A ``WeightLoadingSegBuilder`` for model, datasets, losses, optimizer and scheduler."""
    return WeightLoadingSegBuilder(cfg, load_pretrained)
