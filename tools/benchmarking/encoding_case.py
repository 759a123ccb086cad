"""The Encoding layer alone, this project's vs PaddleSeg 2.8's: forward + backward.

Both get the same codewords, scales, input (the size of EncNet's feature at
stride 8: ``[N, 512, H/8, W/8]``, K = 32) and upstream gradient; each saves its
output and input gradient so the parent can check they agree.
"""
import os

import numpy as np
import paddle

from paddleseg_fastfcn.models.layers.encoding import EncodingLayer

from .memory import PaddleHostPeak, PeakRSS
from .runtime import gpu_peak_memory_mb, synchronize
from .timing import time_repeats

CHANNELS = 512
NUM_CODES = 32
FEATURE_STRIDE = 8


def build_encoding(impl):
    if impl == 'ours':
        return EncodingLayer(CHANNELS, NUM_CODES)
    if impl == 'paddleseg':
        from paddleseg.models.fastfcn import Encoding
        return Encoding(CHANNELS, NUM_CODES)
    raise ValueError('unknown Encoding implementation {!r}'.format(impl))


def output_file(spec, impl, what):
    return os.path.join(spec['workdir'], 'encoding_{}_{}.npy'.format(impl, what))


def run_encoding(spec):
    impl = spec['params']['impl']
    layer = build_encoding(impl)
    rng = np.random.RandomState(0)
    bound = 1.0 / (CHANNELS * NUM_CODES) ** 0.5
    layer.codewords.set_value(rng.uniform(-bound, bound, (NUM_CODES, CHANNELS)).astype(np.float32))
    layer.scale.set_value(rng.uniform(-1, 0, (NUM_CODES,)).astype(np.float32))
    height, width = (s // FEATURE_STRIDE for s in spec['size'])
    shape = [spec['batch_size'], CHANNELS, height, width]
    # Small-magnitude features keep the soft assignment soft (unit-variance inputs in
    # 512-D make it one-hot, which would hide differences in the comparison).
    x = paddle.to_tensor(0.1 * rng.standard_normal(shape).astype(np.float32), stop_gradient=False)
    upstream = paddle.to_tensor(
        rng.standard_normal([spec['batch_size'], NUM_CODES, CHANNELS]).astype(np.float32))
    results = {}

    def forward_backward():
        x.clear_gradient()
        out = layer(x)
        (out * upstream).sum().backward()
        results['out'] = out

    # Load the kernels' code and allocator pools on a tiny input first, so the peak
    # below is the memory of the computation, not of first-use initialisation.
    tiny = paddle.to_tensor(np.ones([1, CHANNELS, 2, 2], np.float32), stop_gradient=False)
    layer(tiny).sum().backward()
    layer.clear_gradients()
    with PeakRSS() as mem, PaddleHostPeak() as alloc:
        timing = time_repeats(forward_backward, spec['warmup'], spec['repeats'],
                              synchronize(spec['device']))
    np.save(output_file(spec, impl, 'output'), results['out'].numpy())
    np.save(output_file(spec, impl, 'input_grad'), x.grad.numpy())
    return dict(timing, input_shape=shape, num_codes=NUM_CODES,
                gpu_peak_mb=gpu_peak_memory_mb(spec['device']), **mem.as_dict(), **alloc.as_dict())
