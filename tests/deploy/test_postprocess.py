"""Batching by size and label maps (undoing resizes: tests/utils/test_trans_info.py)."""
import errno

import numpy as np
import pytest

from paddleseg_fastfcn.deploy.images import group_by_size
from paddleseg_fastfcn.deploy.postprocess import save_scores, to_label_map
from paddleseg_fastfcn.utils.atomic_write import DiskWriteError


def test_group_by_size_stacks_equal_sizes_and_keeps_indices():
    items = [(0, np.zeros([3, 4, 5])), (1, np.ones([3, 6, 5])), (2, np.full([3, 4, 5], 2.0))]
    groups = sorted(group_by_size(items), key=lambda g: g[0])
    assert [g[0] for g in groups] == [[0, 2], [1]]
    assert groups[0][1].shape == (2, 3, 4, 5)
    assert groups[0][1][1].max() == 2.0


def test_label_map_from_logits_and_from_argmax_output():
    logits = np.zeros([3, 2, 2], 'float32')
    logits[2, 0, 1] = 1.0
    np.testing.assert_array_equal(to_label_map(logits, 'none'), [[0, 2], [0, 0]])
    labels = np.array([[1, 2], [3, 4]], 'int32')
    np.testing.assert_array_equal(to_label_map(labels, 'argmax'), labels)



def test_scores_npy_mirrors_the_image_and_a_full_disk_leaves_no_partial_file(tmp_path, monkeypatch):
    scores = np.arange(2 * 3 * 4, dtype='float64').reshape(2, 3, 4)
    out = save_scores(scores, 'sub/a', str(tmp_path / 'out'), float16=True)
    assert out == str(tmp_path / 'out' / 'sub' / 'a.npy')
    saved = np.load(out)
    assert saved.dtype == np.float16
    np.testing.assert_array_equal(saved, scores)
    assert sorted(p.name for p in (tmp_path / 'out' / 'sub').iterdir()) == ['a.npy']

    def full_disk(f, array):
        f.write(b'\x93NUMPY partial')
        raise OSError(errno.ENOSPC, 'No space left on device (injected)')
    monkeypatch.setattr(np, 'save', full_disk)
    with pytest.raises(DiskWriteError, match=r'cannot write scores to .*b\.npy: No space left.*\(ENOSPC\)'):
        save_scores(scores, 'b', str(tmp_path / 'full'))
    assert list((tmp_path / 'full').iterdir()) == []
