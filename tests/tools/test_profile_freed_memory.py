"""tools/profile_freed_memory.py: both allocator settings run, one table row per forward.

Page faults, times and RSS are reported, not asserted: they depend on the CPU, the heap's
layout and the load of a shared machine."""
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_reports_each_forward_under_each_setting():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (REPO, os.environ.get('PYTHONPATH')) if p))
    result = subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'profile_freed_memory.py'), '--model',
                             'conv_bn', '--size', '16x24', '--forwards', '3', '--threads', '1'],
                            capture_output=True, text=True, cwd=REPO, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith('CPU: ') and 'flags' in lines[0]
    assert 'reuse = glibc keeps freed memory for reuse' in lines[1] and 'system = system malloc defaults' in lines[1]
    rows = [line for line in lines if re.match(r'\| \d+ \|', line)]
    assert [row.split('|')[1].strip() for row in rows] == ['1', '2', '3']
    for row in rows:
        cells = [cell.strip() for cell in row.split('|')[2:-1]]
        assert len(cells) == 8 and all(re.fullmatch(r'\d+|-', cell) for cell in cells), row


def test_rejects_a_malformed_size():
    result = subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'profile_freed_memory.py'),
                             '--size', '16'], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2 and '--size: give two positive sizes HxW' in result.stderr
