"""The one weight loader: a state dict file (or URL) into a layer, by parameter name.

Files are read by ``weight_files.read_paddle_file`` (never by ``paddle.load``, which
can run code a file names); URLs are fetched and verified by ``download.fetch``.

:func:`load_weights` puts a state dict into a layer under one of three rules:

=====================================  ========================================
use                                    rule
=====================================  ========================================
val / predict / export ``--model_path``  ``strict=True``: every key of the layer
and ``--resume_model``                 and of the file match, same shapes
backbone ``pretrained:`` (ImageNet)    ``strict=True, skip=CLASSIFIER_KEYS``:
                                       exact, except the file's ImageNet
                                       classifier, which the backbone does not build
segmentor ``pretrained:`` (warm start  ``strict=False``: the matching keys load;
from a related model)                  missing / unexpected ones are logged
=====================================  ========================================

Shape mismatches and files that match nothing are errors under every rule; an
error names every missing / unexpected / mis-shaped key and the file.
"""
import fnmatch
import os
from dataclasses import dataclass, field

from paddleseg.utils import logger

from . import download
from .weight_files import WeightsError, file_kind, read_paddle_file

# The classifier of the ImageNet files a backbone is initialised from (PaddleSeg /
# PaddleClas ResNet_vd, torchvision / mmseg / the official deep-stem ResNets all name it `fc`).
CLASSIFIER_KEYS = ('fc.*',)


@dataclass
class LoadReport:
    """What :func:`load_weights` did.

    Attributes:
        path (str): the local file that was read.
        loaded (list[str]): layer keys set from the file.
        missing (list[str]): layer keys the file lacks (left at their init; strict=False only).
        unexpected (list[str]): file keys (prefix removed) the layer lacks (strict=False only).
        skipped (list[str]): file keys matched by ``skip`` patterns (ignored).
    """
    path: str
    loaded: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)
    skipped: list = field(default_factory=list)


def _mismatch_message(path, layer_name, rule, missing, unexpected, mismatched):
    parts = ['{} does not fit {} ({})'.format(path, layer_name, rule)]
    if missing:
        parts.append('{} missing key(s): {}'.format(len(missing), ', '.join(missing)))
    if unexpected:
        parts.append('{} unexpected key(s): {}'.format(len(unexpected), ', '.join(unexpected)))
    if mismatched:
        parts.append('{} shape mismatch(es): {}'.format(len(mismatched), '; '.join(mismatched)))
    return '; '.join(parts)


def _read_state(path, layer, prefix, backbone, cache_dir):
    """The file's state dict (``prefix`` removed); a PyTorch file's keys converted to ``layer``'s names."""
    if file_kind(path) != 'torch':
        state = read_paddle_file(path, 'weights', cache_dir)
        return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if prefix:
        raise WeightsError('{}: a PyTorch file is converted whole onto {}; prefix {!r} is not supported '
                           'for it'.format(path, type(layer).__name__, prefix))
    from .torch_checkpoint import CheckpointMismatch, convert_for_layer, read_torch_checkpoint
    try:
        return convert_for_layer(read_torch_checkpoint(path), layer, backbone_only=backbone).state
    except CheckpointMismatch as e:
        raise WeightsError('{} (a PyTorch file) does not fit {}: {}'.format(path, type(layer).__name__, e)) from e


def load_weights(layer, path_or_url, strict=True, prefix='', skip=(), sha256=None, cache_dir=None,
                 backbone=False):
    """Load a state dict file (or URL) into ``layer`` by parameter name (rules: module doc).

    Args:
        layer (paddle.nn.Layer): the layer to fill.
        path_or_url (str): local file (any kind :func:`read_paddle_file` reads) or http(s) URL.
        strict (bool): every layer key must be in the file and every file key in
            the layer (after ``prefix`` and ``skip``); False loads the matching keys
            and logs the others.
        prefix (str): only file keys starting with it are used, with it removed
            (``'backbone.'`` fills a backbone from a whole-segmentor file).
        skip (tuple[str]): fnmatch patterns of file keys the layer does not build
            (an ImageNet classifier); ignored under every rule.
        sha256 (str | None): expected sha256 of a downloaded file (see ``download.fetch``).
        cache_dir (str | None): download / archive cache root.
        backbone (bool): ``layer`` is a backbone; a PyTorch file is then read as an
            ImageNet file of the backbone's family (``torch_checkpoint.IMAGENET_FAMILIES``),
            else as an official FastFCN segmentor checkpoint. PyTorch keys are renamed
            onto the layer's names before the rule is applied.

    Returns:
        LoadReport

    Raises:
        FileNotFoundError, UnsafePickleError, download.DownloadError: as their names say.
        WeightsError: the file does not fit (every offending key is named) or
            matches nothing; the layer is left unchanged.
    """
    path = (download.fetch(path_or_url, sha256, cache_dir) if download.is_url(path_or_url)
            else str(path_or_url))
    state = _read_state(path, layer, prefix, backbone, cache_dir)
    own = layer.state_dict()
    report = LoadReport(path=path)
    report.skipped = sorted(k for k in state if k not in own and any(fnmatch.fnmatchcase(k, p) for p in skip))
    report.unexpected = sorted(k for k in state if k not in own and k not in report.skipped)
    report.missing = [k for k in own if k not in state]
    matched = [k for k in own if k in state]
    mismatched = ['{}: file {} vs layer {}'.format(k, list(state[k].shape), list(own[k].shape))
                  for k in matched if list(state[k].shape) != list(own[k].shape)]
    name = type(layer).__name__
    rule = 'strict' if strict else 'non-strict'
    if prefix:
        rule += ', prefix {!r}'.format(prefix)
    if mismatched or (strict and (report.missing or report.unexpected)):
        raise WeightsError(_mismatch_message(path, name, rule, report.missing, report.unexpected, mismatched))
    if not matched:
        raise WeightsError('{}: no key matches {} ({}); file keys: {}; layer keys: {}'.format(
            path, name, rule, ', '.join(sorted(state)), ', '.join(own)))
    own.update((k, state[k]) for k in matched)
    layer.set_state_dict(own)
    report.loaded = matched
    if report.missing:
        logger.warning('{}: {} key(s) of {} missing from the file (kept at init): {}'.format(
            path, len(report.missing), name, ', '.join(report.missing)))
    if report.unexpected:
        logger.warning('{}: {} key(s) of the file not in {} (ignored): {}'.format(
            path, len(report.unexpected), name, ', '.join(report.unexpected)))
    logger.info('Loaded {}/{} tensors of {} from {}{}'.format(
        len(matched), len(own), name, path,
        ' (skipped {} file key(s) matching {})'.format(len(report.skipped), list(skip)) if report.skipped else ''))
    return report


