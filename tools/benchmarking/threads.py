"""The math libraries' thread-count variables, set before any of them loads.

Imports nothing but ``os``: a tool sets these first, then imports numpy / Paddle,
whose OpenMP, MKL and OpenBLAS pools read them once at load time.
"""
import os

THREAD_ENV_VARS = ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS')


def pin_threads(threads, env=None):
    """Set every variable of ``THREAD_ENV_VARS`` to ``threads`` in ``env`` (default: this process's)."""
    env = os.environ if env is None else env
    for var in THREAD_ENV_VARS:
        env[var] = str(threads)
    return env
