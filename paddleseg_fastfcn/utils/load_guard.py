"""One door for every weight file a config can name: Paddle's and PaddleSeg's loaders, replaced.

A config builds components by name (PaddleSeg's and this project's, in every
registry) and hands them its values. Many PaddleSeg components read a ``pretrained``
path with ``paddleseg.utils.utils.load_pretrained_model`` / ``load_entire_model``,
which call ``paddle.load``; and ``paddle.load`` is ``pickle.load``, so a weight file
named anywhere in a config (any depth, ``_base_`` files, ``--opts``) could run code.
Taking the keys out of the config cannot reach every depth, so :func:`install`
replaces the loaders themselves, wherever a module holds them:

* ``paddle.load`` (every alias): files are read by ``weight_files.read_paddle_file``
  (an allow-listed unpickler); other inputs (a file object, an inference-model
  prefix) go to Paddle's own reader, whose ``pickle`` is the restricted one below.
* PaddleSeg's ``load_pretrained_model`` / ``load_entire_model``:
  ``weights.load_warm_start`` (None: nothing; ``scratch``: random weights on
  purpose, which PaddleSeg's version would read as a file path; a URL: fetched and
  verified by ``download.fetch``; a file: the non-strict rule). PaddleSeg's
  ``download_pretrained_model`` (unchecked download, archive extraction without path
  checks): ``download.fetch``. PaddleSeg's ``resume`` reads through ``paddle.load``.
* Paddle's other pickle readers (``paddle.static.load`` / ``load_program_state``,
  ``paddle.jit.load``'s ``.info`` files, ``paddle.Model.load``): the modules' ``pickle``
  is replaced by one whose ``load`` / ``loads`` / ``Unpickler`` admit only
  ``weight_files.PADDLE_GLOBALS``.
* ``paddle.hub.load`` / ``list`` / ``help`` run a repository's ``hubconf.py``: refused.
* PaddleSeg's ``parse_from_yaml`` (``yaml.FullLoader``, which builds
  ``!!python/name:`` objects): the same merge over ``yaml.safe_load``.
* PaddleSeg components that ``eval`` a config string (``norm_layer`` of the ViT / CAE
  backbones, ``arm_type`` of PP-LiteSeg / MobileSeg): the value must be a plain name.
"""
import functools
import inspect
import io
import os
import pickle
import sys
import types

import numpy as np
import yaml

from . import download, limits
from .pickle_bounds import map_leaves
from .safe_pickle import UnsafePickleError, restricted_load_at
from .weight_files import PADDLE_GLOBALS, read_paddle_file
from .weights import load_warm_start


class RefusedLoaderError(ValueError):
    """A loader that would run code a file or repository names; it is not available."""


# Modules of Paddle whose pickle readers a component can reach (found by reading Paddle
# 3.3.1: every `pickle.load` / `loads` / `Unpickler` outside distributed / datasets / tests).
PICKLE_READER_MODULES = ('paddle.framework.io', 'paddle.framework.io_utils', 'paddle.static.io',
                         'paddle.static.pir_io', 'paddle.static.io_utils', 'paddle.jit.translated_layer',
                         'paddle.hapi.model')
# Component classes that eval() a config string, and those arguments.
EVALUATED_ARGUMENTS = {'paddleseg.models.backbones.vision_transformer.VisionTransformer': ('norm_layer',),
                       'paddleseg.models.backbones.cae.CAE': ('norm_layer',),
                       'paddleseg.models.pp_liteseg.PPLiteSeg': ('arm_type',),
                       'paddleseg.models.mobileseg.MobileSeg': ('arm_type',)}
WHAT_BY_SUFFIX = {'.pdparams': 'weights', '.pdopt': 'optimizer state'}


class _PaddleUnpickler:
    """``pickle.Unpickler``'s interface over the bounded, allow-listed reader.

    ``load`` reads the one pickle at the file's position through
    ``safe_pickle.restricted_load_at`` (declared sizes checked against the bytes and the
    caps, then only :data:`PADDLE_GLOBALS` admitted) and leaves the file just past it, as
    ``pickle.load`` does (a file may hold several pickles in a row).
    """

    def __init__(self, file, *, encoding='ASCII', **_):
        self._file, self._encoding = file, encoding

    def load(self):
        name = str(getattr(self._file, 'name', '<memory buffer>'))
        start = self._file.tell()
        data = self._file.read(limits.cap('WEIGHT_BYTES') + 1)
        limits.check('WEIGHT_BYTES', len(data), name, 'its size in bytes')
        obj, end = restricted_load_at(data, 0, name, PADDLE_GLOBALS, what='a Paddle file',
                                      encoding=self._encoding)
        self._file.seek(start + end)
        return obj


def _restricted_pickle():
    """A copy of the ``pickle`` module whose readers admit only :data:`PADDLE_GLOBALS`."""
    shim = types.ModuleType('pickle', 'pickle, reading only what paddle.save writes')
    shim.__dict__.update((k, v) for k, v in vars(pickle).items() if not k.startswith('__'))
    shim.Unpickler = _PaddleUnpickler
    shim.load = lambda file, **kw: _PaddleUnpickler(file, **kw).load()
    shim.loads = lambda data, **kw: _PaddleUnpickler(io.BytesIO(data), **kw).load()
    return shim


