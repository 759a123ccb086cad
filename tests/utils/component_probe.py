"""Give a crafted weight file to every registered component's path-like arguments.

Run as ``python -m tests.utils.component_probe <tmp dir>`` (a child process: a
component's side effects and its parameter names stay out of the test process).
Prints one JSON object: ``{'marker': bool, 'components': [row, ...]}``, one row per
registered component of every ``paddleseg.cvlibs.manager`` registry, with:

* ``registry``, ``name``, ``arguments``: the path-like arguments given the file;
* ``loader``: the component's source calls a weight loader;
* ``outcome``: ``'refused'`` (the guard's refusal naming the file and ``posix.system``),
  ``'no path argument'``, or what happened instead (``built`` / ``<error type>: <message>``);
* ``how``: ``'construction'``, or ``'init_weight'`` when the refusal came from the
  component's ``init_weight`` (its construction does not load, or failed first on the
  minimal arguments; the method is then run on the layer or on a bare instance).

Layers are built under ``paddle.LazyGuard`` (no parameter is allocated), each within
:data:`SECONDS_PER_COMPONENT`.
"""
import inspect
import json
import os
import re
import signal
import sys

import paddle

import paddleseg_fastfcn  # noqa: F401  (registers the project's components, installs the guard)
from paddleseg.cvlibs import manager
from paddleseg_fastfcn.utils import UnsafePickleError
from tests.crafted_files import write_crafted

PATH_LIKE = re.compile(r'pretrained|path|file|dir|root|weight|ckpt|checkpoint|model|url', re.I)
# What a component's source calls when it reads a weight file.
LOADER_CALLS = re.compile(r'\b(load_pretrained_model|load_entire_model|paddle\.load|load_weights|'
                          r'load_warm_start|load_backbone_weights|download_pretrained_model)\(')
SECONDS_PER_COMPONENT = 10
# Arguments the minimal construction needs beyond the path-like ones.
EXTRA_ARGUMENTS = {'MobileSeg_Base': {'out_feat_chs': [32, 64, 128]},
                   'MobileSeg_Tiny': {'out_feat_chs': [32, 64, 128]},
                   'LPSNet': {'depths': [1, 1], 'channels': [8, 16], 'scale_ratios': [1]},
                   'SegNeXt': {'decoder_cfg': {'ham_channels': 8, 'channels': 8, 'num_groups': 4}}}


class TinyBackbone(paddle.nn.Layer):
    """The ``backbone`` a segmentation model is given (its constructor reads feat_channels)."""

    def __init__(self):
        super().__init__()
        self.feat_channels = [8, 16, 32, 64]
        self.conv = paddle.nn.Conv2D(3, 8, 1)


def _timeout(*_):
    raise TimeoutError('over {} s'.format(SECONDS_PER_COMPONENT))


def _source(component):
    """The methods' source of a class (and of its bases from PaddleSeg / this project), or the
    source of a factory's module (the class it builds is there)."""
    if inspect.isclass(component):
        return ''.join(inspect.getsource(f) for c in component.__mro__ if c.__module__.startswith('paddleseg')
                       for f in vars(c).values() if inspect.isfunction(f))
    return inspect.getsource(sys.modules[component.__module__])


def _arguments(registry, name, component, crafted):
    """(path-like argument names, keyword arguments of the minimal construction)."""
    params = inspect.signature(component).parameters
    numeric = (int, float, bool)
    paths = [k for k, p in params.items() if PATH_LIKE.search(k) and not isinstance(p.default, numeric)]
    if any(p.kind == p.VAR_KEYWORD for p in params.values()) and 'pretrained' not in paths:
        paths.append('pretrained')  # a factory: its keywords reach the class it builds
    kwargs = dict(EXTRA_ARGUMENTS.get(name, {}), **{k: crafted for k in paths})
    for k, p in params.items():
        if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and k not in kwargs:
            kwargs[k] = {'num_classes': 2, 'backbone': TinyBackbone()}.get(k)
    if registry == 'MODELS' and 'num_classes' not in params:
        kwargs['num_classes'] = 2
    return paths, kwargs


def _call(function, crafted):
    """'refused', 'built' or '<error type>: <message>' for ``function()``."""
    signal.alarm(SECONDS_PER_COMPONENT)
    try:
        with paddle.LazyGuard(), paddle.utils.unique_name.guard():
            return 'built', function()
    except UnsafePickleError as e:
        refused = e.path == crafted and '{}.{}'.format(e.module, e.name) == 'posix.system'
        return ('refused' if refused else 'refused other: {}'.format(e)), None
    except Exception as e:  # noqa: BLE001  (recorded: the test lists it)
        return '{}: {}'.format(type(e).__name__, str(e).splitlines()[0][:120] if str(e) else ''), None
    finally:
        signal.alarm(0)


def _bare(cls):
    layer = cls.__new__(cls)
    paddle.nn.Layer.__init__(layer)
    return layer


def probe(registry, name, component, crafted):
    row = {'registry': registry, 'name': name, 'loader': bool(LOADER_CALLS.search(_source(component)))}
    row['arguments'], kwargs = _arguments(registry, name, component, crafted)
    if not row['arguments']:
        row.update(outcome='no path argument', how=None)
        return row
    outcome, layer = _call(lambda: component(**kwargs), crafted)
    row.update(outcome=outcome, how='construction')
    if outcome != 'refused' and inspect.isclass(component) and hasattr(component, 'init_weight'):
        layer = layer if isinstance(layer, paddle.nn.Layer) else _bare(component)
        layer.pretrained = crafted

        retried, _ = _call(layer.init_weight, crafted)
        if retried == 'refused':
            row.update(outcome='refused', how='init_weight (construction: {})'.format(outcome))
    return row


def main(tmp_dir):
    marker = os.path.join(tmp_dir, 'marker')
    crafted = write_crafted(os.path.join(tmp_dir, 'crafted.pdparams'), marker)
    signal.signal(signal.SIGALRM, _timeout)
    registries = {n: r for n, r in vars(manager).items() if isinstance(r, manager.ComponentManager)}
    rows = [probe(rn, name, component, crafted)
            for rn, registry in sorted(registries.items())
            for name, component in sorted(registry.components_dict.items())]
    print(json.dumps({'marker': os.path.exists(marker), 'components': rows}))


if __name__ == '__main__':
    main(sys.argv[1])
