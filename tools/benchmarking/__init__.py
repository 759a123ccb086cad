"""One-command speed benchmark (``tools/benchmark.py``); a tool, not part of the package.

The parent process (``runner``) measures nothing itself: every case runs in its
own child process (``worker``) so that each case's peak memory, thread settings
and allocator state are its own.
"""
