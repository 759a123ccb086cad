import os
import sys

import pytest

# Tests run on small shapes; one thread keeps parallel helpers and CI predictable.
os.environ.setdefault('OMP_NUM_THREADS', '1')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture()
def call_with_timeout():
    """``call(fn, *args, timeout=60, **kwargs)``: fn's result or exception, or a failure
    if fn is still running after ``timeout`` seconds (a hang; its daemon thread is
    left behind so that the test session can still end)."""
    import threading

    def call(fn, *args, timeout=60, **kwargs):
        outcome = {}

        def target():
            try:
                outcome['result'] = fn(*args, **kwargs)
            except BaseException as e:  # handed to the test's thread below
                outcome['error'] = e

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            pytest.fail('{} still running after {} s (hangs)'.format(
                getattr(fn, '__name__', fn), timeout))
        if 'error' in outcome:
            raise outcome['error']
        return outcome['result']

    return call
