"""load_pretrained: local files and URLs, key reports, clear errors."""
import functools
import http.server
import os
import threading

import numpy as np
import paddle
import paddle.nn as nn
import pytest

from paddleseg_fastfcn.utils import PretrainedError, load_pretrained


class TwoConvs(nn.Layer):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2D(3, 4, 3, bias_attr=False)
        self.bn = nn.BatchNorm2D(4)
        self.head = nn.Conv2D(4, 2, 1)


def saved(tmp_path, state, name='weights.pdparams'):
    path = str(tmp_path / name)
    paddle.save(state, path)
    return path


def test_loads_matching_keys_and_reports_renamed_ones(tmp_path, capsys):
    paddle.seed(0)
    state = TwoConvs().state_dict()
    state['head.kernel'] = state.pop('head.weight')  # a renamed key
    path = saved(tmp_path, state)
    paddle.seed(1)
    model = TwoConvs()
    before = model.head.weight.numpy().copy()
    report = load_pretrained(model, path)
    assert report.missing == ['head.weight']
    assert report.unexpected == ['head.kernel']
    assert sorted(report.loaded) == sorted(k for k in state if k != 'head.kernel')
    np.testing.assert_array_equal(model.stem.weight.numpy(), state['stem.weight'].numpy())
    np.testing.assert_array_equal(model.bn._mean.numpy(), state['bn._mean'].numpy())
    np.testing.assert_array_equal(model.head.weight.numpy(), before)
    log = capsys.readouterr().out
    assert 'WARNING' in log and 'head.weight' in log and 'head.kernel' in log


def test_shape_mismatch_names_key_and_both_shapes(tmp_path):
    state = TwoConvs().state_dict()
    state['head.weight'] = paddle.zeros([3, 4, 1, 1])
    path = saved(tmp_path, state)
    model = TwoConvs()
    before = model.stem.weight.numpy().copy()
    with pytest.raises(PretrainedError, match=r'head\.weight: checkpoint \[3, 4, 1, 1\] vs layer \[2, 4, 1, 1\]'):
        load_pretrained(model, path)
    np.testing.assert_array_equal(model.stem.weight.numpy(), before)  # nothing half-loaded


def test_prefix_selects_and_strips_keys(tmp_path):
    paddle.seed(2)
    inner = TwoConvs()
    state = {'backbone.' + k: v for k, v in inner.state_dict().items()}
    state['head.other'] = paddle.zeros([1])
    report = load_pretrained(TwoConvs(), saved(tmp_path, state), prefix='backbone.')
    assert report.missing == [] and report.unexpected == []


def test_nothing_matching_is_an_error(tmp_path):
    path = saved(tmp_path, {'something.else': paddle.zeros([2])})
    with pytest.raises(PretrainedError, match='no key matches.*something.else'):
        load_pretrained(TwoConvs(), path)


def test_missing_file_names_the_path(tmp_path):
    path = str(tmp_path / 'absent.pdparams')
    with pytest.raises(FileNotFoundError, match='absent.pdparams'):
        load_pretrained(TwoConvs(), path)


@pytest.fixture
def loopback_server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/'served'; yields (base_url, hits)."""
    root = tmp_path / 'served'
    root.mkdir()
    hits = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:{}'.format(server.server_address[1]), root, hits
    server.shutdown()
    server.server_close()


def test_url_is_downloaded_once_into_the_cache(tmp_path, loopback_server):
    base_url, root, hits = loopback_server
    paddle.seed(3)
    source = TwoConvs()
    paddle.save(source.state_dict(), str(root / 'model.pdparams'))
    cache = tmp_path / 'cache'
    url = base_url + '/model.pdparams'
    model = TwoConvs()
    report = load_pretrained(model, url, cache_dir=str(cache))
    assert report.missing == [] and report.unexpected == []
    assert report.path.startswith(str(cache)) and os.path.isfile(report.path)
    np.testing.assert_array_equal(model.head.weight.numpy(), source.head.weight.numpy())
    # No partial download left behind; a second load reads the cache.
    assert [f for _, _, files in os.walk(cache) for f in files] == ['model.pdparams']
    load_pretrained(TwoConvs(), url, cache_dir=str(cache))
    assert hits == ['/model.pdparams']


def test_url_failure_names_the_url(tmp_path, loopback_server):
    base_url, _, _ = loopback_server
    url = base_url + '/missing.pdparams'
    with pytest.raises(PretrainedError, match='missing.pdparams'):
        load_pretrained(TwoConvs(), url, cache_dir=str(tmp_path / 'cache'))
