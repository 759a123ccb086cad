"""tools/bench_encoding.py --quick: output structure (no timing assertions)."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_quick_run_prints_table_and_writes_json(tmp_path):
    out_json = tmp_path / 'bench.json'
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'tools', 'bench_encoding.py'), '--quick',
         '--threads', '1', '--json', str(out_json)],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'OMP_NUM_THREADS=1' in result.stdout
    assert '| layer | mode | median ms | min ms | peak MB |' in result.stdout
    assert '| mode | PaddleSeg / ours time | PaddleSeg / ours peak memory |' in result.stdout

    report = json.loads(out_json.read_text())
    assert report['settings']['threads'] == 1
    rows = {(r['variant'], r['mode']): r for r in report['results']}
    assert set(rows) == {(v, m) for v in ('ours', 'paddleseg') for m in ('forward', 'forward_backward')}
    for row in rows.values():
        assert row['median_ms'] > 0 and row['min_ms'] <= row['median_ms']
        assert row['peak_mb'] >= 0
    # both layers got the same parameters and input: same output
    for mode in ('forward', 'forward_backward'):
        a, b = rows[('ours', mode)]['checksum'], rows[('paddleseg', mode)]['checksum']
        assert abs(a - b) <= 1e-4 * max(1.0, abs(b))
    assert set(report['ratios']) == {'forward', 'forward_backward'}
    for ratio in report['ratios'].values():
        assert ratio['speedup'] > 0 and ratio['memory_ratio'] > 0


def test_rejects_unknown_worker_variant():
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'tools', 'bench_encoding.py'), '--worker', 'naive', 'forward'],
        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode != 0 and '--worker takes one of' in result.stderr
