"""Bad input in PaddleSeg's dataset types (file-list Dataset, ADE20K) and MiniADE20K."""
import os
import shutil

import cv2
import numpy as np
import pytest

from paddleseg_fastfcn.core.builder import ConfigError, builder, load_config
from paddleseg_fastfcn.datasets import DatasetError, MiniADE20K, validate_dataset
from paddleseg_fastfcn.datasets.synthetic import write_dataset
from tests.datasets.helpers import mini_dataset_section, write_config


@pytest.fixture()
def root(tmp_path):
    root = str(tmp_path / 'data')
    write_dataset(root, num_train=3, num_val=2, size=32, seed=2)
    return root


def file_list_config(tmp_path, root, list_name='train.txt', transforms='[{type: Normalize}]'):
    section = ('{type: Dataset, dataset_root: %s, train_path: %s, num_classes: 6, '
               'mode: train, transforms: %s}' % (root, os.path.join(root, list_name), transforms))
    return load_config(write_config(tmp_path / 'filelist.yml', section, num_classes=6))


def built_train_dataset(cfg):
    return validate_dataset(builder(cfg).train_dataset, cfg.train_dataset_cfg)


def test_valid_file_list_reads(tmp_path, root):
    ds = built_train_dataset(file_list_config(tmp_path, root))
    assert len(ds) == 3 and ds.num_classes == 6 and ds.ignore_index == 255
    assert ds[0]['img'].shape == (3, 32, 32)


def test_missing_image_names_list_file_and_line(tmp_path, root):
    os.remove(os.path.join(root, 'images', 'training', 'mini_training_00001.jpg'))
    cfg = file_list_config(tmp_path, root)
    with pytest.raises(DatasetError, match=r'image file not found: .*mini_training_00001\.jpg '
                                           r'\(listed at .*train\.txt:2\)'):
        built_train_dataset(cfg)


def test_missing_label_names_list_file_and_line(tmp_path, root):
    os.remove(os.path.join(root, 'annotations', 'training', 'mini_training_00002.png'))
    with pytest.raises(DatasetError, match=r'label file not found: .*mini_training_00002\.png '
                                           r'\(listed at .*train\.txt:3\)'):
        built_train_dataset(file_list_config(tmp_path, root))


def test_unreadable_image_named(tmp_path, root):
    bad = os.path.join(root, 'images', 'training', 'mini_training_00000.jpg')
    with open(bad, 'wb') as f:
        f.write(b'not an image at all')
    ds = built_train_dataset(file_list_config(tmp_path, root))
    with pytest.raises(DatasetError, match=r'cannot read image file .*mini_training_00000\.jpg'):
        ds[0]
    mini = MiniADE20K(root, [], mode='train')
    with pytest.raises(DatasetError, match=r'cannot read image file .*mini_training_00000\.jpg'):
        mini[0]


def test_label_value_out_of_range_names_file_and_value(tmp_path, root):
    path = os.path.join(root, 'annotations', 'training', 'mini_training_00001.png')
    label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    label[0, 0] = 9
    cv2.imwrite(path, label)
    ds = built_train_dataset(file_list_config(tmp_path, root))  # raw PNG values, 6 classes
    ds[0]
    with pytest.raises(DatasetError, match=r'mini_training_00001\.png holds class value\(s\) \[9\]'):
        ds[1]
    mini = MiniADE20K(root, [], mode='train')
    # MiniADE20K maps k -> k - 1, so PNG value 9 is class 8 (>= 5 classes)
    with pytest.raises(DatasetError, match=r'mini_training_00001\.png holds class value\(s\) \[8\]'):
        mini[1]


def test_size_mismatch_names_both_files_and_sizes(tmp_path, root):
    path = os.path.join(root, 'annotations', 'validation', 'mini_validation_00000.png')
    cv2.imwrite(path, np.ones((30, 32), np.uint8))
    mini = MiniADE20K(root, [], mode='val')
    with pytest.raises(DatasetError, match=r'image .*mini_validation_00000\.jpg is 32x32 \(WxH\), '
                                           r'label .*mini_validation_00000\.png is 32x30'):
        mini[0]


def test_ade20k_type_is_wrapped(tmp_path, root):
    # PaddleSeg's ADE20K reads the same layout; the builder path wraps it.
    shutil.rmtree(os.path.join(root, 'annotations', 'validation'))
    section = '{type: ADE20K, dataset_root: %s, mode: %s, transforms: [{type: Normalize}]}'
    cfg = load_config(write_config(tmp_path / 'ade.yml', section % (root, 'train'),
                                   section % (root, 'val'), num_classes=150))
    train = validate_dataset(builder(cfg).train_dataset, cfg.train_dataset_cfg)
    assert train[0]['label'].shape == (32, 32)
    with pytest.raises(DatasetError, match=r'label file not found: .*mini_validation_0000[01]\.png'):
        validate_dataset(builder(cfg).val_dataset, cfg.val_dataset_cfg)


def test_unknown_transform_type_named(tmp_path, root):
    # Refused by load_config, before any dataset is built, naming the file and line.
    with pytest.raises(ConfigError, match=r"filelist\.yml:\d+: train_dataset\.transforms\[0\]\.type: "
                                          r"found 'RandomFlipp', expected the name of a registered component"):
        file_list_config(tmp_path, root, transforms='[{type: RandomFlipp}, {type: Normalize}]')
