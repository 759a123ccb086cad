"""Device selection, the precision names of training and inference, and training AMP checks.

Checks happen before anything is built so a wrong flag fails in a second with a
message saying what to change, not deep inside a kernel.
"""
import os

import paddle

from paddleseg_fastfcn.utils.cpu_tuning import reuse_freed_memory

DEVICES = ('cpu', 'gpu')
# Training precisions (AMP dtypes) and deployed-model precisions (Paddle Inference /
# TensorRT) are different sets: one name for each.
TRAIN_PRECISIONS = ('fp32', 'fp16', 'bf16')
INFERENCE_PRECISIONS = ('fp32', 'fp16', 'int8')
AMP_LEVELS = ('O1', 'O2')
AMP_DTYPES = {'fp16': 'float16', 'bf16': 'bfloat16'}


def set_device(device):
    """Select ``device`` ('cpu' | 'gpu'); under distributed launch each rank
    takes the GPU the launcher assigned to it. On 'cpu' it also makes glibc
    reuse freed memory (``cpu_tuning.reuse_freed_memory``).

    Raises:
        ValueError: unknown device, or 'gpu' on a Paddle build without CUDA or
            on a machine without visible GPUs.
    """
    if device not in DEVICES:
        raise ValueError('--device must be one of {}, got {!r}'.format(DEVICES, device))
    if device == 'gpu':
        if not paddle.is_compiled_with_cuda():
            raise ValueError(
                '--device gpu: paddle is not compiled with CUDA (the installed paddlepaddle '
                'is a CPU build); install a paddlepaddle-gpu build or use --device cpu')
        count = paddle.device.cuda.device_count()
        if count == 0:
            raise ValueError('--device gpu: paddle is compiled with CUDA but no GPU is visible '
                             '(check CUDA_VISIBLE_DEVICES and the driver)')
        check_selected_gpus(os.environ.get('FLAGS_selected_gpus'), count)
        # 'gpu' resolves to FLAGS_selected_gpus, which paddle.distributed.launch
        # sets to each rank's own card.
        paddle.set_device('gpu')
    else:
        # CPU tensors live in malloc'ed host memory: see utils/cpu_tuning.py.
        reuse_freed_memory()
        paddle.set_device('cpu')


def check_selected_gpus(selected, device_count):
    """Raise ValueError unless every card id in ``selected`` exists.

    Without this check a missing card fails inside CUDA with an error that does
    not say which launcher flag asked for it.

    Args:
        selected (str | None): ``FLAGS_selected_gpus`` as paddle.distributed.launch
            sets it for this rank (ids relative to CUDA_VISIBLE_DEVICES), e.g. '3'.
        device_count (int): GPUs visible to this process.
    """
    if not selected:
        return
    ids = [int(i) for i in str(selected).split(',') if i.strip()]
    missing = [i for i in ids if i >= device_count]
    if missing:
        raise ValueError(
            'GPU {} requested (FLAGS_selected_gpus={}, from paddle.distributed.launch '
            '--devices / CUDA_VISIBLE_DEVICES) but only {} GPU(s) are visible (ids 0..{}); '
            'request at most {} device(s) per machine'.format(
                ','.join(map(str, missing)), selected, device_count, device_count - 1,
                device_count))


def check_precision(device, precision, amp_level):
    """Validate ``--precision`` / ``--amp_level`` for ``device``.

    fp16 needs a GPU. bf16 is refused on CPU too: measured on paddlepaddle 3.3.1
    CPU, ``paddle.amp.auto_cast(dtype='bfloat16')`` leaves conv/matmul outputs in
    float32 (it casts only on GPU/XPU/custom devices), so "bf16 training on CPU"
    would silently be fp32.

    Returns:
        The AMP dtype ('float16' | 'bfloat16') or None for fp32.
    """
    if precision not in TRAIN_PRECISIONS:
        raise ValueError('--precision must be one of {}, got {!r}'.format(TRAIN_PRECISIONS, precision))
    if amp_level not in AMP_LEVELS:
        raise ValueError('--amp_level must be one of {}, got {!r}'.format(AMP_LEVELS, amp_level))
    if precision == 'fp32':
        return None
    if device != 'gpu':
        raise ValueError(
            '--precision {} needs --device gpu: Paddle\'s auto_cast does not cast on CPU, '
            'so CPU training runs in fp32 (use --precision fp32)'.format(precision))
    if precision == 'bf16' and not paddle.amp.is_bfloat16_supported():
        raise ValueError('--precision bf16: this GPU does not support bfloat16 '
                         '(Ampere or newer is needed); use --precision fp16')
    return AMP_DTYPES[precision]
