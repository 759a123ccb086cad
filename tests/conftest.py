import hashlib
import http.server
import os
import sys
import threading

import numpy as np
import pytest

# Tests run on small shapes; one thread keeps parallel helpers and CI predictable.
os.environ.setdefault('OMP_NUM_THREADS', '1')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# What a config needs around its `model:` section for load_config / build_model: a
# `Dataset` training set over an empty list (the model is built, never trained), SGD with
# poly decay and one cross-entropy loss. {root}: the folder of train.txt.
MODEL_CONFIG_FRAME = """\
batch_size: 1
iters: 1
train_dataset:
  type: Dataset
  dataset_root: {root}
  train_path: {root}/train.txt
  num_classes: {num_classes}
  mode: train
  transforms: []
optimizer: {{type: SGD, momentum: 0.9, weight_decay: 1.0e-4}}
lr_scheduler: {{type: PolynomialDecay, learning_rate: 0.01, power: 0.9, end_lr: 0}}
loss:
  types: [{{type: CrossEntropyLoss}}]
  coef: [1]
"""

# A small FastFCNSegmentor (ResNet18_vd + JPU + EncHead + aux head, 3 classes): training
# outputs seg, aux, se.
TINY_FASTFCN_MODEL = """\
model:
  type: FastFCNSegmentor
  num_classes: 3
  backbone: {type: ResNet18_vd, output_stride: 32}
  neck: {type: JointPyramidUpsampling, in_channels: [128, 256, 512], width: 16}
  head: {type: EncHead, num_classes: 3, in_channels: 64, channels: 8, num_codes: 4}
  aux_head: {type: FCNAuxHead, num_classes: 3, in_channels: 256, channels: 8}
"""


@pytest.fixture
def write_model_config(tmp_path):
    """``write(model_yaml=TINY_FASTFCN_MODEL, num_classes=3, name='tiny.yml')`` -> path (str) of a
    config under ``tmp_path``: MODEL_CONFIG_FRAME around ``model_yaml`` (a ``model:`` section,
    not formatted)."""
    def write(model_yaml=TINY_FASTFCN_MODEL, num_classes=3, name='tiny.yml'):
        (tmp_path / 'train.txt').write_text('')
        path = tmp_path / name
        path.write_text(MODEL_CONFIG_FRAME.format(root=tmp_path, num_classes=num_classes) + model_yaml)
        return str(path)
    return write


@pytest.fixture()
def call_with_timeout():
    """``call(fn, *args, timeout=60, **kwargs)``: fn's result or exception, or a failure
    if fn is still running after ``timeout`` seconds (a hang; its daemon thread is
    left behind so that the test session can still end)."""
    import threading

    def call(fn, *args, timeout=60, **kwargs):
        outcome = {}

        def target():
            try:
                outcome['result'] = fn(*args, **kwargs)
            except BaseException as e:  # handed to the test's thread below
                outcome['error'] = e

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            pytest.fail('{} still running after {} s (hangs)'.format(
                getattr(fn, '__name__', fn), timeout))
        if 'error' in outcome:
            raise outcome['error']
        return outcome['result']

    return call


@pytest.fixture
def small_filesystem(tmp_path):
    """``mount(size='2m')`` -> path of a fresh tmpfs of that size under ``tmp_path``, a real
    file system that fills up; ``mount.read_only(path)`` remounts it read-only (root ignores
    permission bits, so chmod cannot make a folder read-only for it). Skips where mounting
    is not permitted (not root, no CAP_SYS_ADMIN). Unmounted after the test."""
    import subprocess
    mounted = []

    def mount(size='2m'):
        path = tmp_path / 'fs{}'.format(len(mounted))
        path.mkdir()
        try:
            proc = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size={}'.format(size), 'tmpfs', str(path)],
                                  capture_output=True, text=True)
        except FileNotFoundError:
            pytest.skip('cannot mount a tmpfs here: no `mount` command')
        if proc.returncode != 0:
            pytest.skip('cannot mount a tmpfs here ({}): {}'.format(
                'not root' if os.geteuid() != 0 else 'mount not permitted', proc.stderr.strip()))
        mounted.append(path)
        return str(path)

    def read_only(path):
        subprocess.run(['mount', '-o', 'remount,ro', path], check=True, capture_output=True)

    mount.read_only = read_only
    yield mount
    for path in reversed(mounted):
        subprocess.run(['umount', '-l', str(path)], capture_output=True)


