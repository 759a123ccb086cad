"""Batching by size, label maps and undoing resize / padding, image listing."""
import numpy as np
import pytest

from paddleseg_fastfcn.deploy.images import group_by_size, list_images
from paddleseg_fastfcn.deploy.postprocess import reverse_transform, to_label_map


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


def test_reverse_transform_undoes_padding_then_resize():
    label = np.arange(16).reshape(4, 4)
    # Recorded in op order: resize from 2x2, then padding from 3x3 (to 4x4).
    out = reverse_transform(label, [('resize', (2, 2)), ('padding', (3, 3))])
    assert out.shape == (2, 2)
    np.testing.assert_array_equal(out, label[:3, :3][[0, 1]][:, [0, 1]])
    with pytest.raises(ValueError, match='unexpected transform'):
        reverse_transform(label, [('flip', (4, 4))])


def test_list_images_from_a_txt_list_resolves_relative_paths(tmp_path):
    (tmp_path / 'x.png').write_bytes(b'')
    lst = tmp_path / 'list.txt'
    lst.write_text('x.png label.png\n\n')
    assert list_images(str(lst)) == [str(tmp_path / 'x.png')]
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='contains no image'):
        list_images(str(tmp_path / 'empty'))
