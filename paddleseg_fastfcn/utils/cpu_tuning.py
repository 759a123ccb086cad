"""CPU settings that Paddle's bundled math library and allocator need.

MKL code path
    paddlepaddle 3.3.1's CPU wheel runs dygraph matrix products and convolutions through
    the MKLML it bundles, and that MKL takes a generic (slow) code path on AMD CPUs.
    Measured on this project's AMD EPYC machine, same run: ``paddle.matmul`` at 14
    GFLOP/s vs 38 with ``MKL_DEBUG_CPU_TYPE=5`` (numpy/OpenBLAS: 37); whole models
    ~2.5x faster in dygraph (docs/benchmark.md). MKL reads the variable at its first
    call, so setting it when this package is imported is early enough. On Intel CPUs
    the variable would pin MKL to AVX2, so it is set on AMD only, and never over a
    value the user chose.

Freed memory
    Paddle 3.3.1 allocates CPU tensors with plain ``malloc`` (neither allocator
    strategy pools host memory), and glibc serves blocks above its mmap threshold
    (128 KiB, adapting up to 32 MiB) with fresh ``mmap`` pages that it unmaps on
    ``free``. Every large activation or im2col buffer is then page-faulted in
    again, at every layer of every forward: an out-of-place ReLU on a 25 MB tensor
    takes 12.7 ms against 1.7 ms on reused memory, and EncNet+JPU R50 at 512x512
    runs in 1.61 s against 1.05 s (OS8: 2.61 s vs 1.80 s; Paddle Inference with
    oneDNN 1.18 s vs 0.75 s) on this project's 2-core machine (docs/benchmark.md).
    ``reuse_freed_memory`` makes glibc serve every block from its heap and keep
    freed memory there; a block is reused when a later request fits a free chunk.
    What holds: once the heap has settled, repeated forwards at one input size
    fault (almost) no pages in. It settles after a number of forwards that varies
    from run to run: a smaller tensor can be placed inside a freed large block,
    and the next block of that size then grows the heap (1 to 4 extra forwards
    seen for a 3x3 conv + BN at 128x128, each faulting its 36 MiB im2col buffer in
    again and adding it to RSS). The price: the process does not give memory back
    to the system until it exits (peak RSS +4-33% in the benchmark; RSS between
    forwards of EncNet+JPU R50 at 512x512 1211 vs 770 MiB, docs/benchmark.md).
"""
import ctypes
import os
import sys

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


# mallopt(3) parameter numbers from glibc's <malloc.h>.
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
MALLOC_VAR = 'PADDLESEG_FASTFCN_MALLOC'
KEEP_SYSTEM_MALLOC = ('system', 'default', 'off', '0')
_malloc_state = {'applied': False}


def keeps_system_malloc(environ=os.environ):
    """True if ``PADDLESEG_FASTFCN_MALLOC`` asks for glibc's defaults."""
    return environ.get(MALLOC_VAR, '').strip().lower() in KEEP_SYSTEM_MALLOC


def reuse_freed_memory(environ=os.environ):
    """Have glibc reuse freed heap memory instead of returning it to the system.

    Sets ``M_MMAP_MAX=0`` (every block comes from the heap) and disables heap
    trimming. Called by ``set_device('cpu')``, so train, val, predict and the
    benchmark run with it; ``PADDLESEG_FASTFCN_MALLOC=system`` keeps glibc's
    defaults. A no-op off Linux or on a C library without ``mallopt``.

    Returns:
        bool: True if the setting is in force after the call.
    """
    if _malloc_state['applied']:
        return True
    if keeps_system_malloc(environ):
        return False
    if not sys.platform.startswith('linux'):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    # glibc stores the trim threshold as size_t: -1 means "never trim".
    applied = mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, -1) == 1
    _malloc_state['applied'] = applied
    return applied


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (glibc >= 2.33): the main arena's counters, in bytes."""
    _fields_ = [(name, ctypes.c_size_t) for name in (
        'arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks', 'fsmblks', 'uordblks', 'fordblks',
        'keepcost')]


def heap_info():
    """What glibc's allocator holds now, from ``mallinfo2(3)``.

    Returns:
        dict | None: ``heap_bytes`` (obtained with brk/sbrk), ``free_bytes`` (free
        inside it, kept for reuse), ``mmapped_blocks`` and ``mmapped_bytes`` (blocks
        served by their own ``mmap``, returned to the system on ``free``); None
        off glibc or on a glibc older than 2.33.
    """
    if not sys.platform.startswith('linux'):
        return None
    try:
        mallinfo2 = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None
    mallinfo2.restype = _MallInfo2
    info = mallinfo2()
    return {'heap_bytes': info.arena, 'free_bytes': info.fordblks, 'mmapped_blocks': info.hblks,
            'mmapped_bytes': info.hblkhd}


def malloc_setting():
    """A short description of the allocator setting in force, for logs and reports."""
    if _malloc_state['applied']:
        return 'glibc keeps freed memory for reuse (M_MMAP_MAX=0, no trim)'
    return 'system malloc defaults'