def _to_tensors(state):
    """``state`` (read and checked by ``read_paddle_file``) with every array a paddle Tensor."""
    import paddle
    return map_leaves(state, lambda v: paddle.to_tensor(v) if isinstance(v, np.ndarray) else v)


def safe_paddle_load(original):
    """``paddle.load`` with files read by ``read_paddle_file`` (``what`` from the suffix).

    A file gives what ``paddle.load`` gives for a state dict / optimizer state: a dict of
    Tensors (of arrays with ``return_numpy=True``); a file holding anything else (a
    single saved Tensor) is refused as not a state dict. Buffers are checked by the
    restricted unpickler first (Paddle's reader would hide the refusal behind "can not
    parse"), then read by Paddle; inference-model prefixes and safetensors go to Paddle.
    """

    @functools.wraps(original)
    def load(path, **configs):
        if configs.get('safetensors'):  # not a pickle
            return original(path, **configs)
        if hasattr(path, 'read'):
            # Paddle's reader would turn the refusal into "can not parse": check first.
            start = path.tell()
            try:
                _PaddleUnpickler(path, encoding='latin1').load()
            except UnsafePickleError:
                raise
            except Exception:  # not a pickle: Paddle's reader tries its other formats
                pass
            path.seek(start)
        elif os.path.isfile(path):
            what = WHAT_BY_SUFFIX.get(os.path.splitext(str(path))[1], 'state')
            state = read_paddle_file(str(path), what)
            return state if configs.get('return_numpy') else _to_tensors(state)
        return original(path, **configs)  # its pickle is the restricted one
    return load


def load_pretrained_model(model, pretrained_model):
    """PaddleSeg's ``load_pretrained_model`` meaning, through the safe loader (module doc)."""
    load_warm_start(model, pretrained_model)


def load_entire_model(model, pretrained):
    """PaddleSeg's ``load_entire_model`` meaning, through the safe loader (module doc)."""
    load_warm_start(model, pretrained)


def download_pretrained_model(pretrained_model):
    """A verified, cached download; the caller's ``paddle.load`` unpacks archives safely."""
    return download.fetch(pretrained_model)


def _refuse(name):
    def refused(*args, **kwargs):
        raise RefusedLoaderError(
            '{} is not available: it imports and runs the hubconf.py of the repository it is '
            'given (refused for: {})'.format(name, ', '.join(map(repr, args))))
    return refused


def parse_from_yaml(path):
    """PaddleSeg's ``parse_from_yaml`` over ``yaml.safe_load`` (no Python tags)."""
    from paddleseg.cvlibs.config import merge_config_dicts
    with open(path, 'r', encoding='utf-8') as f:
        try:
            dic = yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            raise ValueError('{}: not a plain YAML config: {}'.format(path, e)) from None
    bases = dic.pop('_base_', [])
    for base in [bases] if isinstance(bases, str) else bases:
        dic = merge_config_dicts(dic, parse_from_yaml(os.path.join(os.path.dirname(path), base)))
    return dic


def _names_only(cls, arguments):
    """Wrap ``cls.__init__`` so that ``arguments`` (eval'ed by it) must be plain names."""
    init = cls.__init__

    @functools.wraps(init)
    def checked(self, *args, **kwargs):
        bound = inspect.signature(init).bind_partial(self, *args, **kwargs)
        for name in arguments:
            value = bound.arguments.get(name)
            # Dotted names only ('nn.LayerNorm'): no call, no operator, no dunder can be written.
            if value is not None and not (isinstance(value, str) and '__' not in value
                                          and all(p.isidentifier() for p in value.split('.'))):
                raise ValueError('{}.{}: {!r} is not a layer name (the component evaluates it as '
                                 'code)'.format(cls.__name__, name, value))
        return init(self, *args, **kwargs)
    cls.__init__ = checked


# (replaced object, its replacement) once installed; keeps the replaced objects alive, so
# that their ids stay theirs.
REPLACED = []


def install():
    """Replace the loaders (module doc); idempotent. Called by ``import paddleseg_fastfcn``."""
    import importlib

    import paddle
    import paddle.hapi.hub as hub
    import paddleseg.cvlibs.config as seg_config
    import paddleseg.models  # noqa: F401  (the component modules, with their imported names)
    from paddleseg.utils import utils as seg_utils
    if REPLACED:
        return
    shim = _restricted_pickle()
    for name in PICKLE_READER_MODULES:
        importlib.import_module(name).pickle = shim
    REPLACED[:] = [
        (paddle.load, safe_paddle_load(paddle.load)),
        (seg_utils.load_pretrained_model, load_pretrained_model),
        (seg_utils.load_entire_model, load_entire_model),
        (seg_utils.download_pretrained_model, download_pretrained_model),
        (seg_config.parse_from_yaml, parse_from_yaml),
        (hub.load, _refuse('paddle.hub.load')),
        (hub.list, _refuse('paddle.hub.list')),
        (hub.help, _refuse('paddle.hub.help')),
    ]
    by_id = {id(old): new for old, new in REPLACED}
    for module in list(sys.modules.values()):
        attrs = getattr(module, '__dict__', None)
        for key, value in list(attrs.items()) if isinstance(attrs, dict) else ():
            if id(value) in by_id:
                attrs[key] = by_id[id(value)]
    for qualname, arguments in EVALUATED_ARGUMENTS.items():
        module, name = qualname.rsplit('.', 1)
        _names_only(getattr(importlib.import_module(module), name), arguments)
