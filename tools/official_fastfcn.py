"""The official FastFCN code (github.com/wuhuikai/FastFCN), imported from a checkout.

Needs torch, never Paddle: tools/check_torch_parity.py and the benchmark's PyTorch peer
(tools/benchmarking/torch_case.py, run under a torch environment) both import it. The
official code is read from the checkout given, never copied into this repository.
"""
import importlib
import os
import sys
import types


def import_official_models(repo):
    """The official ``encoding.models`` and ``encoding.dilated`` modules, without downloads.

    ``encoding/__init__.py`` imports the dataset code (scipy, ...), which the models do
    not need, so the package object is created empty and its submodules are imported
    from ``repo`` directly. ``BaseNet`` always asks for ImageNet weights; the
    ``resnet50/101`` factories are wrapped to build them randomly initialised instead.
    """
    package_dir = os.path.join(os.path.abspath(repo), 'encoding')
    if not os.path.isfile(os.path.join(package_dir, 'models', 'encnet.py')):
        raise SystemExit('error: {} is not a FastFCN checkout (no encoding/models/encnet.py)'.format(repo))
    package = types.ModuleType('encoding')
    package.__path__ = [package_dir]
    sys.modules['encoding'] = package
    dilated = importlib.import_module('encoding.dilated')
    for name in ('resnet50', 'resnet101'):
        factory = getattr(dilated, name)
        setattr(dilated, name, (lambda f: lambda pretrained=False, root=None, **kw: f(pretrained=False, **kw))(factory))
    return importlib.import_module('encoding.models')


def official_encnet(models, num_classes, backbone='resnet50', jpu=True):
    """The official EncNet (aux FCN head, SE loss) with JPU, or dilated (output stride 8) without.

    Uses ``encoding.nn.BatchNorm``, as the official train/test scripts do.
    """
    norm_layer = importlib.import_module('encoding.nn').BatchNorm
    return models.EncNet(num_classes, backbone, aux=True, se_loss=True, jpu='JPU' if jpu else None,
                         dilated=not jpu, lateral=False, norm_layer=norm_layer)
