"""Run the mini learning run over seeds x OMP thread counts and print the table.

Each entry runs the real command lines, as tests/test_learning.py does (which
runs one of them in CI): tools/make_mini_dataset.py once, then per entry
``train.py --do_eval --seed S`` with ``OMP_NUM_THREADS=T`` and ``val.py`` on its
best_model. The table gives val.py's mIoU of best_model, the iteration it comes
from, the train-time evaluation curve (one value per checkpoint) and the wall
time. An entry whose ``val/metrics.json`` exists is read, not re-run, so an
interrupted matrix continues where it stopped (``--rerun`` runs it again;
``--report`` only prints the table of the entries found under ``--out``).

    python tools/learning_matrix.py --out /tmp/learning_matrix            # 3 seeds x {1, 2}
    python tools/learning_matrix.py --seeds 2 --threads 1                # one entry

Entries run side by side while their thread counts fit in ``--cores`` (default:
every core), so a 2-thread entry on a 2-core machine runs alone: OpenMP threads
oversubscribed on shared cores wait on each other and run about 3x slower.
"""
import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import time
import threading
from concurrent.futures import ThreadPoolExecutor

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CONFIG = os.path.join(REPO, 'configs', 'mini', 'encnet_jpu_r50_mini_64x64_600.yml')
EVAL_LINE = re.compile(r'\[EVAL\] iter: (\d+), mIoU: ([\d.]+)')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default=DEFAULT_CONFIG)
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    p.add_argument('--out', default='/tmp/learning_matrix', help='data, runs and logs')
    p.add_argument('--cores', type=int, default=os.cpu_count() or 1,
                   help='threads in use at once, summed over the running entries')
    p.add_argument('--save_interval', type=int, default=50)
    p.add_argument('--target', type=float, default=0.80, help='the mIoU bar')
    p.add_argument('--rerun', action='store_true', help='run entries that have results')
    p.add_argument('--report', action='store_true', help='print the table of what exists, run nothing')
    return p.parse_args(argv)


def entry_dir(out, seed, threads):
    return os.path.join(out, 'seed{}_threads{}'.format(seed, threads))


def entry_commands(args, data, seed, threads):
    """The train.py and val.py argument lists of one entry (run from the repo root)."""
    run_dir = entry_dir(args.out, seed, threads)
    roots = ['train_dataset.dataset_root=' + data, 'val_dataset.dataset_root=' + data]
    train = ['train.py', '--config', args.config, '--save_dir', run_dir, '--do_eval',
             '--seed', str(seed), '--save_interval', str(args.save_interval), '--log_iters', '10',
             '--num_workers', '0', '--opts'] + roots
    val = ['val.py', '--config', args.config, '--model_path',
           os.path.join(run_dir, 'best_model', 'model.pdparams'),
           '--save_dir', os.path.join(run_dir, 'val'), '--opts'] + roots
    return train, val


def read_entry(run_dir):
    """(val.py mIoU or None, [(iter, train-time mIoU)]) of one finished or failed entry."""
    curve = []
    log_path = os.path.join(run_dir, 'train.log')
    if os.path.isfile(log_path):
        with open(log_path) as f:
            curve = [(int(i), float(m)) for i, m in EVAL_LINE.findall(f.read())]
    miou = None
    metrics = os.path.join(run_dir, 'val', 'metrics.json')
    if os.path.isfile(metrics):
        with open(metrics) as f:
            miou = json.load(f)['miou']
    return miou, curve


def run_entry(args, data, seed, threads):
    """Train then evaluate one entry, logging to ``<entry dir>.log``; returns (exit code, s)."""
    log_path = entry_dir(args.out, seed, threads) + '.log'
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=REPO)
    print('start seed {} threads {} (log {})'.format(seed, threads, log_path), flush=True)
    start = time.time()
    code = 0
    with open(log_path, 'w') as log:
        for command in entry_commands(args, data, seed, threads):
            code = subprocess.run([sys.executable] + command, cwd=REPO, env=env, stdout=log,
                                  stderr=subprocess.STDOUT).returncode
            if code != 0:
                break
    seconds = time.time() - start
    print('done seed {} threads {}: exit {}, {:.0f} s'.format(seed, threads, code, seconds),
          flush=True)
    return code, seconds


class CoreBudget:
    """At most ``cores`` threads in use: ``with budget.hold(n):`` waits until n are free.

    An entry wider than the machine runs alone rather than never.
    """

    def __init__(self, cores):
        self.free = self.cores = max(1, cores)
        self.cond = threading.Condition()

    @contextlib.contextmanager
    def hold(self, threads):
        need = min(threads, self.cores)
        with self.cond:
            self.cond.wait_for(lambda: self.free >= need)
            self.free -= need
        try:
            yield
        finally:
            with self.cond:
                self.free += need
                self.cond.notify_all()


def run_matrix(args):
    """Run the missing entries within ``args.cores``; returns ({entry: s}, [failed])."""
    data = os.path.join(args.out, 'mini_ade20k')
    os.makedirs(args.out, exist_ok=True)
    if not os.path.isdir(data):
        subprocess.run([sys.executable, 'tools/make_mini_dataset.py', '--out', data, '--seed',
                        '0'], cwd=REPO, check=True)
    todo = [(s, t) for s in args.seeds for t in args.threads
            if args.rerun or read_entry(entry_dir(args.out, s, t))[0] is None]
    # Widest first, so that narrow entries fill the cores left over at the end.
    todo.sort(key=lambda e: -e[1])
    budget = CoreBudget(args.cores)

    def run(entry):
        with budget.hold(entry[1]):
            return run_entry(args, data, *entry)

    with ThreadPoolExecutor(max_workers=max(1, len(todo))) as pool:
        results = dict(zip(todo, pool.map(run, todo)))
    times = {key: seconds for key, (_, seconds) in results.items()}
    return times, [key for key, (code, _) in results.items() if code != 0]


def format_table(args, times):
    """The markdown table of every entry of the matrix (run, reused or missing)."""
    rows = ['| seed | threads | best mIoU (val.py) | best iter | >= {:.2f} | wall | '
            'train-time mIoU per checkpoint |'.format(args.target),
            '|---|---|---|---|---|---|---|']
    for seed in args.seeds:
        for threads in args.threads:
            miou, curve = read_entry(entry_dir(args.out, seed, threads))
            best_iter = max(curve, key=lambda c: c[1])[0] if curve else '-'
            wall = '{:.0f} min'.format(times[(seed, threads)] / 60) \
                if (seed, threads) in times else ('earlier run' if miou is not None else '-')
            status = 'incomplete / failed' if curve else 'not run'
            rows.append('| {} | {} | {} | {} | {} | {} | {} |'.format(
                seed, threads, '{:.4f}'.format(miou) if miou is not None else status,
                best_iter, '-' if miou is None else ('yes' if miou >= args.target else 'NO'), wall,
                ' '.join('{:.2f}'.format(m) for _, m in curve)))
    return '\n'.join(rows)


def main(argv=None):
    args = parse_args(argv)
    times, failed = ({}, []) if args.report else run_matrix(args)
    print(format_table(args, times))
    if failed:
        print('failed entries (seed, threads): {}; see their .log files'.format(failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
