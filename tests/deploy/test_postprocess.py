"""Batching by size and label maps (undoing resizes: tests/utils/test_trans_info.py)."""
import numpy as np

from paddleseg_fastfcn.deploy.images import group_by_size
from paddleseg_fastfcn.deploy.postprocess import to_label_map


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

