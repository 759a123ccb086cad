"""utils.weights / weight_files / download: every file kind loads bit-exactly, the
rules per use, errors naming every key, verified cached downloads, safe archives."""
import concurrent.futures
import hashlib
import os
import pickle
import zipfile

import numpy as np
import paddle
import paddle.nn as nn
import pytest

from paddleseg_fastfcn.utils import (DownloadError, UnsafePickleError, WeightsError,
                                     load_backbone_weights, load_weights, read_paddle_file)
from paddleseg_fastfcn.utils.download import fetch
from tests.crafted_files import tar_gz, write_crafted


class TwoConvs(nn.Layer):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2D(3, 4, 3, bias_attr=False)
        self.bn = nn.BatchNorm2D(4)
        self.head = nn.Conv2D(4, 2, 1)


def saved(tmp_path, state, name='weights.pdparams', **kwargs):
    path = str(tmp_path / name)
    paddle.save(state, path, **kwargs)
    return path


def arrays(state):
    return {k: (v.numpy() if hasattr(v, 'numpy') else v) for k, v in state.items()}


@pytest.mark.parametrize('protocol', [2, 3, 4])
def test_model_state_of_every_dtype_reads_bit_exactly(tmp_path, protocol):
    paddle.seed(0)
    state = TwoConvs().state_dict()
    state.update({'f16': paddle.rand([3]).astype('float16'), 'i64': paddle.arange(4),
                  'flag': paddle.to_tensor([True, False]), 'scalar': paddle.to_tensor(2.5)})
    path = saved(tmp_path, state, protocol=protocol)
    # Against Paddle's own reader (`paddle.load` is the safe one after `import paddleseg_fastfcn`).
    got, want = read_paddle_file(path), arrays(paddle.load.__wrapped__(path))
    assert set(got) == set(want)
    for key, value in want.items():
        assert got[key].dtype == value.dtype and got[key].tobytes() == value.tobytes(), key


def _stepped(optimizer_cls, scheduler, **kwargs):
    with paddle.utils.unique_name.guard():
        paddle.seed(1)
        model = TwoConvs()
        opt = optimizer_cls(learning_rate=scheduler(), parameters=model.parameters(), **kwargs)
        model.head(model.bn(model.stem(paddle.rand([2, 3, 8, 8])))).mean().backward()
        opt.step()
        opt.clear_grad()
        if hasattr(opt._learning_rate, 'step'):
            opt._learning_rate.step()
        return opt


@pytest.mark.parametrize('optimizer_cls, scheduler, kwargs', [
    (paddle.optimizer.Momentum, lambda: paddle.optimizer.lr.PolynomialDecay(0.1, 10, power=0.9),
     {'momentum': 0.9}),
    (paddle.optimizer.SGD, lambda: 0.1, {}),
    (paddle.optimizer.Adam, lambda: paddle.optimizer.lr.StepDecay(0.1, step_size=3), {}),
])
def test_optimizer_and_scheduler_state_round_trips_exactly(tmp_path, optimizer_cls, scheduler, kwargs):
    original = _stepped(optimizer_cls, scheduler, **kwargs)
    path = saved(tmp_path, original.state_dict(), name='model.pdopt')
    fresh = _stepped(optimizer_cls, scheduler, **kwargs)
    fresh.set_state_dict(read_paddle_file(path, 'optimizer state'))
    want, got = original.state_dict(), fresh.state_dict()
    assert set(want) == set(got)
    for key, value in want.items():
        if key == 'LR_Scheduler':
            assert got[key] == value
        else:
            assert got[key].numpy().tobytes() == value.numpy().tobytes(), key


def test_non_strict_loads_matching_keys_and_logs_the_others(tmp_path, capsys):
    paddle.seed(0)
    state = TwoConvs().state_dict()
    state['head.kernel'] = state.pop('head.weight')  # a renamed key
    path = saved(tmp_path, state)
    paddle.seed(1)
    model = TwoConvs()
    before = model.head.weight.numpy().copy()
    report = load_weights(model, path, strict=False)
    assert report.missing == ['head.weight'] and report.unexpected == ['head.kernel']
    np.testing.assert_array_equal(model.bn._mean.numpy(), state['bn._mean'].numpy())
    np.testing.assert_array_equal(model.head.weight.numpy(), before)
    log = capsys.readouterr().out
    assert 'WARNING' in log and 'head.weight' in log and 'head.kernel' in log


def test_strict_error_names_the_file_and_every_offending_key(tmp_path):
    state = TwoConvs().state_dict()
    state['head.weight'] = paddle.zeros([3, 4, 1, 1])
    del state['bn._mean'], state['bn._variance']
    state['extra.a'] = paddle.zeros([1])
    path = saved(tmp_path, state)
    model = TwoConvs()
    before = model.stem.weight.numpy().copy()
    with pytest.raises(WeightsError) as info:
        load_weights(model, path)
    message = str(info.value)
    assert message.startswith(path) and '(strict)' in message
    assert '2 missing key(s): bn._mean, bn._variance' in message
    assert '1 unexpected key(s): extra.a' in message
    assert 'head.weight: file [3, 4, 1, 1] vs layer [2, 4, 1, 1]' in message
    np.testing.assert_array_equal(model.stem.weight.numpy(), before)  # nothing half-loaded


