"""Child-process setup shared by every case: device, threads, synchronisation, inputs."""
import os

import paddle

from paddleseg_fastfcn.utils.cpu_tuning import malloc_setting
from paddleseg_fastfcn.utils.device import set_device

from .inputs import image_batch, label_batch  # noqa: F401  (the cases' inputs, numpy only)


def setup(device, threads):
    """Select ``device`` and pin Paddle's CPU math threads to ``threads``.

    OMP_NUM_THREADS is set by the parent before this process started (importing
    paddle sets it to 1 when unset); ``set_num_threads`` pins the math library too.

    Returns:
        dict: the settings in force, for the JSON.
    """
    set_device(device)
    paddle.base.core.set_num_threads(int(threads))
    return {'device': device, 'threads': int(threads),
            'env': {k: v for k, v in os.environ.items() if k.startswith(('OMP_', 'MKL_', 'OPENBLAS_', 'FLAGS_'))},
            'FLAGS_use_mkldnn': bool(paddle.get_flags(['FLAGS_use_mkldnn'])['FLAGS_use_mkldnn']),
            'paddle': paddle.__version__, 'malloc': malloc_setting()}


def synchronize(device):
    """A callable waiting for queued device work (None on CPU, where kernels are synchronous)."""
    if device == 'gpu':
        return paddle.device.synchronize
    return None


def gpu_peak_memory_mb(device):
    """Peak GPU memory allocated by Paddle in MiB (None on CPU)."""
    if device != 'gpu':
        return None
    return paddle.device.cuda.max_memory_allocated() / 2.0 ** 20
