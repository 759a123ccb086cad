"""tools/data/prepare_ade20k.py and PreparedADE20K on an ADEChallengeData2016 replica."""
import os

import numpy as np
import pytest
from paddleseg.cvlibs import Config, SegBuilder

import paddleseg_fastfcn  # noqa: F401  (registers PreparedADE20K)
from paddleseg_fastfcn.datasets import PreparedADE20K
from tests.tools.data.replicas import REPO, run_tool, write_image, write_mask

# PNG values as distributed -> class ids as trained on: 0 ("other") -> 255, v -> v - 1.
RAW = np.array([[0, 1, 2, 150], [150, 75, 0, 1]], dtype=np.uint8)
TRAIN_IDS = np.array([[255, 0, 1, 149], [149, 74, 255, 0]])


def make_ade20k(root):
    for split, stems in (('training', ['ADE_train_00000002', 'ADE_train_00000001']),
                         ('validation', ['ADE_val_00000001'])):
        for i, stem in enumerate(stems):
            write_image(root / 'images' / split / (stem + '.jpg'), 4, 2, seed=i)
            write_mask(root / 'annotations' / split / (stem + '.png'), RAW)
    (root / 'images' / 'training' / 'Thumbs.db').write_bytes(b'not an image')
    return root


def test_lists_and_summary(tmp_path, capsys):
    root = make_ade20k(tmp_path / 'ADEChallengeData2016')
    code, out, err = run_tool('prepare_ade20k', ['--root', root], capsys)
    assert code == 0, err
    assert (root / 'train.txt').read_text() == (
        'images/training/ADE_train_00000001.jpg annotations/training/ADE_train_00000001.png\n'
        'images/training/ADE_train_00000002.jpg annotations/training/ADE_train_00000002.png\n')
    assert (root / 'val.txt').read_text() == (
        'images/validation/ADE_val_00000001.jpg annotations/validation/ADE_val_00000001.png\n')
    assert 'images: train 2, val 1 (3 in total)' in out
    assert 'classes seen: 4 of 150: 0-1, 74, 149' in out
    assert '255 ignore: 6 px' in out            # two 0-pixels in each of the three labels
    assert 'Thumbs.db: not a .jpg image' in out
    assert 'failed: 0' in out
    print(out)


def test_every_bad_pair_is_listed_and_the_rest_written(tmp_path, capsys):
    root = make_ade20k(tmp_path / 'ADE')
    write_mask(root / 'annotations' / 'training' / 'ADE_train_00000001.png', [[0, 151, 1, 1], [1, 1, 1, 1]])
    write_image(root / 'images' / 'validation' / 'ADE_val_00000001.jpg', 5, 2)     # size mismatch
    write_mask(root / 'annotations' / 'validation' / 'ADE_val_00000009.png', RAW)  # no image
    code, out, err = run_tool('prepare_ade20k', ['--root', root], capsys)
    assert code == 1
    assert 'failed: 3' in out and '3 input(s) failed' in err
    assert "class value(s) [150]" in err and 'ADE_train_00000001.png' in err
    assert 'sizes differ' in err and 'ADE_val_00000001.jpg' in err
    assert 'label without an image' in err and 'ADE_val_00000009.png' in err
    assert (root / 'train.txt').read_text().splitlines() == [
        'images/training/ADE_train_00000002.jpg annotations/training/ADE_train_00000002.png']
    assert (root / 'val.txt').read_text() == ''
    assert not [n for n in os.listdir(root) if n.endswith('.tmp')]   # atomic writes left nothing behind


def test_missing_folder_says_where_to_put_the_data(tmp_path, capsys):
    code, _, err = run_tool('prepare_ade20k', ['--root', tmp_path / 'nowhere'], capsys)
    assert code == 1 and 'ADEChallengeData2016.zip' in err and 'images/{training,validation}' in err
    with pytest.raises(FileNotFoundError, match='does not exist.*prepare_ade20k.py'):
        PreparedADE20K([{'type': 'Normalize'}], str(tmp_path / 'nowhere'))
    (tmp_path / 'unprepared').mkdir()
    with pytest.raises(FileNotFoundError, match='train.txt not found.*prepare_ade20k.py --root'):
        PreparedADE20K([{'type': 'Normalize'}], str(tmp_path / 'unprepared'))


def test_configs_read_the_prepared_lists_with_the_ade20k_mapping(tmp_path, capsys):
    root = make_ade20k(tmp_path / 'ADE')
    assert run_tool('prepare_ade20k', ['--root', root], capsys)[0] == 0
    cfg = Config(os.path.join(REPO, 'configs', 'encnet', 'encnet_jpu_r50_ade20k_480x480_120e.yml'),
                 opts=['train_dataset.dataset_root={}'.format(root), 'val_dataset.dataset_root={}'.format(root)])
    builder = SegBuilder(cfg)
    val = builder.val_dataset
    assert type(val).__name__ == 'PreparedADE20K' and len(val) == 1 and len(builder.train_dataset) == 2
    np.testing.assert_array_equal(val[0]['label'][0], TRAIN_IDS)
