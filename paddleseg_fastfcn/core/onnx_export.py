"""Convert an exported Paddle inference graph to ONNX with paddle2onnx.

paddle2onnx 2.x reads the PIR program (``model.json``) that Paddle 3 writes, so
no old-format (``.pdmodel``) export is needed. Opset 13 is the lowest opset in
which every op of the exported FastFCN models converts: paddle2onnx 2.1.0 maps
``pd_op.abs`` (in the matmul resize's interpolation weights) only from opset 13;
with a lower request it upgrades by itself (``auto_upgrade_opset``), and
deploy.yaml records the opset actually written.
"""
import os
import subprocess
import sys

import numpy as np
import yaml

DEFAULT_OPSET = 13
# Size used for a dynamic height / width when checking a conversion.
CHECK_SIZE = 64


def written_opset(onnx_path):
    """The default-domain opset of an ONNX file (paddle2onnx may raise the requested one)."""
    import onnx  # installed with paddle2onnx
    model = onnx.load(onnx_path, load_external_data=False)
    return max(o.version for o in model.opset_import if o.domain in ('', 'ai.onnx'))


def export_onnx(save_dir, opset_version=DEFAULT_OPSET, onnx_name='model.onnx'):
    """Convert ``save_dir``'s exported model to ONNX and record it in deploy.yaml.

    Args:
        save_dir (str): a directory written by ``core.export.export_model``.
        opset_version (int): ONNX opset to target.
        onnx_name (str): file name of the ONNX model inside ``save_dir``.

    Returns:
        str: path of the written ONNX file.

    Raises:
        FileNotFoundError: deploy.yaml or the files it names are missing.
        RuntimeError: paddle2onnx failed (its error lines are in the message), e.g.
            adaptive pooling to a bin size > 1 with dynamic H/W, which it cannot convert.
    """
    yaml_path = os.path.join(save_dir, 'deploy.yaml')
    if not os.path.isfile(yaml_path):
        raise FileNotFoundError('no deploy.yaml in {} (run export.py first)'.format(save_dir))
    with open(yaml_path, 'r', encoding='utf-8') as f:
        dic = yaml.safe_load(f)
    deploy = dic['Deploy']
    model_file = os.path.join(save_dir, deploy['model'])
    params_file = os.path.join(save_dir, deploy['params'] or '')
    for path in (model_file, params_file):
        if not os.path.isfile(path):
            raise FileNotFoundError('{} names {} which does not exist'.format(yaml_path, path))
    onnx_path = os.path.join(save_dir, onnx_name)
    if os.path.exists(onnx_path):
        os.remove(onnx_path)  # a stale file must not pass for a fresh conversion
    # paddle2onnx aborts the whole process (SIGABRT) on an op it cannot convert, so
    # it runs in a child process and its own error lines become the exception.
    # optimize_tool='none': paddle2onnx 2.1.0's default ('polygraphy') runs even with
    # enable_optimize=False and sets POLYGRAPHY_AUTOINSTALL_DEPS=1, so polygraphy
    # pip-installs onnx_graphsurgeon, which pulls numpy 2 into the environment and
    # breaks cv2 / paddleseg (measured). Folding constants changes no result, and
    # onnxruntime optimises the graph when it loads it anyway.
    code = ('import sys, paddle2onnx; paddle2onnx.export(sys.argv[1], sys.argv[2], save_file=sys.argv[3], '
            'opset_version=int(sys.argv[4]), enable_onnx_checker=True, enable_optimize=False, '
            "optimize_tool='none')")
    env = dict(os.environ, POLYGRAPHY_AUTOINSTALL_DEPS='0')
    proc = subprocess.run([sys.executable, '-c', code, model_file, params_file, onnx_path, str(opset_version)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    if proc.returncode != 0 or not os.path.isfile(onnx_path):
        errors = [line for line in proc.stdout.splitlines() if 'ERROR' in line or 'Error' in line]
        raise RuntimeError('paddle2onnx could not convert {} (exit code {}):\n{}'.format(
            model_file, proc.returncode, '\n'.join(errors[-10:]) or proc.stdout[-2000:]))
    deploy['onnx_model'] = onnx_name
    deploy['onnx_opset'] = written_opset(onnx_path)
    with open(yaml_path, 'w', encoding='utf-8') as f:
        yaml.safe_dump(dic, f, sort_keys=False)
    return onnx_path


def verify_onnx(save_dir, atol=1e-3, seed=0):
    """Run the Paddle and ONNX models of ``save_dir`` on one random input and compare.

    paddle2onnx can convert an op into something that runs but computes another
    function (measured: PSP's adaptive pooling to 3x3 / 6x6 bins of an 8x8 map at a
    fixed input size, off by ~0.9), so every conversion is checked once.

    Args:
        save_dir (str): an export directory with ``onnx_model`` in deploy.yaml.
        atol (float): allowed difference, relative to ``max(1, max |paddle output|)``;
            for an argmax export, the share of differing labels allowed is 1e-3.

    Returns:
        float: the measured difference (max abs diff, or share of differing labels).

    Raises:
        RuntimeError: the two models disagree.
    """
    from paddleseg_fastfcn.deploy.config import DeployConfig
    from paddleseg_fastfcn.deploy.onnx_predictor import OnnxPredictor
    from paddleseg_fastfcn.deploy.paddle_predictor import PaddlePredictor

    cfg = DeployConfig(os.path.join(save_dir, 'deploy.yaml'))
    cfg.check_files('onnxruntime')
    shape = [s if s > 0 else d for s, d in zip(cfg.dic['input_shape'], [1, 3, CHECK_SIZE, CHECK_SIZE])]
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
