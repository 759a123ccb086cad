"""Load a pretrained state dict (local file or URL) into a layer, by name.

PaddleSeg's ``load_pretrained_model`` skips shape-mismatched parameters with a
warning and says nothing about checkpoint keys the model does not have, so a
checkpoint with renamed keys "loads" while leaving the model at random init.
``load_pretrained`` reports every missing / unexpected key by name and refuses
shape mismatches and checkpoints that match nothing.
"""
import hashlib
import os
from dataclasses import dataclass, field
from urllib.parse import urlparse

import paddle
from paddle.utils.download import get_path_from_url
from paddleseg.utils import logger

DEFAULT_CACHE_DIR = os.path.join('~', '.cache', 'paddleseg_fastfcn', 'pretrained')
# How many key names a log line or error message lists before abbreviating.
MAX_KEYS_SHOWN = 20


class PretrainedError(ValueError):
    """A checkpoint cannot be loaded into a layer; the message says why."""


@dataclass
class LoadReport:
    """What ``load_pretrained`` did.

    Attributes:
        path (str): the local checkpoint file that was read.
        loaded (list[str]): layer keys set from the checkpoint.
        missing (list[str]): layer keys the checkpoint does not have (left as is).
        unexpected (list[str]): checkpoint keys (prefix removed) the layer does not have.
    """
    path: str
    loaded: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)


def is_url(path_or_url):
    return urlparse(str(path_or_url)).scheme in ('http', 'https')


def _show(keys):
    shown = ', '.join(keys[:MAX_KEYS_SHOWN])
    if len(keys) > MAX_KEYS_SHOWN:
        shown += ', ... ({} more)'.format(len(keys) - MAX_KEYS_SHOWN)
    return shown


def download(url, cache_dir=None):
    """Download ``url`` once into the cache and return the local file path.

    Uses Paddle's downloader (streams to ``<file>_tmp`` and renames, so an
    interrupted download never leaves a truncated checkpoint under the final
    name; only one process per machine downloads in distributed runs). Each URL
    gets its own sub-directory because many checkpoint URLs end in the same
    file name (``.../model.pdparams``).

    Args:
        url (str): http(s) URL of the file.
        cache_dir (str | None): cache root; default ``$PADDLESEG_FASTFCN_HOME``
            or ``~/.cache/paddleseg_fastfcn/pretrained``.

    Returns:
        str: path of the downloaded (or already cached) file.
    """
    cache_dir = cache_dir or os.environ.get('PADDLESEG_FASTFCN_HOME', DEFAULT_CACHE_DIR)
    url_dir = os.path.join(os.path.expanduser(cache_dir),
                           hashlib.sha1(url.encode('utf-8')).hexdigest()[:16])
    try:
        return get_path_from_url(url, url_dir, decompress=False)
    except (RuntimeError, OSError) as e:
        raise PretrainedError('cannot download pretrained weights from {} into {}: {}'.format(
            url, url_dir, e)) from e


def load_pretrained(layer, path_or_url, prefix='', cache_dir=None):
    """Load the parameters of a checkpoint into ``layer``, matching names.

    Args:
        layer (paddle.nn.Layer): the layer to fill.
        path_or_url (str): a ``.pdparams`` file or an http(s) URL of one.
        prefix (str): only checkpoint keys starting with ``prefix`` are used,
            with the prefix removed (e.g. ``'backbone.'`` to fill a backbone
            from a whole-segmentor checkpoint).
        cache_dir (str | None): download cache root (see :func:`download`).

    Returns:
        LoadReport: loaded, missing and unexpected key names.

    Raises:
        FileNotFoundError: the local file does not exist.
        PretrainedError: the download fails, the file is not a state dict, no
            key matches, or a matching key has a different shape (all such keys
            are named with both shapes).
    """
    path = download(path_or_url, cache_dir) if is_url(path_or_url) else path_or_url
    if not os.path.isfile(path):
        raise FileNotFoundError('pretrained weights file not found: {}'.format(path))
    checkpoint = paddle.load(path)
    if not isinstance(checkpoint, dict):
        raise PretrainedError('{} holds a {}, not a state dict'.format(path, type(checkpoint).__name__))
    checkpoint = {k[len(prefix):]: v for k, v in checkpoint.items() if k.startswith(prefix)}
    state = layer.state_dict()
    report = LoadReport(path=path)
    report.missing = [k for k in state if k not in checkpoint]
    report.unexpected = [k for k in checkpoint if k not in state]
    matched = [k for k in state if k in checkpoint]
    mismatched = ['{}: checkpoint {} vs layer {}'.format(k, list(checkpoint[k].shape), list(state[k].shape))
                  for k in matched if list(checkpoint[k].shape) != list(state[k].shape)]
    name = type(layer).__name__
    if mismatched:
        raise PretrainedError('{}: shape mismatch loading into {}: {}'.format(
            path, name, '; '.join(mismatched)))
    if not matched:
        raise PretrainedError(
            '{}: no key matches {} (prefix {!r}); checkpoint keys: {}; expected keys: {}'.format(
                path, name, prefix, _show(sorted(checkpoint)), _show(list(state))))
    state.update({k: checkpoint[k] for k in matched})
    layer.set_state_dict(state)
    report.loaded = matched
    if report.missing:
        logger.warning('{}: {} key(s) of {} missing from the checkpoint (kept at init): {}'.format(
            path, len(report.missing), name, _show(report.missing)))
    if report.unexpected:
        logger.warning('{}: {} unexpected checkpoint key(s) not in {} (ignored): {}'.format(
            path, len(report.unexpected), name, _show(report.unexpected)))
    logger.info('Loaded {}/{} tensors of {} from {}'.format(len(matched), len(state), name, path))
    return report
