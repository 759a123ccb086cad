"""deploy.yaml, PaddleSeg's ``Deploy:`` schema: the one reader, validator and writer.

core/export.py writes it, core/onnx_export.py adds the ONNX model to it,
deploy/python/infer.py, the ONNX check and the benchmark read it; all of them go
through ``DeployConfig``, so the schema is checked in one place. File names in it
are relative to the YAML's directory and must stay inside it: no absolute path, no
``..``, no symbolic link leading out (a deploy.yaml must not make a runtime read an
arbitrary file of the machine). ``check_files`` also checks the named files' contents
(``utils.export_files``, ``utils.onnx_file``) before a runtime reads them.
"""
import os
import reprlib

import yaml
from paddleseg.cvlibs import manager
from paddleseg.transforms import Compose

from paddleseg_fastfcn.utils import limits
from paddleseg_fastfcn.utils.atomic_write import write_text
from paddleseg_fastfcn.utils.export_files import check_paddle_export
from paddleseg_fastfcn.utils.onnx_file import check_onnx_file

FILE_NAME = 'deploy.yaml'
OUTPUT_OPS = ('argmax', 'softmax', 'none')
REQUIRED_KEYS = ('model', 'params', 'transforms')
DYNAMIC_INPUT_SHAPE = [-1, 3, -1, -1]
FILE_KEYS = ('model', 'params', 'onnx_model')


class DeployConfigError(ValueError):
    """deploy.yaml is missing, malformed or names files that do not exist."""


# YAML aliases can make a small file a huge nested value: quote at most a few items of it.
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring, _SHORT.maxother = 2, 4, 4, 80, 80


def _check_section(section, path):
    """The section's transforms as a ``Compose``; DeployConfigError names ``path`` and the bad key."""
    def fail(key, problem, value):
        raise DeployConfigError('{}: `Deploy.{}` {}, got {}'.format(path, key, problem, _SHORT.repr(value)[:200]))

    for key in REQUIRED_KEYS:
        if key not in section:
            raise DeployConfigError('{}: `Deploy.{}` is missing'.format(path, key))
    if not isinstance(section['model'], str) or not section['model']:
        fail('model', 'must name the program file', section['model'])
    for key in ('params', 'onnx_model'):
        if section.get(key) is not None and not isinstance(section[key], str):
            fail(key, 'must be a file name', section[key])
    for key in FILE_KEYS:
        if section.get(key):
            _inside(path, key, section[key])
    transforms = section['transforms']
    if not isinstance(transforms, list):
        fail('transforms', 'must be a list of {type: ...} mappings', transforms)
    output_op = section.get('output_op', 'argmax')
    if output_op not in OUTPUT_OPS:
        fail('output_op', 'must be one of {}'.format(OUTPUT_OPS), output_op)
    shape = section.get('input_shape', DYNAMIC_INPUT_SHAPE)
    if (not isinstance(shape, list) or len(shape) != 4
            or not all(type(s) is int and (s == -1 or s > 0) for s in shape)):
        fail('input_shape', 'must be 4 integers N C H W (-1 = dynamic)', shape)
    ops = []
    for i, cfg in enumerate(transforms):
        cfg = dict(cfg) if isinstance(cfg, dict) else {}
        name = cfg.pop('type', None)
        if name not in manager.TRANSFORMS.components_dict:
            fail('transforms[{}]'.format(i), 'has unknown transform type', name)
        pixels = _resized_pixels(cfg)
        if pixels:
            limits.check('IMAGE_PIXELS', pixels, path, '`Deploy.transforms[{}]` ({}) resizes every image to '
                         '{}'.format(i, name, _SHORT.repr(cfg)))
        try:
            ops.append(manager.TRANSFORMS[name](**cfg))
        except (TypeError, ValueError) as e:
            raise DeployConfigError('{}: `Deploy.transforms[{}]` ({}): {}'.format(path, i, name, str(e)[:300]))
    return Compose(ops)


def _resized_pixels(cfg):
    """Pixels of a square image after the resize transform ``cfg`` (its arguments), else 0.

    ``Resize`` gives ``target_size``, ``ResizeByLong`` / ``ResizeByShort`` a side of
    ``long_size`` / ``short_size``: what is allocated for every image, so it is capped.
    """
    size = cfg.get('target_size')
    if isinstance(size, (list, tuple)) and len(size) == 2 and all(type(v) is int for v in size):
        return size[0] * size[1]
    side = cfg.get('long_size', cfg.get('short_size'))
    return side * side if type(side) is int else 0