def test_prefix_selects_and_strips_keys(tmp_path):
    state = {'backbone.' + k: v for k, v in TwoConvs().state_dict().items()}
    state['head.other'] = paddle.zeros([1])
    report = load_weights(TwoConvs(), saved(tmp_path, state), prefix='backbone.')
    assert report.missing == [] and report.unexpected == [] and len(report.loaded) == 7


def test_nothing_matching_is_an_error_even_when_not_strict(tmp_path):
    path = saved(tmp_path, {'something.else': paddle.zeros([2])})
    with pytest.raises(WeightsError, match='no key matches.*something.else'):
        load_weights(TwoConvs(), path, strict=False)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='absent.pdparams'):
        load_weights(TwoConvs(), str(tmp_path / 'absent.pdparams'))


def _paddleseg_layout(layer, tuples=False):
    """A published-style file: plain numpy arrays (Paddle 2.0) or Paddle 2.1's
    (name, array) tuples, pickled with protocol 2, plus the ImageNet classifier."""
    state = {k: v.numpy() for k, v in layer.state_dict().items()}
    state.update({'fc.weight': np.ones([4, 10], 'float32'), 'fc.bias': np.zeros([10], 'float32')})
    if tuples:
        state = {k: ('tensor_{}'.format(i), v) for i, (k, v) in enumerate(state.items())}
    return pickle.dumps(state, protocol=2)


@pytest.mark.parametrize('tuples', [False, True])
def test_backbone_rule_skips_the_classifier_of_a_published_file(tmp_path, tuples):
    paddle.seed(2)
    source = TwoConvs()
    path = tmp_path / 'ResNet_pretrained.pdparams'
    path.write_bytes(_paddleseg_layout(source, tuples))
    model = TwoConvs()
    assert load_backbone_weights(model, str(path)) is None
    for key, value in source.state_dict().items():
        assert model.state_dict()[key].numpy().tobytes() == value.numpy().tobytes()


def test_backbone_rule_is_strict_about_everything_else(tmp_path):
    state = TwoConvs().state_dict()
    del state['bn.weight']
    with pytest.raises(WeightsError, match='1 missing key\\(s\\): bn.weight'):
        load_backbone_weights(TwoConvs(), saved(tmp_path, state))


def test_missing_backbone_file_says_where_to_get_it_and_how_to_start_from_scratch(tmp_path, capsys):
    with pytest.raises(FileNotFoundError) as info:
        load_backbone_weights(TwoConvs(), str(tmp_path / 'resnet50.pdparams'))
    message = str(info.value)
    assert 'resnet50.pdparams' in message and 'README' in message
    assert 'model.backbone.pretrained: scratch' in message
    for spelling, shown in ((None, 'not set'), ('scratch', 'scratch')):
        warning = load_backbone_weights(TwoConvs(), spelling)
        assert warning.startswith('WARNING: TwoConvs starts from random weights '
                                  '(model.backbone.pretrained is {})'.format(shown))
    assert 'random weights' in capsys.readouterr().out


def test_paddleseg_tar_gz_archive_loads_locally_and_by_url(tmp_path, loopback_files):
    paddle.seed(3)
    source = TwoConvs()
    archive = tar_gz({'resnet_vd_ssld_v2/model.pdparams': _paddleseg_layout(source)})
    local = tmp_path / 'resnet_vd_ssld_v2.tar.gz'
    local.write_bytes(archive)
    cache = str(tmp_path / 'cache')
    for where in (str(local), loopback_files.put('resnet_vd_ssld_v2.tar.gz', archive)):
        model = TwoConvs()
        load_weights(model, where, skip=('fc.*',), cache_dir=cache)
        np.testing.assert_array_equal(model.head.weight.numpy(), source.head.weight.numpy())


def test_archive_member_leaving_the_folder_is_refused(tmp_path):
    path = tmp_path / 'evil.tar.gz'
    path.write_bytes(tar_gz({'../outside.txt': b'x', 'model.pdparams': b''}))
    with pytest.raises(ValueError, match='cannot unpack the archive safely'):
        read_paddle_file(str(path), cache_dir=str(tmp_path / 'cache'))
    assert not any(f == 'outside.txt' for _, _, files in os.walk(tmp_path) for f in files)


