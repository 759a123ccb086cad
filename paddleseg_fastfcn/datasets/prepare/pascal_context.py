"""Pascal Context, 59 classes (the official protocol) from VOC2010 JPEGImages and the
Detail API's ``trainval_merged.json``.

The JSON (PASCAL in Detail, ccvl/detail-api) has ``images`` (``image_id``,
``file_name``, ``height``, ``width``, ``phase`` = train / val / test),
``annos_segmentation`` (``image_id``, ``category_id``, ``segmentation`` = COCO RLE)
and ``categories`` (``category_id``, ``name``). As the Detail API's ``getMask`` does,
each image's annotations are painted in file order (a later one overwrites an
earlier one) onto 0 = background. The official code (FastFCN / PyTorch-Encoding
``encoding/datasets/pcontext.py``) keeps the 59 category ids below, class k = the
k-th smallest, and ignores background; so class ids 0..58 are written and 255
everywhere else (background, unannotated pixels, any category outside the 59).
"""
import json
import os
from collections import defaultdict

import numpy as np

from ...utils.output_names import OutputNameError, output_file, plan_outputs
from ..checks import DatasetError, image_size
from ..class_names import PASCAL_CONTEXT_59
from .labels import check_image_decodes
from .report import PrepareReport
from .writing import list_entry, write_label_png, write_lines

# The Detail API category ids of the 59 classes, ascending: class k = CONTEXT59_CATEGORY_IDS[k].
CONTEXT59_CATEGORY_IDS = (
    2, 9, 18, 19, 22, 23, 25, 31, 33, 34, 44, 45, 46, 59, 65, 68, 72, 80, 85, 98, 104, 105, 113, 115,
    144, 158, 159, 162, 187, 189, 207, 220, 232, 258, 259, 260, 284, 295, 296, 308, 324, 326, 347,
    349, 354, 355, 360, 366, 368, 397, 415, 416, 420, 424, 427, 440, 445, 454, 458)
IGNORE_INDEX = 255
# Image counts of the official splits on the real data.
OFFICIAL_SPLIT_SIZES = {'train': 4998, 'val': 5105}


def category_lut(max_id):
    """[max_id + 1] uint8 table: Detail category id -> class id 0..58, 255 for any other id."""
    lut = np.full(max(max_id, CONTEXT59_CATEGORY_IDS[-1]) + 1, IGNORE_INDEX, dtype=np.uint8)
    lut[list(CONTEXT59_CATEGORY_IDS)] = np.arange(len(CONTEXT59_CATEGORY_IDS), dtype=np.uint8)
    return lut


def decode_segmentation(segmentation, height, width):
    """A Detail / COCO ``segmentation`` (RLE, uncompressed RLE or polygons) -> [H, W] bool."""
    from pycocotools import mask as mask_utils  # RLE decoding: pycocotools, not by hand
    if isinstance(segmentation, list):                      # polygons
        rle = mask_utils.merge(mask_utils.frPyObjects(segmentation, height, width))
    elif isinstance(segmentation.get('counts'), list):      # uncompressed RLE
        rle = mask_utils.frPyObjects(segmentation, height, width)
    else:
        rle = segmentation
    return mask_utils.decode(rle).astype(bool)


def load_detail(json_path):
    """Read the Detail JSON; check the keys this conversion uses."""
    try:
        with open(json_path) as f:
            data = json.load(f)
    except FileNotFoundError as e:
        raise DatasetError('Detail annotation file not found: {}'.format(json_path)) from e
    except ValueError as e:
        raise DatasetError('cannot parse {} as JSON: {}'.format(json_path, e)) from e
    for key in ('images', 'annos_segmentation', 'categories'):
        if key not in data:
            raise DatasetError('{} has no {!r} list (is it the Detail API trainval_merged.json?)'.format(
                json_path, key))
    return data


