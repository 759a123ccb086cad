"""Check an ONNX conversion: the ONNX model must compute what the Paddle model computes.

It runs both runtimes, so it lives with the predictors in ``deploy`` (core only
converts, in ``core.onnx_export``); export.py calls it after ``--onnx True``.
"""
import os

import numpy as np

from paddleseg_fastfcn.deploy.onnx_predictor import OnnxPredictor
from paddleseg_fastfcn.deploy.paddle_predictor import PaddlePredictor
from paddleseg_fastfcn.utils.deploy_yaml import FILE_NAME, DeployConfig

# Size used for a dynamic height / width when checking a conversion.
CHECK_SIZE = 64


def verify_onnx(save_dir, atol=1e-3, seed=0):
    """Run the Paddle and ONNX models of ``save_dir`` on one random input and compare.

    paddle2onnx can convert an op into something that runs but computes another
    function (measured: Paddle's adaptive pooling to 3x3 / 6x6 bins of an 8x8 map at a
    fixed input size, off by ~0.9; PSP avoids that op), so every conversion is checked once.

    Args:
        save_dir (str): an export directory with ``onnx_model`` in deploy.yaml.
        atol (float): allowed difference, relative to ``max(1, max |paddle output|)``;
            for an argmax export, the share of differing labels allowed is 1e-3.

    Returns:
        float: the measured difference (max abs diff, or share of differing labels).

    Raises:
        RuntimeError: the two models disagree.
    """
    cfg = DeployConfig(os.path.join(save_dir, FILE_NAME))
    cfg.check_files('onnxruntime')
    shape = [s if s > 0 else d for s, d in zip(cfg.input_shape, [1, 3, CHECK_SIZE, CHECK_SIZE])]
    x = np.random.RandomState(seed).uniform(-2, 2, shape).astype('float32')
    ref = PaddlePredictor(cfg.model_file, cfg.params_file).run(x)
    out = OnnxPredictor(cfg.onnx_file).run(x)
    if ref.shape != out.shape:
        raise RuntimeError('{}: ONNX output shape {} != Paddle output shape {}'.format(
            cfg.onnx_file, out.shape, ref.shape))
    if np.issubdtype(ref.dtype, np.integer):
        diff, limit = float((ref != out).mean()), 1e-3
    else:
        diff, limit = float(np.abs(ref - out).max()), atol * max(1.0, float(np.abs(ref).max()))
    if not diff <= limit:
        raise RuntimeError('{} disagrees with the Paddle model on a random {} input: difference {:.3g} > {:.3g}; '
                           'paddle2onnx converted some op wrongly'.format(cfg.onnx_file, shape, diff, limit))
    return diff
