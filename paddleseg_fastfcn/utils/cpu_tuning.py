"""CPU settings that Paddle's bundled math library needs on some machines.

paddlepaddle 3.3.1's CPU wheel runs dygraph matrix products and convolutions through
the MKLML it bundles, and that MKL takes a generic (slow) code path on AMD CPUs.
Measured on this project's AMD EPYC machine, same run: ``paddle.matmul`` at 14 GFLOP/s
vs 38 with ``MKL_DEBUG_CPU_TYPE=5`` (numpy/OpenBLAS: 37); whole models ~2.5x faster in
dygraph (docs/benchmark.md). MKL reads the variable at its first call, so setting it
when this package is imported is early enough. On Intel CPUs the variable would pin
MKL to AVX2, so it is set on AMD only, and never over a value the user chose.
"""
import os

MKL_CPU_TYPE_VAR = 'MKL_DEBUG_CPU_TYPE'


def cpu_vendor(cpuinfo='/proc/cpuinfo'):
    """The ``vendor_id`` of the first CPU (e.g. 'AuthenticAMD'), or None if unknown."""
    try:
        with open(cpuinfo, 'r', encoding='utf-8', errors='replace') as f:
            for line in f:
                if line.startswith('vendor_id'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        return None
    return None


def use_fast_mkl_path_on_amd(environ=os.environ, cpuinfo='/proc/cpuinfo'):
    """Set ``MKL_DEBUG_CPU_TYPE=5`` on AMD CPUs unless already set.

    Returns:
        bool: True if this call set the variable.
    """
    if MKL_CPU_TYPE_VAR in environ or cpu_vendor(cpuinfo) != 'AuthenticAMD':
        return False
    environ[MKL_CPU_TYPE_VAR] = '5'
    return True
