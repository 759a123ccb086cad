"""Peak resident memory (RSS) of the current process, over a chosen region.

Linux keeps the peak RSS (``VmHWM`` in /proc/self/status); writing ``5`` to
/proc/self/clear_refs resets it to the current RSS (Linux >= 4.0). So the peak
of a region is measured without the imports and model building before it
polluting the figure. Where the reset is not allowed the peak is the whole
process's (``ru_maxrss``), and ``reset`` says so.
"""
import resource


def _status_kb(field):
    try:
        with open('/proc/self/status', 'r') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def current_rss_mb():
    """Resident memory now, in MiB (None where /proc is missing)."""
    kb = _status_kb('VmRSS')
    return None if kb is None else kb / 1024.0


def peak_rss_mb():
    """Peak resident memory since start (or since the last reset), in MiB."""
    kb = _status_kb('VmHWM')
    if kb is None:  # no /proc: ru_maxrss is KiB on Linux
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0


def reset_peak_rss():
    """Reset the kernel's peak-RSS mark to the current RSS; True if it worked."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


class PeakRSS:
    """Context manager measuring the peak RSS reached inside its block.

    Attributes (after the block):
        baseline_mb (float): RSS when the block started.
        peak_mb (float): highest RSS of the block (of the process if ``reset`` is False).
        delta_mb (float): ``peak_mb - baseline_mb``: memory the block itself needed.
        reset (bool): whether the peak mark could be reset at the start.
    """

    def __enter__(self):
        self.reset = reset_peak_rss()
        self.baseline_mb = current_rss_mb()
        return self

    def __exit__(self, *exc):
        self.peak_mb = peak_rss_mb()
        base = self.baseline_mb if self.baseline_mb is not None else 0.0
        self.delta_mb = max(0.0, self.peak_mb - base)
        return False

    def as_dict(self):
        return {'peak_rss_mb': round(self.peak_mb, 1), 'rss_before_mb': round(self.baseline_mb or 0.0, 1),
                'peak_rss_delta_mb': round(self.delta_mb, 1), 'peak_reset': self.reset}


class PaddleHostPeak:
    """Context manager: peak bytes held by Paddle's CPU tensors inside its block.

    Paddle's allocator statistics count exactly the tensors' memory, without the
    library code, allocator slack and first-use pages that RSS also sees; this is
    the figure to compare two implementations of one layer by.

    Attributes (after the block):
        peak_above_start_mb (float): peak allocated during the block minus what
            was allocated when it started.
    """

    def __enter__(self):
        from paddle.base import core
        self._core = core
        core.host_memory_stat_reset_peak_value('Allocated', 0)
        self.start_mb = core.host_memory_stat_current_value('Allocated', 0) / 2.0 ** 20
        return self

    def __exit__(self, *exc):
        peak = self._core.host_memory_stat_peak_value('Allocated', 0) / 2.0 ** 20
        self.peak_above_start_mb = max(0.0, peak - self.start_mb)
        return False

    def as_dict(self):
        return {'paddle_alloc_peak_above_start_mb': round(self.peak_above_start_mb, 1)}
