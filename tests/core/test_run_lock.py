"""One run per save_dir: a live holder (another process) is named, a dead one's lock is taken over."""
import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from paddleseg_fastfcn.core.run_lock import LOCK_FILE, RunLock, SaveDirLocked

HOLD = ('import sys, time\n'
        'from paddleseg_fastfcn.core.run_lock import RunLock\n'
        'RunLock(sys.argv[1]).acquire()\n'
        'print("locked", flush=True)\n'
        'time.sleep(120)\n')
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def holder(tmp_path):
    """A child process holding tmp_path/out's lock (killed after the test)."""
    proc = subprocess.Popen([sys.executable, '-c', HOLD, str(tmp_path / 'out')], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == 'locked'
    yield proc
    proc.kill()
    proc.wait()


def test_a_second_run_is_refused_naming_the_owner(tmp_path, holder):
    with pytest.raises(SaveDirLocked, match=r'save_dir .*out is in use by another training run: pid {} on '
                                            r'host {} since \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(lock file '
                                            r'.*out/\.lock\)'.format(holder.pid, socket.gethostname())):
        RunLock(str(tmp_path / 'out')).acquire()


def test_the_lock_of_a_killed_run_is_taken_over_and_said(tmp_path, holder):
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    lines = []
    with RunLock(str(tmp_path / 'out'), lines.append):
        owner = json.loads((tmp_path / 'out' / LOCK_FILE).read_text())
        assert owner['pid'] == os.getpid()
        with pytest.raises(SaveDirLocked):  # also within one process: flock is per open file
            RunLock(str(tmp_path / 'out')).acquire()
    assert len(lines) == 1
    assert 'taking over from pid {} on host'.format(holder.pid) in lines[0]
    assert 'which ended without releasing it' in lines[0]
    assert not (tmp_path / 'out' / LOCK_FILE).exists()  # released: removed


def test_a_clean_release_leaves_nothing_to_take_over(tmp_path):
    path = str(tmp_path / 'out')
    for _ in range(3):
        lines = []
        with RunLock(path, lines.append):
            pass
        assert lines == []  # a clean release leaves nothing to take over
