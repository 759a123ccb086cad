"""Static export: a YAML config + weights -> a Paddle inference graph and deploy.yaml.

PaddleSeg 2.8's ``tools/export.py`` cannot be reused on Paddle 3: it writes
``model: model.pdmodel`` into deploy.yaml, while Paddle 3's ``paddle.jit.save``
writes the PIR program as ``model.json``. This module saves the graph with
``paddle.jit.save`` and then names, in deploy.yaml, the files that are really on
disk, so the same code stays right if a Paddle release changes the suffix again.
"""
import glob
import os

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from paddleseg_fastfcn.core.builder import build_model, load_config
from paddleseg_fastfcn.utils.deploy_yaml import OUTPUT_OPS, DeployConfig
from paddleseg_fastfcn.utils.weights import load_weights

# Program files paddle.jit.save may write, newest format first.
PROGRAM_SUFFIXES = ('.json', '.pdmodel')
DEFAULT_TRANSFORMS = [{'type': 'Normalize'}]


class SegmentationOutputWrapper(nn.Layer):
    """Eval-mode segmentor followed by the deploy output op.

    Args:
        model (nn.Layer): a segmentor whose eval forward returns ``[logits]``.
        output_op (str): ``argmax`` -> int32 label map ``[N, H, W]``; ``softmax`` ->
            probabilities ``[N, C, H, W]``; ``none`` -> logits ``[N, C, H, W]``.

    Shapes:
        x: [N, 3, H, W] float32 -> one tensor as described above.
    """

    def __init__(self, model, output_op='argmax'):
        super().__init__()
        if output_op not in OUTPUT_OPS:
            raise ValueError('output_op must be one of {}, got {!r}'.format(OUTPUT_OPS, output_op))
        self.model = model
        self.output_op = output_op

    def forward(self, x):
        logits = self.model(x)[0]
        if self.output_op == 'argmax':
            return paddle.argmax(logits, axis=1, dtype='int32')
        if self.output_op == 'softmax':
            return F.softmax(logits, axis=1)
        return logits


def output_dtype(output_op):
    """The dtype deploy.yaml declares for ``output_op``'s result."""
    return 'int32' if output_op == 'argmax' else 'float32'


def deploy_transforms(cfg):
    """Preprocessing for deployment: ``export.transforms``, else the val transforms.

    Training-only augmentation never appears in the val transforms, so they are
    what a deployed model must see; Normalize alone is PaddleSeg's fallback.
    """
    export_cfg = cfg.dic.get('export') or {}
    if export_cfg.get('transforms'):
        return export_cfg['transforms']
    val_transforms = cfg.val_dataset_cfg.get('transforms')
    return val_transforms if val_transforms else list(DEFAULT_TRANSFORMS)


def find_program_file(save_dir, stem='model'):
    """The program file ``paddle.jit.save`` wrote for ``stem`` (model.json / model.pdmodel)."""
    for suffix in PROGRAM_SUFFIXES:
        path = os.path.join(save_dir, stem + suffix)
        if os.path.isfile(path):
            return path
    written = sorted(os.path.basename(p) for p in glob.glob(os.path.join(save_dir, stem + '.*')))
    raise RuntimeError('paddle.jit.save wrote no program file {}{{{}}} in {} (found: {})'.format(
        stem, ','.join(PROGRAM_SUFFIXES), save_dir, written))


def export_model(config, model_path, save_dir, input_shape=None, output_op='argmax', model=None):
    """Export a segmentor to a static graph plus deploy.yaml.

    Args:
        config (str): the training YAML (PaddleSeg schema).
        model_path (str | None): ``.pdparams`` weights; None keeps the model's own
            initialisation (used by tests and benchmarks only).
        save_dir (str): output directory (created).
        input_shape (list[int] | None): ``[N, C, H, W]`` to fix the input shape;
            None exports with dynamic batch, height and width.
        output_op (str): ``argmax`` | ``softmax`` | ``none``.
        model (nn.Layer | None): an already built model (skips building from ``config``).

    Returns:
        dict: the ``Deploy`` section written to ``save_dir/deploy.yaml``, plus
        ``deploy_yaml`` (its path).
    """
    if output_op not in OUTPUT_OPS:
        raise ValueError('--output_op must be one of {}, got {!r}'.format(OUTPUT_OPS, output_op))
    if input_shape is not None and len(input_shape) != 4:
        raise ValueError('--input_shape needs 4 numbers N C H W, got {}'.format(input_shape))
    cfg = load_config(config)
    if model is None:
        # The trained weights replace the ImageNet ones: those need not exist here.
        model = build_model(cfg, load_pretrained=model_path is None)
        if model_path is not None:
            load_weights(model, model_path)
    model.eval()
    wrapped = SegmentationOutputWrapper(model, output_op)
    wrapped.eval()

    shape = list(input_shape) if input_shape is not None else [None, 3, None, None]
    spec = [paddle.static.InputSpec(shape=shape, dtype='float32', name='x')]
    static = paddle.jit.to_static(wrapped, input_spec=spec, full_graph=True)
    os.makedirs(save_dir, exist_ok=True)
    paddle.jit.save(static, os.path.join(save_dir, 'model'))

    program = find_program_file(save_dir)
    params = os.path.join(save_dir, 'model.pdiparams')
    deploy = {
        'model': os.path.basename(program),
        'params': os.path.basename(params) if os.path.isfile(params) else None,
        'transforms': deploy_transforms(cfg),
        'input_shape': [-1 if s is None else int(s) for s in shape],
        'output_op': output_op,
        'output_dtype': output_dtype(output_op),
    }
    written = DeployConfig.write(save_dir, deploy)
    return dict(deploy, deploy_yaml=written.path)
