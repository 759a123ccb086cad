"""Wall-clock timing: warm-up runs, then the median of timed repeats."""
import statistics
import time


def time_repeats(fn, warmup, repeats, sync=None):
    """Time ``fn()``.

    Args:
        fn (callable): the work to time; its result is ignored.
        warmup (int): untimed calls first (allocator, oneDNN primitive caches,
            lazy initialisation).
        repeats (int): timed calls (>= 1).
        sync (callable | None): called after each ``fn()`` inside the timed
            region, e.g. a device synchronize, so asynchronous work is counted.

    Returns:
        dict: ``median_s``, ``min_s``, ``times_s`` (list), ``warmup``, ``repeats``.
    """
    if repeats < 1:
        raise ValueError('repeats must be >= 1, got {}'.format(repeats))
    if warmup < 0:
        raise ValueError('warmup must be >= 0, got {}'.format(warmup))
    for _ in range(warmup):
        fn()
        if sync is not None:
            sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if sync is not None:
            sync()
        times.append(time.perf_counter() - start)
    return {'median_s': statistics.median(times), 'min_s': min(times), 'times_s': times,
            'warmup': warmup, 'repeats': repeats}