def _context_label(img, anns, lut, outside):
    """Paint the image's annotations (file order), map ids to the 59 classes."""
    height, width = int(img['height']), int(img['width'])
    raw = np.zeros((height, width), dtype=np.int64)
    for ann in anns:
        m = decode_segmentation(ann['segmentation'], height, width)
        if m.shape != raw.shape:
            raise DatasetError('annos_segmentation id {}: mask is {}x{} (HxW), the image is {}x{}'.format(
                ann.get('id'), m.shape[0], m.shape[1], height, width))
        raw[m] = int(ann['category_id'])
    painted = np.unique(raw)
    outside.update(int(v) for v in painted if v != 0 and (v >= len(lut) or lut[v] == IGNORE_INDEX))
    raw[raw >= len(lut)] = 0
    return lut[raw]


def prepare_pascal_context(voc_root, json_path, out):
    """Write ``out/labels/<name>.png`` (0..58, 255) and ``out/train.txt`` / ``out/val.txt``.

    Args:
        voc_root (str): ``VOCdevkit/VOC2010`` (holds JPEGImages/).
        json_path (str): the Detail API ``trainval_merged.json``.
        out (str): the dataset_root of the Pascal Context configs.

    Returns:
        PrepareReport: images per split, histogram of the written class ids, failures
        (missing / unreadable image, size differing from the JSON, bad annotation).
    """
    data = load_detail(json_path)
    image_dir = os.path.join(voc_root, 'JPEGImages')
    if not os.path.isdir(image_dir):
        raise DatasetError('VOC2010 image folder {} not found (give --voc_root VOCdevkit/VOC2010)'.format(
            image_dir))
    names = {int(c['category_id']): c.get('name', '') for c in data['categories']}
    report = PrepareReport('Pascal Context 59 ({}, {})'.format(voc_root, json_path),
                           len(CONTEXT59_CATEGORY_IDS), IGNORE_INDEX, list(PASCAL_CONTEXT_59))
    anns_by_image = defaultdict(list)
    for ann in data['annos_segmentation']:
        anns_by_image[ann['image_id']].append(ann)
    lut = category_lut(max(names, default=0))
    outside = set()
    lists = {'train': [], 'val': []}
    images = sorted(data['images'], key=lambda im: im['file_name'])
    # Labels are named after their images (utils.output_names): out/labels/<file_name>.png.
    plan = plan_outputs([os.path.join(image_dir, img['file_name']) for img in images], image_dir)
    output_names, refused = {path: name for path, _, name in plan.items}, dict(plan.failures)
    for img in images:
        image = os.path.join(image_dir, img['file_name'])
        phase = img.get('phase')
        if phase not in lists:
            report.skip(image, 'phase {!r} has no labels'.format(phase))
            continue
        try:
            if image in refused:
                raise DatasetError(refused[image])
            label_path = output_file(os.path.join(out, 'labels'), output_names[image], '.png')
            check_image_decodes(image)
            label = _context_label(img, anns_by_image.pop(img['image_id'], []), lut, outside)
            if image_size(image) != (label.shape[1], label.shape[0]):
                raise DatasetError('image is {}x{} (WxH), its Detail entry says {}x{}'.format(
                    *image_size(image), label.shape[1], label.shape[0]))
            entry = list_entry(out, image, label_path)
            write_label_png(label_path, label)
        except (DatasetError, KeyError, TypeError, ValueError) as e:
            known = isinstance(e, (DatasetError, OutputNameError))
            report.fail(image, str(e) if known else 'bad annotation: {!r}'.format(e))
            continue
        report.labels_written += 1
        report.add_label(label)
        lists[phase].append(entry)
    for image_id in sorted(anns_by_image):
        report.fail('{} image_id {}'.format(json_path, image_id),
                    '{} annotation(s) for an image not in "images"'.format(len(anns_by_image[image_id])))
    if outside:
        report.notes.append('categories outside the 59 classes written as 255: {}'.format(
            ', '.join('{} {}'.format(i, names.get(i, '?')) for i in sorted(outside))))
    for split, entries in lists.items():
        path = os.path.join(out, split + '.txt')
        write_lines(path, entries)
        report.lists.append((path, len(entries)))
        report.images[split] = len(entries)
        if len(entries) != OFFICIAL_SPLIT_SIZES[split]:
            report.notes.append('{}: {} images (the official split has {})'.format(
                split, len(entries), OFFICIAL_SPLIT_SIZES[split]))
    return report