# `pretrained: scratch` says "random initialisation, on purpose".
SCRATCH = 'scratch'
WHERE_TO_GET = ('get ImageNet weights as the README\'s pretrained-weights table says (a URL, '
                'or tools/convert_torch_checkpoint.py for a PyTorch .pth, see docs/official_checkpoints.md)')


def is_scratch(pretrained):
    """``pretrained`` is the value that asks for random weights on purpose (``scratch``)."""
    return pretrained is not None and str(pretrained).strip().lower() == SCRATCH


def random_init_warning(layer_name, key='model.backbone.pretrained', on_purpose=False):
    """The log line of a run whose ``layer_name`` starts from random weights."""
    return ('WARNING: {} starts from random weights ({} is {}): it cannot reach the published '
            'accuracy; {}'.format(layer_name, key, SCRATCH if on_purpose else 'not set', WHERE_TO_GET))


def load_warm_start(layer, pretrained, sha256=None, cache_dir=None, key='pretrained'):
    """Initialise ``layer`` from a related model's weights (rule: non-strict), unless told not to.

    Args:
        layer (paddle.nn.Layer): the layer (a whole model, usually).
        pretrained (str | None): path or URL; None (or empty) loads nothing; ``'scratch'``
            keeps the random initialisation on purpose (logged).
        sha256, cache_dir: see :func:`load_weights`.
        key (str): the config key, for the log line.

    Returns:
        LoadReport | None: None when nothing was loaded.

    Raises:
        FileNotFoundError, WeightsError, UnsafePickleError, download.DownloadError:
            see :func:`load_weights`.
    """
    if pretrained is None or pretrained == '':
        return None
    if is_scratch(pretrained):
        logger.info('{} starts from random weights on purpose ({} is {})'.format(
            type(layer).__name__, key, SCRATCH))
        return None
    return load_weights(layer, pretrained, strict=False, sha256=sha256, cache_dir=cache_dir)


def load_backbone_weights(backbone, pretrained, sha256=None, cache_dir=None, key='model.backbone.pretrained'):
    """Initialise a backbone from its ImageNet file (rule: exact except the classifier).

    Args:
        backbone (paddle.nn.Layer): the backbone.
        pretrained (str | None): path or URL; None or ``'scratch'`` keeps the random
            initialisation (and logs a WARNING saying so).
        sha256 (str | None): ``pretrained_sha256`` of the config.
        cache_dir (str | None): download cache root.
        key (str): the config key, for messages.

    Returns:
        str | None: the WARNING line for a random start (to repeat in the run's
        log), None when weights were loaded.

    Raises:
        FileNotFoundError: a local ``pretrained`` path does not exist; the message
            says where to get the weights and how to start from scratch on purpose.
        WeightsError, UnsafePickleError, download.DownloadError: see :func:`load_weights`.
    """
    if pretrained is None or is_scratch(pretrained):
        message = random_init_warning(type(backbone).__name__, key, on_purpose=pretrained is not None)
        logger.warning(message)
        return message
    if not download.is_url(pretrained) and not os.path.isfile(str(pretrained)):
        raise FileNotFoundError(
            '{}: backbone weights not found: {}. To fix: {}; to train from random weights on '
            'purpose, set `{}: {}` (e.g. --opts {}={})'.format(key, pretrained, WHERE_TO_GET, key,
                                                                SCRATCH, key, SCRATCH))
    load_weights(backbone, pretrained, strict=True, skip=CLASSIFIER_KEYS, sha256=sha256, cache_dir=cache_dir,
                 backbone=True)
    return None