@pytest.fixture
def undeletable():
    """``make(path)``: write ``path`` as a file nobody can delete, root included (``chattr +i``),
    so that removing its folder fails for real. Skips where the file system has no immutable
    attribute (tmpfs, overlayfs) or ``chattr`` is missing. Made deletable again after the test."""
    import subprocess
    made = []

    def make(path):
        with open(path, 'wb') as f:
            f.write(b'x')
        try:
            proc = subprocess.run(['chattr', '+i', str(path)], capture_output=True, text=True)
        except FileNotFoundError:
            pytest.skip('no chattr here')
        if proc.returncode != 0:
            pytest.skip('cannot make a file immutable here: {}'.format(proc.stderr.strip()))
        made.append(path)
    yield make
    for path in made:
        subprocess.run(['chattr', '-i', str(path)], capture_output=True)


def fill_filesystem(path, leave=0):
    """Write a filler file into ``path`` until at most ``leave`` bytes are free."""
    import shutil
    with open(os.path.join(path, 'filler'), 'wb') as f:
        chunk = b'\0' * 65536
        try:
            while shutil.disk_usage(path).free > leave:
                f.write(chunk[:max(min(len(chunk), shutil.disk_usage(path).free - leave), 1)])
                f.flush()
        except OSError:
            pass


class LoopbackFiles(object):
    """Files served by an HTTP server on 127.0.0.1 (ephemeral port), for download tests.

    ``put(name, data, length=None)`` serves ``data`` at ``url(name)``; ``length``
    sets a Content-Length that differs from the body (a truncated download).
    ``hits`` lists the requested paths.
    """

    def __init__(self):
        self.files, self.hits = {}, []
        files, hits = self.files, self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                if self.path not in files:
                    self.send_error(404)
                    return
                data, length = files[self.path]
                self.send_response(200)
                self.send_header('Content-Length', str(len(data) if length is None else length))
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, name):
        return 'http://127.0.0.1:{}/{}'.format(self.server.server_address[1], name)

    def put(self, name, data, length=None):
        self.files['/' + name] = (data, length)
        return self.url(name)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def loopback_files():
    files = LoopbackFiles()
    yield files
    files.close()


def array_digest(array):
    """dtype, shape and the sha256 of the values (C order, little endian): how
    tests/data/torch_fixtures/expected.json records what torch wrote."""
    little = np.array(array, order='C').astype(array.dtype.newbyteorder('<'))
    return {'dtype': str(array.dtype), 'shape': list(array.shape),
            'sha256': hashlib.sha256(little.tobytes()).hexdigest()}


@pytest.fixture(scope='session')
def tiny_exports(tmp_path_factory):
    """``get(input_shape=None, output_op='argmax')`` -> ``(config, dygraph model, export dir)`` of
    ``TinySegmentor`` exported with ONNX, once per session and argument; copy the folder
    before changing it."""
    from tests.deploy.exported_models import export_tiny_model
    cache = {}

    def get(input_shape=None, output_op='argmax'):
        key = (tuple(input_shape or ()), output_op)
        if key not in cache:
            cache[key] = export_tiny_model(str(tmp_path_factory.mktemp('tiny_export')), input_shape, output_op)
        return cache[key]
    return get


@pytest.fixture()
def bounded_call():
    """``child_processes.bounded_call``: a reader called in a fresh Python without paddle, measured."""
    from tests.child_processes import bounded_call
    return bounded_call


@pytest.fixture
def run_measured():
    """``child_processes.run_measured``: code run in a fresh Python, its peak RSS and time measured."""
    from tests.child_processes import run_measured
    return run_measured


@pytest.fixture(scope='session')
def png_bomb(tmp_path_factory):
    """The path of one ``crafted_files.write_png_bomb`` file (14000 x 14000) shared by the session's tests."""
    from tests.crafted_files import write_png_bomb
    return write_png_bomb(tmp_path_factory.mktemp('bomb') / 'bomb.png')
