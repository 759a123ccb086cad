"""Convert an exported Paddle inference graph to ONNX with paddle2onnx.

paddle2onnx 2.x reads the PIR program (``model.json``) that Paddle 3 writes, so
no old-format (``.pdmodel``) export is needed. Opset 13 is the lowest opset in
which every op of the exported FastFCN models converts: paddle2onnx 2.1.0 maps
``pd_op.abs`` (in the matmul resize's interpolation weights) only from opset 13;
with a lower request it upgrades by itself (``auto_upgrade_opset``), and
deploy.yaml records the opset actually written.
"""
import errno
import os
import subprocess
import sys

from paddleseg_fastfcn.utils.atomic_write import free_bytes, write_failure
from paddleseg_fastfcn.utils.deploy_yaml import FILE_NAME, DeployConfig

DEFAULT_OPSET = 13


def written_opset(onnx_path):
    """The default-domain opset of an ONNX file (paddle2onnx may raise the requested one)."""
    import onnx  # installed with paddle2onnx
    model = onnx.load(onnx_path, load_external_data=False)
    return max(o.version for o in model.opset_import if o.domain in ('', 'ai.onnx'))


def _conversion_error(proc, model_file, params_file, onnx_path):
    """The error for a failed paddle2onnx child: a full disk (less free space than the
    weights take) as ENOSPC, any other failure with paddle2onnx's own error lines."""
    free = free_bytes(onnx_path)
    if free is not None and free < os.path.getsize(params_file):
        return OSError(errno.ENOSPC, 'No space left on device (paddle2onnx exit code {})'.format(proc.returncode))
    errors = [line for line in proc.stdout.splitlines() if 'ERROR' in line or 'Error' in line]
    return RuntimeError('paddle2onnx could not convert {} (exit code {}):\n{}'.format(
        model_file, proc.returncode, '\n'.join(errors[-10:]) or proc.stdout[-2000:]))


def export_onnx(save_dir, opset_version=DEFAULT_OPSET, onnx_name='model.onnx'):
    """Convert ``save_dir``'s exported model to ONNX and record it in deploy.yaml.

    Args:
        save_dir (str): a directory written by ``core.export.export_model``.
        opset_version (int): ONNX opset to target.
        onnx_name (str): file name of the ONNX model inside ``save_dir``.

    Returns:
        str: path of the written ONNX file.

    Raises:
        DeployConfigError: deploy.yaml or the Paddle files it names are missing or invalid.
        DiskWriteError: no space for model.onnx (needed / free named); nothing is left behind.
        RuntimeError: paddle2onnx failed (its error lines are in the message), e.g.
            adaptive pooling to a bin size > 1 with dynamic H/W, which it cannot convert.
    """
    deploy = DeployConfig(os.path.join(save_dir, FILE_NAME))
    deploy.check_files('paddle')
    model_file, params_file = deploy.model_file, deploy.params_file
    onnx_path = os.path.join(save_dir, onnx_name)
    if os.path.exists(onnx_path):
        os.remove(onnx_path)  # a stale file must not pass for a fresh conversion
    # Written aside and renamed: a conversion cut short (full disk) leaves no partial model.onnx.
    tmp_path = os.path.join(save_dir, '.tmp_{}_{}'.format(os.getpid(), onnx_name))
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
    proc = subprocess.run([sys.executable, '-c', code, model_file, params_file, tmp_path, str(opset_version)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        if proc.returncode != 0 or not os.path.isfile(tmp_path):
            raise _conversion_error(proc, model_file, params_file, onnx_path)
        os.replace(tmp_path, onnx_path)
    except OSError as e:
        raise write_failure('the ONNX model', onnx_path, e, os.path.getsize(params_file)) from e
    finally:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
    deploy.update(onnx_model=onnx_name, onnx_opset=written_opset(onnx_path))
    return onnx_path

