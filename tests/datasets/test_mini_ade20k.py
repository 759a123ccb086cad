import os

import numpy as np
import paddleseg.transforms as T
import pytest
from PIL import Image

from paddleseg_fastfcn.core.builder import builder, load_config
from paddleseg_fastfcn.datasets import DatasetError, MiniADE20K
from paddleseg_fastfcn.datasets.synthetic import write_dataset
from tests.datasets.helpers import mini_dataset_section, write_config


@pytest.fixture(scope='module')
def mini_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('mini'))
    write_dataset(root, num_train=4, num_val=3, size=32, seed=1)
    return root


def raw_label(path):
    return np.asarray(Image.open(path))


def test_reads_layout_and_maps_labels(mini_root):
    ds = MiniADE20K(mini_root, [T.Normalize()], mode='val')
    assert len(ds) == 3 and ds.num_classes == MiniADE20K.NUM_CLASSES == 5
    assert (MiniADE20K.IGNORE_INDEX, MiniADE20K.IMG_CHANNELS) == (255, 3)
    # sorted, deterministic order
    assert [os.path.basename(p) for p, _ in ds.file_list] == sorted(
        os.listdir(os.path.join(mini_root, 'images', 'validation')))
    sample = ds[0]
    assert sample['img'].shape == (3, 32, 32) and sample['img'].dtype == np.float32
    raw = raw_label(ds.file_list[0][1])
    label = sample['label'][0]
    # ADE20K convention: 0 (other) -> 255 (ignore), k -> k - 1
    np.testing.assert_array_equal(label[raw == 0], 255)
    np.testing.assert_array_equal(label[raw > 0], raw[raw > 0] - 1)


def test_train_mode_transforms_label_with_image(mini_root):
    ds = MiniADE20K(mini_root, [T.RandomHorizontalFlip(prob=1.0), T.Normalize()], mode='train')
    sample = ds[1]
    raw = raw_label(ds.file_list[1][1]).astype(np.int64)
    expected = np.where(raw == 0, 255, raw - 1)[:, ::-1]
    np.testing.assert_array_equal(sample['label'], expected)


def test_missing_root_is_an_error_not_a_download(tmp_path):
    with pytest.raises(FileNotFoundError, match='make_mini_dataset'):
        MiniADE20K(str(tmp_path / 'nothing'), [T.Normalize()])


def test_missing_label_named(mini_root, tmp_path):
    root = tmp_path / 'copy'
    write_dataset(str(root), num_train=2, num_val=1, size=32, seed=1)
    missing = root / 'annotations' / 'training' / 'mini_training_00001.png'
    os.remove(missing)
    with pytest.raises(DatasetError, match='label file not found: .*mini_training_00001.png'):
        MiniADE20K(str(root), [T.Normalize()], mode='train')


def test_mini_dataset_builds_from_config(mini_root, tmp_path):
    cfg_path = write_config(
        tmp_path / 'mini.yml',
        mini_dataset_section(mini_root, 'train', '[{type: RandomHorizontalFlip}, {type: Normalize}]'),
        mini_dataset_section(mini_root, 'val'))
    b = builder(load_config(cfg_path))
    assert isinstance(b.train_dataset, MiniADE20K) and len(b.val_dataset) == 3
