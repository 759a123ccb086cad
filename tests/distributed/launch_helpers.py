"""Run scripts under ``python -m paddle.distributed.launch`` on loopback CPU processes."""
import os
import signal
import socket
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Bounds for a hung launch, far above the ~25 s a 2-process run takes on 2 busy cores.
LAUNCH_TIMEOUT = 300


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def launch_command(script, args, log_dir, nproc=2, master=None, launcher_args=()):
    """The launcher command line for ``nproc`` CPU processes running ``script args``.

    Args:
        master (str | None): rendezvous ``ip:port``; a free loopback port by default.
        launcher_args (sequence): more launcher options, e.g. ``['--nnodes', 2]``.
    """
    master = master or '127.0.0.1:{}'.format(free_port())
    return ([sys.executable, '-m', 'paddle.distributed.launch', '--nproc_per_node', str(nproc),
             '--master', master, '--log_dir', str(log_dir)] +
            [str(a) for a in launcher_args] + [script] + [str(a) for a in args])


def launch_env():
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = REPO + os.pathsep + env.get('PYTHONPATH', '')
    return env


def launch(script, args, log_dir, nproc=2):
    """Run to completion; returns the CompletedProcess (stdout and stderr merged)."""
    return subprocess.run(launch_command(script, args, log_dir, nproc), cwd=REPO,
                          env=launch_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=LAUNCH_TIMEOUT)


def start(command, output_path):
    """Start a launcher in its own session (a process group to kill as one machine).

    Its output goes to a file, not a pipe: nobody reads a pipe while the test
    waits, and a full one would block the launcher.
    """
    with open(output_path, 'w') as output:
        return subprocess.Popen(command, cwd=REPO, env=launch_env(), stdout=output,
                                stderr=subprocess.STDOUT, start_new_session=True)


def kill_machine(launcher):
    """SIGKILL a launcher started by ``start`` and its workers, as a machine that dies.

    The launcher starts every worker in a session of its own (``os.setsid``), so
    killing the launcher's process group alone would leave its workers running.
    """
    if launcher.poll() is None:
        for pid in _children(launcher.pid):
            _kill_group_of(pid)
        _kill_group_of(launcher.pid)
    launcher.wait()


def _kill_group_of(pid):
    try:
        os.killpg(os.getpgid(pid), signal.SIGKILL)
    except ProcessLookupError:  # already gone
        pass


def _children(pid):
    try:
        with open('/proc/{0}/task/{0}/children'.format(pid)) as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError('timed out after {} s waiting for {}'.format(timeout, what))


def _rank_of(pid):
    with open('/proc/{}/environ'.format(pid), 'rb') as f:
        env = dict(item.split(b'=', 1) for item in f.read().split(b'\0') if b'=' in item)
    return int(env.get(b'PADDLE_TRAINER_ID', b'-1'))


def workers(launcher_pid):
    """{global rank: pid} of a launcher's worker processes."""
    return {_rank_of(pid): pid for pid in _children(launcher_pid)}


def ended(pid):
    """True once ``pid`` has exited (gone or a zombie)."""
    try:
        with open('/proc/{}/stat'.format(pid)) as f:
            return f.read().split(')')[-1].split()[0] == 'Z'
    except FileNotFoundError:
        return True


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


def read_params(checkpoint_dir):
    """``{name: np.ndarray}`` of ``checkpoint_dir/model.pdparams``, read by the project's safe reader."""
    from paddleseg_fastfcn.utils.weight_files import read_paddle_file
    return read_paddle_file(os.path.join(checkpoint_dir, 'model.pdparams'))