def test_pytorch_files_go_to_the_torch_reader(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr('paddleseg_fastfcn.utils.torch_checkpoint.read_torch_checkpoint',
                        lambda path: seen.append(path) or {})
    zipped = str(tmp_path / 'new.pth')
    with zipfile.ZipFile(zipped, 'w') as z:
        z.writestr('new/data.pkl', b'')
    legacy = tmp_path / 'legacy.pth'
    legacy.write_bytes(b'\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.')
    read_paddle_file(zipped)
    read_paddle_file(str(legacy))
    assert seen == [zipped, str(legacy)]


def cached_files(cache):
    return sorted(f for _, _, files in os.walk(cache) for f in files)


def test_url_is_downloaded_once_and_then_read_from_the_cache(tmp_path, loopback_files):
    data = open(saved(tmp_path, TwoConvs().state_dict()), 'rb').read()
    url = loopback_files.put('model.pdparams', data)
    cache = str(tmp_path / 'cache')
    report = load_weights(TwoConvs(), url, cache_dir=cache)
    assert report.path.startswith(cache) and cached_files(cache) == ['model.pdparams']
    load_weights(TwoConvs(), url, cache_dir=cache)
    assert loopback_files.hits == ['/model.pdparams']


def test_hash_in_the_name_or_config_is_checked(tmp_path, loopback_files):
    data = open(saved(tmp_path, TwoConvs().state_dict()), 'rb').read()
    digest = hashlib.sha256(data).hexdigest()
    cache = str(tmp_path / 'cache')
    good = loopback_files.put('resnet-{}.pdparams'.format(digest[:8]), data)
    load_weights(TwoConvs(), good, cache_dir=cache)
    load_weights(TwoConvs(), loopback_files.put('plain.pdparams', data), sha256=digest, cache_dir=cache)
    bad_name = loopback_files.put('resnet-0123abcd.pdparams', data)
    with pytest.raises(DownloadError, match='sha256 mismatch: expected 0123abcd'):
        load_weights(TwoConvs(), bad_name, cache_dir=cache)
    with pytest.raises(DownloadError, match='sha256 mismatch'):
        load_weights(TwoConvs(), loopback_files.put('other.pdparams', data), sha256='0' * 64,
                     cache_dir=cache)
    assert cached_files(cache) == ['plain.pdparams', 'resnet-{}.pdparams'.format(digest[:8])]


def test_truncated_or_failed_download_leaves_nothing_in_the_cache(tmp_path, loopback_files):
    data = open(saved(tmp_path, TwoConvs().state_dict()), 'rb').read()
    cache = str(tmp_path / 'cache')
    url = loopback_files.put('cut.pdparams', data[:100], length=len(data))
    with pytest.raises(DownloadError, match='cut.pdparams'):
        load_weights(TwoConvs(), url, cache_dir=cache)
    with pytest.raises(DownloadError, match='missing.pdparams'):
        load_weights(TwoConvs(), loopback_files.url('missing.pdparams'), cache_dir=cache)
    assert cached_files(cache) == []


def test_crafted_file_by_url_is_refused_and_never_runs(tmp_path, loopback_files):
    marker = str(tmp_path / 'marker')
    data = open(write_crafted(str(tmp_path / 'evil.pdparams'), marker), 'rb').read()
    url = loopback_files.put('evil.pdparams', data)
    with pytest.raises(UnsafePickleError, match='posix.system'):
        load_weights(TwoConvs(), url, cache_dir=str(tmp_path / 'cache'))
    assert not os.path.exists(marker)


def test_ranks_downloading_at_once_each_publish_a_complete_file(tmp_path, loopback_files):
    data = open(saved(tmp_path, TwoConvs().state_dict()), 'rb').read()
    url = loopback_files.put('model-{}.pdparams'.format(hashlib.sha256(data).hexdigest()[:8]), data)
    cache = str(tmp_path / 'cache')
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        paths = list(pool.map(lambda _: fetch(url, cache_dir=cache), range(4)))
    assert len(set(paths)) == 1 and open(paths[0], 'rb').read() == data
    assert cached_files(cache) == [os.path.basename(paths[0])]  # no temporary file left


def test_arrays_split_by_paddle_save_are_joined_again(tmp_path):
    # paddle.save (protocol 2/3) splits arrays over 1 GiB into '<key>@@.<i>' slices plus
    # an index; the same layout, at a small size.
    whole = np.arange(12, dtype='float32').reshape(3, 4)
    flat = whole.reshape(-1)
    state = {'w@@.0': flat[:5], 'w@@.1': flat[5:], 'b': np.ones([2], 'float32'),
             'UnpackBigParamInfor@@': {'w': {'OriginShape': (3, 4), 'slices': ['w@@.0', 'w@@.1']}}}
    path = tmp_path / 'big.pdparams'
    path.write_bytes(pickle.dumps(state, protocol=2))
    got = read_paddle_file(str(path))
    assert sorted(got) == ['b', 'w'] and got['w'].tobytes() == whole.tobytes()


def test_ranks_unpacking_one_archive_at_once_share_one_folder(tmp_path):
    paddle.seed(4)
    source = TwoConvs()
    archive = tmp_path / 'resnet_vd.tar.gz'
    archive.write_bytes(tar_gz({'resnet_vd/model.pdparams': _paddleseg_layout(source)}))
    cache = str(tmp_path / 'cache')
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        states = list(pool.map(lambda _: read_paddle_file(str(archive), cache_dir=cache), range(4)))
    for state in states:
        assert state['head.weight'].tobytes() == source.head.weight.numpy().tobytes()
    assert cached_files(cache) == ['model.pdparams']
