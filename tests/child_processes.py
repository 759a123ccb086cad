"""Child processes for the tests that bound what a refusal may cost (peak RSS, wall time) or that
must survive a crash of the code under test: each runs in a fresh Python and reports what it measured."""
import json
import os
import subprocess
import sys
import threading

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# Runs in a child: imports one reader module without the package's __init__ (which
# imports paddle, ~400 MB the readers do not need), calls it, and reports the
# outcome with its own peak RSS. An address-space limit keeps a regression from
# taking the machine's memory: it then fails here as a MemoryError.
_BOUNDED_CHILD = r"""
import importlib, json, os, resource, sys, time, types
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
root, module, function, args = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
for name, sub in (('paddleseg_fastfcn', ''), ('paddleseg_fastfcn.utils', 'utils')):
    package = types.ModuleType(name)
    package.__path__ = [os.path.join(root, 'paddleseg_fastfcn', sub)]
    sys.modules[name] = package
call = getattr(importlib.import_module(module), function)
def peak():  # VmHWM: this process's own peak (ru_maxrss also keeps the forking parent's)
    with open('/proc/self/status') as f:
        return next(int(line.split()[1]) for line in f if line.startswith('VmHWM:')) / 1024
before, start = peak(), time.perf_counter()
try:
    call(*args)
    out = {'error': None, 'message': ''}
except BaseException as e:
    out = {'error': type(e).__name__, 'message': str(e)}
out.update(seconds=time.perf_counter() - start, peak_mb=peak(), growth_mb=peak() - before,
           paddle='paddle' in sys.modules)
print(json.dumps(out))
"""


def bounded_call(module, function, *args, env=None):
    """Run ``module.function(*args)`` (JSON arguments) in a fresh Python without paddle, with
    ``env`` added to the environment.

    Returns:
        dict: ``{'error': exception type name or None, 'message', 'seconds', 'peak_mb',
        'growth_mb' (peak RSS growth during the call), 'paddle'}``.
    """
    child_env = dict(os.environ, **(env or {}))
    done = subprocess.run([sys.executable, '-c', _BOUNDED_CHILD, REPO, module, function, json.dumps(args)],
                          capture_output=True, text=True, timeout=120, env=child_env, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_child(code, *args, timeout=120):
    """Run ``python -c code *args`` from the repository root, as a user's process would.

    A crash (segfault, abort) of the child fails only the test that reads its return code.

    Returns:
        tuple: ``(returncode, stdout, stderr, peak RSS in MB, wall seconds)``; the peak
        is the child's own (``os.wait4``), not that of earlier children.
    """
    import tempfile
    import time
    repo = REPO
    with tempfile.TemporaryFile('w+') as out, tempfile.TemporaryFile('w+') as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, '-c', code] + [str(a) for a in args], stdout=out, stderr=err,
                                cwd=repo, text=True)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read(), err.read(), usage.ru_maxrss / 1024.0, seconds


# A child process: runs ``code`` and prints its peak RSS growth (KB), its peak RSS and that of its
# own children (KB, e.g. data loader workers) and the wall time (s) last.
MEASURED_CHILD = """\
import json, resource, sys, time
sys.path.insert(0, {repo!r})
{setup}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.monotonic()
try:
    {code}
    outcome = 'no error'
except Exception as e:
    outcome = '{{}}: {{}}'.format(type(e).__name__, e)
seconds = time.monotonic() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{'outcome': outcome, 'rss_growth_kb': peak - before, 'rss_kb': peak, 'seconds': seconds,
                  'children_rss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}}))
"""


def run_measured(setup, code, timeout=120):
    """``code`` (one line) run in a fresh Python after ``setup`` (statements).

    Returns:
        dict: ``{'outcome', 'rss_growth_kb', 'rss_kb', 'children_rss_kb', 'seconds', 'stderr'}``:
        its peak RSS growth over the post-setup baseline, the peak RSS of the child and of its
        own children (its data loader workers) and the wall time, measured by the child itself.
    """
    proc = subprocess.run([sys.executable, '-c', MEASURED_CHILD.format(repo=REPO, setup=setup, code=code)],
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]), stderr=proc.stderr)
