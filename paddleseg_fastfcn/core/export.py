"""Static export: a YAML config + weights -> a Paddle inference graph and deploy.yaml.

PaddleSeg 2.8's ``tools/export.py`` cannot be reused on Paddle 3: it writes
``model: model.pdmodel`` into deploy.yaml, while Paddle 3's ``paddle.jit.save``
writes the PIR program as ``model.json``. This module saves the graph with
``paddle.jit.save`` and then names, in deploy.yaml, the files that are really on
disk, so the same code stays right if a Paddle release changes the suffix again.
"""
import errno
import glob
import os
import shutil
import tempfile

import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from paddleseg_fastfcn.core.builder import build_model, load_config
from paddleseg_fastfcn.core.checkpoint import state_nbytes
from paddleseg_fastfcn.utils.atomic_write import free_bytes, write_failure
from paddleseg_fastfcn.utils import limits
from paddleseg_fastfcn.utils.deploy_yaml import OUTPUT_OPS, DeployConfig
from paddleseg_fastfcn.utils.export_files import ExportFileError, check_paddle_export, program_parameters
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


def input_channels(model):
    """Channels the model's input must have: its first convolution's (None if it has none)."""
    first = next((layer for layer in model.sublayers() if isinstance(layer, nn.Conv2D)), None)
    return None if first is None else first._in_channels


def check_input_shape(model, input_shape):
    """Refuse an ``--input_shape`` ``[N, C, H, W]`` the model cannot take, before it is traced.

    Every dimension must be a positive integer, C the model's input channels (another C
    fails inside the traced convolution with a C++ error), H x W within the
    ``IMAGE_PIXELS`` cap. The FastFCN models (DeepStemResNet + JPU, every head) and
    Fast-SCNN export and run at any H, W >= 1 (measured from 1x1 to 50x50 and 33x40:
    their resizes take the sizes as they are), so sizes need not be multiples of a stride.

    Raises:
        ValueError: naming ``--input_shape``, what it is and what the model takes.
    """
    shape = list(input_shape)
    if len(shape) != 4 or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape):
        raise ValueError('--input_shape needs 4 positive integers N C H W, got {}'.format(shape))
    channels = input_channels(model)
    if channels is not None and shape[1] != channels:
        raise ValueError('--input_shape {}: C = {}, but the model takes {}-channel images'.format(
            ' '.join(map(str, shape)), shape[1], channels))
    limits.check('IMAGE_PIXELS', shape[2] * shape[3], '--input_shape {}'.format(' '.join(map(str, shape))),
                 'an input of {} x {}'.format(shape[3], shape[2]))


def _check_saved_program(folder):
    """Raise ENOSPC when ``paddle.jit.save`` silently wrote cut-short files into ``folder``.

    The files are read back as deploy reads them (``utils.export_files``): a program or
    weights file that does not check out right after the save was cut short.
    """
    truncated = free_bytes(folder) == 0
    program, params = os.path.join(folder, 'model.json'), os.path.join(folder, 'model.pdiparams')
    if not truncated and os.path.isfile(program):
        try:
            if os.path.isfile(params):
                check_paddle_export(program, params)
            else:
                program_parameters(program)
        except ExportFileError:
            truncated = True
    if truncated:
        raise OSError(errno.ENOSPC, 'No space left on device (paddle.jit.save cut its files short '
                                    'without an error)')


def _save_program(static, save_dir, needed_bytes):
    """``paddle.jit.save`` into a hidden folder of ``save_dir``, then move the files into place.

    Written aside, the files of a previous export stay until complete new ones
    replace them. ``paddle.jit.save`` (3.3.1) reports no error on a full disk: it
    leaves a truncated model.json and an empty model.pdiparams (measured on a
    256 KB tmpfs), so the free space is checked before (the weights must fit) and
    after (a disk left with 0 bytes free, or a model.json / model.pdiparams that does
    not check out, means the files were cut short).

    Raises:
        DiskWriteError: the disk refused the write or is too small (space needed /
            free named); the hidden folder is removed.
    """
    what = 'the exported model (model.json + model.pdiparams)'
    try:
        os.makedirs(save_dir, exist_ok=True)
        free = free_bytes(save_dir)
        if free is not None and free < needed_bytes:
            raise OSError(errno.ENOSPC, 'not enough free space for the weights')
        tmp = tempfile.mkdtemp(prefix='.tmp_export_', dir=save_dir)
    except OSError as e:
        raise write_failure(what, save_dir, e, needed_bytes) from e
    try:
        paddle.jit.save(static, os.path.join(tmp, 'model'))
        _check_saved_program(tmp)
        for name in os.listdir(tmp):
            os.replace(os.path.join(tmp, name), os.path.join(save_dir, name))
    except OSError as e:
        raise write_failure(what, save_dir, e, needed_bytes) from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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

    Raises:
        DiskWriteError: ``save_dir`` is full or read-only (what, space needed / free);
            no partial file is left.
        ValueError: an ``input_shape`` the model cannot take (``check_input_shape``).
    """
    if output_op not in OUTPUT_OPS:
        raise ValueError('--output_op must be one of {}, got {!r}'.format(OUTPUT_OPS, output_op))
    cfg = load_config(config)
    if model is None:
        # The trained weights replace the ImageNet ones: those need not exist here.
        model = build_model(cfg, load_pretrained=model_path is None)
        if model_path is not None:
            load_weights(model, model_path)
    model.eval()
    if input_shape is not None:
        check_input_shape(model, input_shape)
    wrapped = SegmentationOutputWrapper(model, output_op)
    wrapped.eval()

    shape = list(input_shape) if input_shape is not None else [None, 3, None, None]
    spec = [paddle.static.InputSpec(shape=shape, dtype='float32', name='x')]
    static = paddle.jit.to_static(wrapped, input_spec=spec, full_graph=True)
    _save_program(static, save_dir, state_nbytes(model.state_dict()))

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
