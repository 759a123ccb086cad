"""tools/learning_matrix.py: the commands it runs and the table it prints from the runs' files."""
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(REPO, 'tools', 'learning_matrix.py')


def test_report_reads_val_scores_and_train_time_curves(tmp_path):
    done = tmp_path / 'seed0_threads1'
    (done / 'val').mkdir(parents=True)
    (done / 'train.log').write_text(
        '2026-01-01 00:00:00 [INFO] [EVAL] iter: 50, mIoU: 0.4000, acc: 0.8\n'
        '2026-01-01 00:00:09 [INFO] [EVAL] iter: 100, mIoU: 0.8250, acc: 0.9\n'
        '2026-01-01 00:00:19 [INFO] [EVAL] iter: 150, mIoU: 0.7000, acc: 0.9\n')
    (done / 'val' / 'metrics.json').write_text(json.dumps({'miou': 0.825}))
    partial = tmp_path / 'seed1_threads1'
    partial.mkdir()
    (partial / 'train.log').write_text('x [EVAL] iter: 50, mIoU: 0.3000, acc: 0.7\n')
    res = subprocess.run([sys.executable, TOOL, '--out', str(tmp_path), '--seeds', '0', '1', '2',
                          '--threads', '1', '--report'], capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stderr
    rows = [line for line in res.stdout.splitlines() if line.startswith('| ') and
            line[2].isdigit()]
    assert rows == [
        '| 0 | 1 | 0.8250 | 100 | yes | earlier run | 0.40 0.82 0.70 |',
        '| 1 | 1 | incomplete / failed | 50 | - | - | 0.30 |',
        '| 2 | 1 | not run | - | - | - |  |']
    assert not (tmp_path / 'mini_ade20k').exists()  # --report runs nothing


def test_entry_commands_are_the_learning_tests_command_lines():
    sys.path.insert(0, os.path.join(REPO, 'tools'))
    import learning_matrix
    args = learning_matrix.parse_args(['--out', '/x'])
    train, val = learning_matrix.entry_commands(args, '/x/data', 2, 1)
    assert train[:2] == ['train.py', '--config'] and '--do_eval' in train
    assert train[train.index('--seed') + 1] == '2'
    assert train[train.index('--save_dir') + 1] == '/x/seed2_threads1'
    assert val[val.index('--model_path') + 1] == '/x/seed2_threads1/best_model/model.pdparams'
    assert 'train_dataset.dataset_root=/x/data' in train and 'val_dataset.dataset_root=/x/data' in val


def test_core_budget_never_runs_more_threads_than_cores():
    import threading
    import time

    sys.path.insert(0, os.path.join(REPO, 'tools'))
    import learning_matrix
    budget = learning_matrix.CoreBudget(2)
    in_use, peak, lock = [0], [0], threading.Lock()

    def entry(threads):
        with budget.hold(threads):
            with lock:
                in_use[0] += min(threads, 2)
                peak[0] = max(peak[0], in_use[0])
            time.sleep(0.05)
            with lock:
                in_use[0] -= min(threads, 2)

    workers = [threading.Thread(target=entry, args=(t,)) for t in (2, 1, 1, 2, 1, 4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=10)
    assert not any(w.is_alive() for w in workers)  # a 4-thread entry on 2 cores still runs
    assert peak[0] == 2 and in_use[0] == 0
