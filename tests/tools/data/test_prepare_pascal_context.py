"""tools/data/prepare_pascal_context.py on a VOC2010 + Detail API (trainval_merged.json) replica."""
import json

import numpy as np
from pycocotools import mask as mask_utils

from paddleseg_fastfcn.datasets.prepare.pascal_context import CONTEXT59_CATEGORY_IDS
from tests.tools.data.replicas import read_png, run_tool, write_image

# The official list (FastFCN / PyTorch-Encoding encoding/datasets/pcontext.py, in its order; 0 = background).
OFFICIAL_MAPPING = [
    0, 2, 259, 260, 415, 324, 9, 258, 144, 18, 19, 22, 23, 397, 25, 284, 158, 159, 416, 33, 162, 420,
    454, 295, 296, 427, 44, 45, 46, 308, 59, 440, 445, 31, 232, 65, 354, 424, 68, 326, 72, 458, 34, 207,
    80, 355, 85, 347, 220, 349, 360, 98, 187, 104, 105, 366, 189, 368, 113, 115]
H, W = 4, 6
CATEGORIES = {1: 'accordion', 2: 'aeroplane', 284: 'person', 440: 'wall', 458: 'wood'}


def rle(rows, cols):
    """Compressed RLE, as the Detail JSON stores it, of a box of the H x W image."""
    m = np.zeros((H, W), dtype=np.uint8)
    m[rows, cols] = 1
    encoded = mask_utils.encode(np.asfortranarray(m))
    return {'size': encoded['size'], 'counts': encoded['counts'].decode('ascii')}


def make_replica(tmp_path):
    voc = tmp_path / 'VOCdevkit' / 'VOC2010'
    images = [('2008_000002', 'train'), ('2008_000003', 'val'), ('2008_000005', 'test'),
              ('2008_000007', 'train'), ('2008_000008', 'val')]
    for i, (name, _) in enumerate(images):
        if name != '2008_000007':                                    # its JPEG is missing
            write_image(voc / 'JPEGImages' / (name + '.jpg'), W - (name == '2008_000008'), H, seed=i)
    anns = [  # image, category, region; painted in this order (a later one wins)
        (2008000002, 440, (slice(0, 2), slice(None))),
        (2008000002, 2, (slice(1, 4), slice(0, 3))),
        (2008000002, 1, (3, 5)),                                     # not one of the 59 -> 255
        (2008000003, 458, (slice(None), slice(4, 6))),
        (2008000003, 284, (slice(0, 2), slice(0, 2)))]
    data = {
        'info': {'description': 'replica of PASCAL in Detail trainval_merged.json'}, 'licenses': [],
        'images': [{'image_id': int(n.replace('_', '')), 'file_name': n + '.jpg', 'phase': p,
                    'height': H, 'width': W, 'date_captured': '31-May-2015 17:44:04'} for n, p in images],
        'annos_segmentation': [
            {'id': i + 1, 'image_id': img, 'category_id': cat, 'segmentation': rle(*region),
             'area': 0, 'bbox': [0, 0, W, H], 'iscrowd': 0, 'parts': []}
            for i, (img, cat, region) in enumerate(anns)],
        'categories': [{'category_id': c, 'name': n, 'supercategory': 'object', 'onlysemantic': 0, 'parts': []}
                       for c, n in CATEGORIES.items()],
        'parts': [], 'annos_occlusion': [], 'annos_boundary': [], 'annos_joints': []}
    json_path = tmp_path / 'trainval_merged.json'
    json_path.write_text(json.dumps(data))
    return voc, json_path


def test_the_59_ids_are_the_official_list():
    assert list(CONTEXT59_CATEGORY_IDS) == sorted(OFFICIAL_MAPPING)[1:]
    assert len(set(CONTEXT59_CATEGORY_IDS)) == 59


def test_labels_lists_and_summary(tmp_path, capsys):
    voc, json_path = make_replica(tmp_path)
    out = tmp_path / 'pascal_context_59'
    code, text, err = run_tool('prepare_pascal_context', ['--voc_root', voc, '--json', json_path, '--out', out],
                               capsys)
    print(text, err)
    # wall 440 -> 55, aeroplane 2 -> 0, person 284 -> 36, wood 458 -> 58; background, accordion -> 255.
    np.testing.assert_array_equal(read_png(out / 'labels' / '2008_000002.png'), [
        [55, 55, 55, 55, 55, 55],
        [0, 0, 0, 55, 55, 55],
        [0, 0, 0, 255, 255, 255],
        [0, 0, 0, 255, 255, 255]])
    np.testing.assert_array_equal(read_png(out / 'labels' / '2008_000003.png'), [
        [36, 36, 255, 255, 58, 58],
        [36, 36, 255, 255, 58, 58],
        [255, 255, 255, 255, 58, 58],
        [255, 255, 255, 255, 58, 58]])
    assert (out / 'train.txt').read_text() == \
        '../VOCdevkit/VOC2010/JPEGImages/2008_000002.jpg labels/2008_000002.png\n'
    assert (out / 'val.txt').read_text() == \
        '../VOCdevkit/VOC2010/JPEGImages/2008_000003.jpg labels/2008_000003.png\n'
    assert code == 1
    assert 'images: train 1, val 1 (2 in total)' in text
    assert 'classes seen: 4 of 59: 0, 36, 55, 58' in text
    assert '55 wall: 9 px' in text and '255 ignore: 18 px' in text
    assert 'categories outside the 59 classes written as 255: 1 accordion' in text
    assert "2008_000005.jpg: phase 'test' has no labels" in text
    assert 'train: 1 images (the official split has 4998)' in text
    assert '2 input(s) failed' in err
    assert '2008_000007.jpg: not found' in err
    assert 'image is 5x4 (WxH), its Detail entry says 6x4' in err
    assert not (out / 'labels' / '2008_000008.png').exists()


def test_not_a_detail_file(tmp_path, capsys):
    bad = tmp_path / 'coco.json'
    bad.write_text(json.dumps({'images': [], 'annotations': []}))
    code, _, err = run_tool('prepare_pascal_context', ['--voc_root', tmp_path, '--json', bad, '--out', tmp_path],
                            capsys)
    assert code == 1 and "has no 'annos_segmentation' list" in err
