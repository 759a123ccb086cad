"""deploy.yaml (PaddleSeg's ``Deploy:`` schema) read and checked."""
import os

import yaml
from paddleseg.cvlibs import manager
from paddleseg.transforms import Compose


class DeployConfigError(ValueError):
    """deploy.yaml is missing, malformed or names files that do not exist."""


class DeployConfig:
    """The ``Deploy`` section of an export directory's deploy.yaml.

    File names in deploy.yaml are relative to the YAML's directory.

    Args:
        path (str): deploy.yaml.

    Attributes:
        model_file, params_file (str): Paddle program and weights.
        onnx_file (str | None): ONNX model when export.py wrote one.
        output_op (str): ``argmax`` | ``softmax`` | ``none``.
        transforms (paddleseg.transforms.Compose): preprocessing (BGR file -> RGB CHW).
    """

    def __init__(self, path):
        if not os.path.isfile(path):
            raise DeployConfigError('--config: deploy.yaml not found: {}'.format(path))
        with open(path, 'r', encoding='utf-8') as f:
            try:
                dic = yaml.safe_load(f) or {}
            except yaml.YAMLError as e:
                raise DeployConfigError('{}: YAML syntax error: {}'.format(path, e)) from e
        if not isinstance(dic.get('Deploy'), dict):
            raise DeployConfigError('{}: no `Deploy:` section (is this an export.py deploy.yaml?)'.format(path))
        self.path = path
        self.dic = dic['Deploy']
        base = os.path.dirname(os.path.abspath(path))
        for key in ('model', 'params', 'transforms'):
            if key not in self.dic:
                raise DeployConfigError('{}: `Deploy.{}` is missing'.format(path, key))
        self.model_file = os.path.join(base, self.dic['model'])
        self.params_file = os.path.join(base, self.dic['params'] or '')
        onnx = self.dic.get('onnx_model')
        self.onnx_file = os.path.join(base, onnx) if onnx else None
        self.output_op = self.dic.get('output_op', 'argmax')
        self.transforms = Compose(self._build_transforms(self.dic['transforms']))

    def _build_transforms(self, cfgs):
        ops = []
        for i, cfg in enumerate(cfgs):
            cfg = dict(cfg)
            name = cfg.pop('type', None)
            if name not in manager.TRANSFORMS.components_dict:
                raise DeployConfigError('{}: Deploy.transforms[{}]: unknown transform type {!r}'.format(
                    self.path, i, name))
            ops.append(manager.TRANSFORMS[name](**cfg))
        return ops

    def check_files(self, backend):
        """Raise a clear error when the files ``backend`` needs are missing."""
        if backend == 'onnxruntime':
            if self.onnx_file is None:
                raise DeployConfigError('{}: no `Deploy.onnx_model`; export with `export.py --onnx True` '
                                        'for --backend onnxruntime'.format(self.path))
            needed = [self.onnx_file]
        else:
            needed = [self.model_file, self.params_file]
        for f in needed:
            if not os.path.isfile(f):
                raise DeployConfigError('{} names {} which does not exist'.format(self.path, f))