def _inside(path, key, name):
    """``name`` (``Deploy.<key>`` of deploy.yaml ``path``) as an absolute path inside the YAML's folder.

    Raises:
        DeployConfigError: an absolute path, a ``..`` component, or a symbolic link
            whose target lies outside the folder.
    """
    base = os.path.dirname(os.path.abspath(path))
    parts = name.replace('\\', '/').split('/')
    if os.path.isabs(name) or '..' in parts or '\0' in name:
        raise DeployConfigError('{}: `Deploy.{}` names {!r}, outside the export folder {}: file names in '
                                'deploy.yaml are relative to it, without ..'.format(path, key, name, base))
    full = os.path.join(base, name)
    real_base = os.path.realpath(base)
    if os.path.commonpath([real_base, os.path.realpath(full)]) != real_base:
        raise DeployConfigError('{}: `Deploy.{}` names {!r}, a symbolic link to {}, outside the export '
                                'folder {}'.format(path, key, name, os.path.realpath(full), base))
    return full


def _dump(path, section):
    # Atomic: a full disk leaves the previous deploy.yaml, never half of one.
    write_text(path, yaml.safe_dump({'Deploy': section}, sort_keys=False),  # keeps the schema's key order
               'deploy.yaml')


class DeployConfig:
    """The ``Deploy`` section of an export directory's deploy.yaml, checked when read.

    Keys: ``model``, ``params``, ``transforms`` (required); ``input_shape``
    (``[N, C, H, W]``, -1 dynamic), ``output_op`` (``argmax`` | ``softmax`` |
    ``none``), ``output_dtype``, ``onnx_model``, ``onnx_opset`` (optional).

    Args:
        path (str): deploy.yaml.

    Attributes:
        path (str): the file.
        section (dict): the ``Deploy`` mapping as read.
        model_file, params_file (str | None): Paddle program and weights (absolute).
        onnx_file (str | None): ONNX model when export.py wrote one (may be overridden).
        output_op (str), input_shape (list[int]).
        transforms (paddleseg.transforms.Compose): preprocessing (BGR array -> RGB CHW).

    Raises:
        DeployConfigError: missing file, YAML error, or a bad key (named with the file).
    """

    def __init__(self, path):
        if not os.path.isfile(path):
            raise DeployConfigError('deploy.yaml not found: {} (export.py writes it)'.format(path))
        with open(path, 'r', encoding='utf-8') as f:
            try:
                dic = yaml.safe_load(f) or {}
            except yaml.YAMLError as e:
                raise DeployConfigError('{}: YAML syntax error: {}'.format(path, e)) from e
            except UnicodeDecodeError as e:
                raise DeployConfigError('{}: not a text file (byte {} is not UTF-8); is this a '
                                        'deploy.yaml?'.format(path, e.start)) from None
        if not isinstance(dic, dict) or not isinstance(dic.get('Deploy'), dict):
            raise DeployConfigError('{}: no `Deploy:` section (is this an export.py deploy.yaml?)'.format(path))
        self.path = path
        self._resolve(dic['Deploy'], _check_section(dic['Deploy'], path))

    def _resolve(self, section, transforms):
        files = {key: _inside(self.path, key, section[key]) if section.get(key) else None for key in FILE_KEYS}
        self.section = section
        self.transforms = transforms
        self.model_file, self.params_file, self.onnx_file = (files[key] for key in FILE_KEYS)
        self.output_op = section.get('output_op', 'argmax')
        self.input_shape = list(section.get('input_shape', DYNAMIC_INPUT_SHAPE))

    @classmethod
    def write(cls, save_dir, section):
        """Check ``section`` and write it as ``save_dir/deploy.yaml``; returns the read-back config."""
        path = os.path.join(save_dir, FILE_NAME)
        _check_section(section, path)
        _dump(path, section)
        return cls(path)

    def update(self, **keys):
        """Set ``Deploy`` keys (e.g. ``onnx_model``), check and rewrite the file."""
        section = dict(self.section, **keys)
        transforms = _check_section(section, self.path)
        _dump(self.path, section)
        self._resolve(section, transforms)

    def check_files(self, backend='paddle'):
        """Check the files ``backend`` (``paddle`` | ``onnxruntime``) needs: present, intact, matching.

        ``onnx_file`` may have been replaced by a file the user named (``--onnx_file``):
        its contents are checked all the same.

        Raises:
            DeployConfigError: a file is missing (its key named).
            ExportFileError, LimitExceeded: a file is corrupted, truncated or too large.
        """
        if backend == 'onnxruntime':
            if self.onnx_file is None:
                raise DeployConfigError('{}: no `Deploy.onnx_model`; export with `export.py --onnx True` '
                                        'for --backend onnxruntime'.format(self.path))
            needed = {'onnx_model': self.onnx_file}
        else:
            if self.params_file is None:
                raise DeployConfigError('{}: `Deploy.params` is empty; Paddle Inference needs the '
                                        'weights file'.format(self.path))
            needed = {'model': self.model_file, 'params': self.params_file}
        for key, f in needed.items():
            if not os.path.isfile(f):
                raise DeployConfigError('{}: `Deploy.{}` names {} which does not exist'.format(self.path, key, f))
        if backend == 'onnxruntime':
            check_onnx_file(self.onnx_file)
        else:
            check_paddle_export(self.model_file, self.params_file)
