"""A throw-away single-member etcd server on loopback, for the launcher's elastic mode.

``python -m paddle.distributed.launch --master etcd://host:port`` keeps its
rendezvous, heartbeats and job status in etcd. The server is the ``etcd``
binary (Debian's ``etcd-server`` package; ``.ci/run`` installs it); the
launcher talks to it through the ``etcd3`` Python package.
"""
import importlib.util
import shutil
import subprocess
import time
import urllib.error
import urllib.request

from tests.distributed.launch_helpers import free_port

# etcd 3.4 is ready in well under a second; the bound covers 2 busy cores.
START_TIMEOUT = 30


class EtcdServer:
    """``etcd`` serving ``127.0.0.1:<client_port>`` with its data in ``data_dir``.

    Use as a context manager: the server is stopped (SIGTERM, then SIGKILL) on exit.
    """

    def __init__(self, data_dir, log_path):
        self.data_dir, self.log_path = str(data_dir), str(log_path)
        self.client_port, self.peer_port = free_port(), free_port()
        self.process = None

    @property
    def master(self):
        """The launcher's ``--master`` value for this server."""
        return 'etcd://127.0.0.1:{}'.format(self.client_port)

    def __enter__(self):
        client = 'http://127.0.0.1:{}'.format(self.client_port)
        peer = 'http://127.0.0.1:{}'.format(self.peer_port)
        command = [shutil.which('etcd') or 'etcd', '--name', 'test', '--data-dir', self.data_dir,
                   '--listen-client-urls', client, '--advertise-client-urls', client,
                   '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
                   '--initial-cluster', 'test=' + peer]
        with open(self.log_path, 'w') as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            self._wait_healthy(client + '/health')
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_healthy(self, url):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError('etcd exited with code {}:\n{}'.format(
                    self.process.returncode, self._log_tail()))
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if b'"true"' in response.read():
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError('etcd not healthy after {} s at {}:\n{}'.format(
            START_TIMEOUT, url, self._log_tail()))

    def _log_tail(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()[-3000:]

    def __exit__(self, *exc):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return False


def elastic_mode_unavailable():
    """Why the elastic tests cannot run here, or None when they can."""
    if shutil.which('etcd') is None:
        return 'no `etcd` binary on PATH (Debian: apt-get install etcd-server; .ci/run does)'
    if importlib.util.find_spec('etcd3') is None:
        return 'the etcd3 package is not installed (requirements.txt pins it)'
    return None
