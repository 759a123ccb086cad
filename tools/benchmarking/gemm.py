"""The machine's fp32 matrix-multiply rate: the hardware yardstick of the benchmark.

A large square numpy (BLAS) product is about the best sustained fp32 rate the
cores reach; achieved model GFLOP/s are reported as a fraction of it.
"""
import numpy as np

from .timing import time_repeats


def gemm_rate(size=2048, warmup=1, repeats=5, seed=0):
    """fp32 GEMM rate of numpy's BLAS on ``size`` x ``size`` matrices.

    Returns:
        dict: ``gflops`` (2 * size**3 / median time, in 1e9 FLOP/s; one
        multiply-add = 2 FLOPs), ``size`` and the timing fields of
        :func:`time_repeats`.
    """
    rng = np.random.RandomState(seed)
    a = rng.standard_normal((size, size)).astype(np.float32)
    b = rng.standard_normal((size, size)).astype(np.float32)
    out = np.empty((size, size), dtype=np.float32)
    timing = time_repeats(lambda: np.matmul(a, b, out=out), warmup, repeats)
    flops = 2.0 * size ** 3
    return dict(timing, size=size, gflops=flops / timing['median_s'] / 1e9)
