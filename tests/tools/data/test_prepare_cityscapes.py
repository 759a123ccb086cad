"""tools/data/prepare_cityscapes.py on a fake Cityscapes city (labelIds PNGs and polygon JSONs)."""
import json

import numpy as np

from paddleseg_fastfcn.datasets.prepare.cityscapes import train_id_lut
from tests.tools.data.replicas import read_png, run_tool, write_image, write_mask

# The official 19 classes (cityscapesscripts helpers/labels.py, as published): label id -> train id;
# every other id is ignored (255).
PUBLISHED_TRAIN_IDS = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10,
                       24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18}
# unlabeled 0, ground 6, road 7, sidewalk 8, car 26, bicycle 33, polegroup 18 (ignored)
LABEL_IDS = np.array([[0, 6, 7, 8], [26, 33, 18, 7]])
TRAIN_IDS = np.array([[255, 255, 0, 1], [13, 18, 255, 0]])


def make_city(root, split, city, n, source='labelIds'):
    for i in range(n):
        stem = '{}_{:06d}_000019'.format(city, i)
        write_image(root / 'leftImg8bit' / split / city / (stem + '_leftImg8bit.png'), 4, 2, seed=i)
        write_mask(root / 'gtFine' / split / city / (stem + '_gtFine_labelIds.png'), LABEL_IDS)
        polygons = {'imgHeight': 2, 'imgWidth': 4, 'objects': [
            {'label': 'road', 'polygon': [[0, 0], [3, 0], [3, 1], [0, 1]]},
            {'label': 'cargroup', 'polygon': [[2, 0], [3, 0], [3, 1], [2, 1]]},     # 'cargroup' draws as car
            {'label': 'sky', 'polygon': [[0, 1], [0, 1], [0, 1]], 'deleted': 1},     # deleted: not drawn
            {'label': 'license plate', 'polygon': [[0, 1], [1, 1], [1, 1]]}]}        # id -1: not drawn
        (root / 'gtFine' / split / city / (stem + '_gtFine_polygons.json')).write_text(json.dumps(polygons))


def test_table_is_the_published_one():
    lut, known = train_id_lut()
    assert known == set(range(34))
    assert {i: int(lut[i]) for i in range(256) if lut[i] != 255} == PUBLISHED_TRAIN_IDS


def test_label_ids_to_train_ids(tmp_path, capsys):
    root = tmp_path / 'cityscapes'
    make_city(root, 'train', 'aachen', 2)
    make_city(root, 'val', 'frankfurt', 1)
    code, out, err = run_tool('prepare_cityscapes', ['--root', root], capsys)
    print(out)
    assert code == 0, err
    for path in (root / 'gtFine').glob('*/*/*_gtFine_labelTrainIds.png'):
        np.testing.assert_array_equal(read_png(path), TRAIN_IDS)
    assert (root / 'train.txt').read_text() == (
        'leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png '
        'gtFine/train/aachen/aachen_000000_000019_gtFine_labelTrainIds.png\n'
        'leftImg8bit/train/aachen/aachen_000001_000019_leftImg8bit.png '
        'gtFine/train/aachen/aachen_000001_000019_gtFine_labelTrainIds.png\n')
    assert (root / 'val.txt').read_text().count('\n') == 1
    assert 'images: train 2, val 1 (3 in total)' in out
    assert 'classes seen: 4 of 19: 0-1, 13, 18' in out and '13 car: 3 px' in out


def test_polygons_with_cityscapesscripts(tmp_path, capsys):
    root = tmp_path / 'cityscapes'
    make_city(root, 'val', 'lindau', 1)
    code, out, err = run_tool('prepare_cityscapes', ['--root', root, '--source', 'polygons', '--splits', 'val'],
                              capsys)
    assert code == 0, err
    np.testing.assert_array_equal(
        read_png(root / 'gtFine' / 'val' / 'lindau' / 'lindau_000000_000019_gtFine_labelTrainIds.png'),
        [[0, 0, 13, 13], [0, 0, 13, 13]])


def test_bad_labels_are_listed(tmp_path, capsys):
    root = tmp_path / 'cityscapes'
    make_city(root, 'train', 'aachen', 3)
    city = root / 'gtFine' / 'train' / 'aachen'
    write_mask(city / 'aachen_000000_000019_gtFine_labelIds.png', [[7, 40, 7, 7], [7, 7, 7, 7]])
    write_mask(city / 'aachen_000001_000019_gtFine_labelIds.png', np.zeros((3, 4)))
    code, out, err = run_tool('prepare_cityscapes', ['--root', root, '--splits', 'train'], capsys)
    assert code == 1
    assert 'value(s) [40] that are no Cityscapes label id' in err
    assert 'sizes differ' in err and 'aachen_000001_000019_leftImg8bit.png' in err
    assert (root / 'train.txt').read_text().count('\n') == 1
    assert not (city / 'aachen_000000_000019_gtFine_labelTrainIds.png').exists()
