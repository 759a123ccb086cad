"""weight_archive: a weight archive is walked bounded before anything is unpacked; only its
.pdparams is written; a refused archive leaves nothing in the cache."""
import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from paddleseg_fastfcn.utils.limits import LimitExceeded
from paddleseg_fastfcn.utils.weight_archive import extract_weights
from tests.crafted_files import assert_refused_in_bounds, tar_gz

WEIGHTS = pickle.dumps({'w': np.arange(3, dtype=np.float32)}, protocol=4)


def _archive(tmp_path, data, name='weights.tar.gz'):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _left_in(cache):
    return sorted(os.path.relpath(os.path.join(root, f), cache) for root, dirs, files in os.walk(cache)
                  for f in files + dirs)


def test_only_the_weights_member_is_unpacked(tmp_path):
    path = _archive(tmp_path, tar_gz({'r50/model.pdparams': WEIGHTS, 'r50/other.pdparams': WEIGHTS,
                                      'r50/train.log': b'x' * 1000}))
    cache = str(tmp_path / 'cache')
    got = extract_weights(path, cache)
    assert _left_in(cache) == ['weights.extracted', os.path.join('weights.extracted', 'model.pdparams')]
    assert open(got, 'rb').read() == WEIGHTS and extract_weights(path, cache) == got  # the second call: cached


def test_a_member_declaring_a_terabyte_is_refused_unread(tmp_path, bounded_call):
    path = _archive(tmp_path, tar_gz({'r50/model.pdparams': WEIGHTS}, declared={'r50/huge.bin': 1 << 40}))
    cache = str(tmp_path / 'cache')
    outcome = bounded_call('paddleseg_fastfcn.utils.weight_files', 'read_paddle_file', path, 'weights', cache)
    assert_refused_in_bounds(outcome, 'LimitExceeded', path, "its members' sizes in bytes (summed so far) "
                             "(1,099,511,", 'exceeds the cap of 4,294,967,296 bytes')
    assert not os.path.exists(cache)


def test_a_gzip_bomb_without_weights_is_refused_before_anything_is_unpacked(tmp_path, bounded_call):
    path = _archive(tmp_path, tar_gz({'r50/weights.bin': bytes(256 << 20)}))  # ~250 kB of gzip
    cache = str(tmp_path / 'cache')
    outcome = bounded_call('paddleseg_fastfcn.utils.weight_files', 'read_paddle_file', path, 'weights', cache)
    assert_refused_in_bounds(outcome, 'WeightsError', path, 'expected one model.pdparams in the archive, found: '
                             'no .pdparams file; nothing was unpacked')
    assert not os.path.exists(cache)


def test_a_long_name_header_declaring_a_gigabyte_is_refused(tmp_path, bounded_call):
    info = tarfile.TarInfo('././@LongLink')
    info.type, info.size = tarfile.GNUTYPE_LONGNAME, 1 << 30
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        tar.fileobj.write(info.tobuf(tarfile.GNU_FORMAT) + b'x' * 512)
    path = _archive(tmp_path, buf.getvalue())
    cache = str(tmp_path / 'cache')
    outcome = bounded_call('paddleseg_fastfcn.utils.weight_archive', 'extract_weights', path, cache)
    assert_refused_in_bounds(outcome, 'LimitExceeded', path, 'a tar header declares 1073741824 bytes of metadata')
    assert not os.path.exists(cache)


def test_member_count_and_size_caps_follow_the_environment(tmp_path, monkeypatch):
    path = _archive(tmp_path, tar_gz(dict({'model.pdparams': WEIGHTS}, **{'f{}'.format(i): b'' for i in range(5)})))
    cache = str(tmp_path / 'cache')
    monkeypatch.setenv('PADDLESEG_FASTFCN_MAX_ARCHIVE_MEMBERS', '5')
    with pytest.raises(LimitExceeded, match=r'its members \(counted so far\) \(6\) exceeds the cap of 5 members'):
        extract_weights(path, cache)
    monkeypatch.setenv('PADDLESEG_FASTFCN_MAX_WEIGHT_BYTES', str(len(WEIGHTS) - 1))
    monkeypatch.delenv('PADDLESEG_FASTFCN_MAX_ARCHIVE_MEMBERS')
    with pytest.raises(LimitExceeded, match=r"its members' sizes in bytes"):
        extract_weights(path, cache)
    assert not os.path.exists(cache)
    monkeypatch.delenv('PADDLESEG_FASTFCN_MAX_WEIGHT_BYTES')
    assert open(extract_weights(path, cache), 'rb').read() == WEIGHTS
