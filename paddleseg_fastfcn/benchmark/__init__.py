"""One-command speed benchmark (``tools/benchmark.py``).

The parent process (``runner``) never imports Paddle: every case runs in its own
child process (``worker``) so that each case's peak memory, thread settings and
allocator state are its own.
"""
