"""Bad input in PaddleSeg's dataset types (file-list Dataset, ADE20K) and MiniADE20K."""
import os
import shutil

import cv2
import numpy as np
import pytest
from PIL import Image

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


def _label_path(root, split='training', index=1):
    return os.path.join(root, 'annotations', split, 'mini_{}_{:05d}.png'.format(split, index))


def _ids(root, split='training', index=1):
    return np.asarray(Image.open(_label_path(root, split, index)))


@pytest.mark.parametrize('make, message', [
    (lambda ids: Image.fromarray(np.dstack([ids, ids * 0, ids * 0])), '3-channel'),   # colour-coded
    (lambda ids: Image.fromarray(np.dstack([ids] * 3)), '3-channel'),                 # gray saved as RGB
    (lambda ids: Image.fromarray(np.dstack([ids] * 3 + [ids * 0 + 255])), '4-channel'),  # RGBA
    (lambda ids: Image.fromarray(ids).convert('LA'), '2-channel'),
])
def test_multichannel_label_is_refused_by_name(tmp_path, root, make, message):
    make(_ids(root)).save(_label_path(root))
    ds = built_train_dataset(file_list_config(tmp_path, root))
    ds[0]
    with pytest.raises(DatasetError, match=r'label file .*mini_training_00001\.png is a {} \(colour\) image.*'
                                           r'prepare_custom\.py --palette.*never converted'.format(message)):
        ds[1]


@pytest.mark.parametrize('mode, save_as, what', [('1', 'png', '1-bit'), ('F', 'tif', 'floating point')])
def test_one_bit_and_float_labels_are_refused(tmp_path, root, mode, save_as, what):
    path = _label_path(root)
    Image.fromarray(_ids(root)).convert(mode).save(path, format='PNG' if save_as == 'png' else 'TIFF')
    ds = built_train_dataset(file_list_config(tmp_path, root))
    with pytest.raises(DatasetError, match=r"mini_training_00001\.png has pixel format '{}' \({}".format(mode, what)):
        ds[1]


def test_palette_indices_are_the_class_ids(tmp_path, root):
    ids = _ids(root)
    palette = Image.fromarray(ids, mode='P')
    palette.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] * 85 + [0, 0, 0])  # colours unrelated to ids
    palette.save(_label_path(root))
    ds = built_train_dataset(file_list_config(tmp_path, root))
    np.testing.assert_array_equal(ds[1]['label'], ids)
    out_of_range = ids.copy()
    out_of_range[0, 0] = 7
    bad = Image.fromarray(out_of_range, mode='P')
    bad.putpalette(palette.getpalette())
    bad.save(_label_path(root))
    with pytest.raises(DatasetError, match=r'mini_training_00001\.png holds class value\(s\) \[7\].*'
                                           r'palette PNG, whose indices are read as the class ids'):
        ds[1]


def test_16_bit_labels_are_read_exactly_and_range_checked(tmp_path, root):
    import paddle
    ids = _ids(root)
    cv2.imwrite(_label_path(root), ids.astype(np.uint16))
    assert Image.open(_label_path(root)).mode == 'I;16'
    ds = built_train_dataset(file_list_config(tmp_path, root))
    label = ds[1]['label']
    assert label.dtype == np.int64  # not uint16, which paddle would read as bfloat16
    np.testing.assert_array_equal(label, ids)
    loader = paddle.io.DataLoader(ds, batch_size=2)
    batch = next(iter(loader))
    assert batch['label'].dtype == paddle.int64
    np.testing.assert_array_equal(batch['label'].numpy()[1], ids)
    wide = ids.astype(np.uint16)
    wide[3, 4] = 300  # a value an 8-bit label cannot hold
    cv2.imwrite(_label_path(root), wide)
    with pytest.raises(DatasetError, match=r'mini_training_00001\.png holds class value\(s\) \[300\]'):
        ds[1]


def test_val_labels_are_checked_by_val_and_by_training_with_do_eval(tmp_path, root):
    """The val split goes through the same checks: val.py's evaluate_checkpoint and
    train.py --do_eval both build it through validate_dataset."""
    from paddleseg_fastfcn.core.evaluate import evaluate_checkpoint
    from paddleseg_fastfcn.core.builder import build_model
    import paddle
    label = _label_path(root, 'validation', 0)
    Image.fromarray(np.dstack([_ids(root, 'validation', 0)] * 3)).save(label)
    cfg_path = write_config(tmp_path / 'mini.yml', mini_dataset_section(root, 'train'),
                            mini_dataset_section(root, 'val'))
    weights = str(tmp_path / 'model.pdparams')
    paddle.save(build_model(load_config(cfg_path)).state_dict(), weights)
    with pytest.raises(DatasetError, match=r'mini_validation_00000\.png is a 3-channel'):
        evaluate_checkpoint(cfg_path, weights, save_dir=str(tmp_path / 'eval'))
    import train as train_cli
    assert train_cli.main(['--config', cfg_path, '--save_dir', str(tmp_path / 'out'), '--iters', '1',
                           '--save_interval', '1', '--do_eval']) == 1
    assert not os.path.exists(tmp_path / 'out' / 'best_model')
