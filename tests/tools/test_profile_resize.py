"""tools/profile_resize.py: every form runs, and the resize equals F.interpolate."""
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_prints_each_form_with_its_difference_from_f_interpolate():
    result = subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'profile_resize.py'), '--shapes',
                             '1x3x8x12:40x36', '--repeats', '1', '--threads', '1'],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if ' ms ' in line]
    assert len(lines) == 4 and lines[0].lstrip().startswith('F.interpolate')
    diffs = [float(d) for d in re.findall(r'max \|diff\| vs F.interpolate ([\d.e+-]+)', result.stdout)]
    assert len(diffs) == 2 and max(diffs) < 1e-5
