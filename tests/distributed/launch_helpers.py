"""Run scripts under ``python -m paddle.distributed.launch`` on loopback CPU processes."""
import os
import socket
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Bounds for a hung launch, far above the ~25 s a 2-process run takes on 2 busy cores.
LAUNCH_TIMEOUT = 300


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def launch_command(script, args, log_dir, nproc=2):
    """The launcher command line for ``nproc`` CPU processes running ``script args``."""
    return [sys.executable, '-m', 'paddle.distributed.launch', '--nproc_per_node', str(nproc),
            '--master', '127.0.0.1:{}'.format(free_port()), '--log_dir', str(log_dir),
            script] + [str(a) for a in args]


def launch_env():
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    return env


def launch(script, args, log_dir, nproc=2):
    """Run to completion; returns the CompletedProcess (stdout and stderr merged)."""
    return subprocess.run(launch_command(script, args, log_dir, nproc), cwd=REPO,
                          env=launch_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=LAUNCH_TIMEOUT)


def worker_logs(log_dir):
    """{rank: text of workerlog.<rank>}."""
    logs = {}
    if not os.path.isdir(log_dir):
        return logs
    for name in os.listdir(log_dir):
        if name.startswith('workerlog.'):
            with open(os.path.join(log_dir, name), errors='replace') as f:
                logs[int(name.split('.')[1])] = f.read()
    return logs


def explain(result, log_dir):
    """Assertion message: the launcher's output and every worker's log tail."""
    parts = ['exit code {}\n--- launcher ---\n{}'.format(result.returncode, result.stdout[-3000:])]
    if os.path.isdir(str(log_dir)):
        for rank, text in sorted(worker_logs(str(log_dir)).items()):
            parts.append('--- workerlog.{} ---\n{}'.format(rank, text[-3000:]))
    return '\n'.join(parts)
