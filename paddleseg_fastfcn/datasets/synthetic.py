"""A small synthetic segmentation dataset in the ADE20K (ADEChallengeData2016) layout.

Why synthetic: tests and CI must not download, yet "the model learns" has to be
measurable. Each image shows a few filled shapes (disc, square, triangle, bar)
on a textured, noisy background. Classes are told apart by colour *and* shape;
the shapes are large against the image so that a network whose logits live at
stride 8 (FastFCN's JPU output) can still draw the boundaries precisely.

Label PNGs follow ADE20K: 0 = "other" (ignored in training and evaluation),
1..K = classes. Here 1 = background texture, 2..5 = the shapes, and small
"clutter" blobs (random colour, no class) are labelled 0, as ADE20K's
unlabelled stuff is. Every boundary between two labels is also drawn as a
2-pixel "other" band, as PASCAL VOC marks object outlines: at 64x64 the
stride-8 logits of FastFCN span only 8x8 cells, and measured on this data even
ideal 8x8 logits, bilinearly upsampled, place edges so coarsely that mIoU stays
near 0.78 when edge pixels count; with the band it is 0.89. The band keeps the
learning test about learning the classes, not about sub-cell edge placement.

Every image is drawn from its own generator seeded by (seed, split, index), so
the same seed writes identical files, independent of the number of images.
"""
import os

import cv2
import numpy as np

CLASS_NAMES = ('background', 'disc', 'square', 'triangle', 'bar')
# Mean RGB colour of each shape class (background is drawn separately). Far apart
# in RGB so that colour alone nearly separates them; jitter keeps it non-trivial.
SHAPE_COLORS = {
    2: (220, 60, 50),    # disc: red
    3: (60, 190, 70),    # square: green
    4: (60, 90, 220),    # triangle: blue
    5: (225, 200, 50),   # bar: yellow
}
SPLITS = {'training': 0, 'validation': 1}
JPEG_QUALITY = 95


def _background(rng, size):
    """A low-saturation texture: two random gratings plus a smooth gradient."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    base = rng.uniform(90, 160)
    tint = rng.uniform(-15, 15, size=3)
    img = np.full((size, size, 3), base, np.float32) + tint
    for _ in range(2):
        theta = rng.uniform(0, np.pi)
        period = rng.uniform(4, 16) * size / 64.0
        phase = rng.uniform(0, 2 * np.pi)
        wave = np.sin(2 * np.pi * (xx * np.cos(theta) + yy * np.sin(theta)) / period + phase)
        img += rng.uniform(10, 25) * wave[..., None]
    gradient = (xx * rng.uniform(-1, 1) + yy * rng.uniform(-1, 1)) * (20.0 / size)
    return img + gradient[..., None]


def _shape_mask(rng, cls, size):
    """A boolean mask of one shape of class ``cls`` at a random place."""
    mask = np.zeros((size, size), np.uint8)
    s = size / 64.0
    if cls == 2:
        r = int(rng.uniform(14, 21) * s)
        c = rng.integers(r, size - r, size=2)
        cv2.circle(mask, (int(c[0]), int(c[1])), r, 1, thickness=-1, lineType=cv2.LINE_8)
    elif cls == 3:
        half = rng.uniform(12, 18) * s
        c = rng.uniform(half, size - half, size=2)
        angle = rng.uniform(0, 90)
        box = cv2.boxPoints(((c[0], c[1]), (2 * half, 2 * half), angle))
        cv2.fillPoly(mask, [np.round(box).astype(np.int32)], 1, lineType=cv2.LINE_8)
    elif cls == 4:
        r = rng.uniform(18, 25) * s
        c = rng.uniform(r * 0.8, size - r * 0.8, size=2)
        a0 = rng.uniform(0, 2 * np.pi)
        angles = a0 + np.array([0, 2 * np.pi / 3, 4 * np.pi / 3])
        pts = np.stack([c[0] + r * np.cos(angles), c[1] + r * np.sin(angles)], 1)
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1, lineType=cv2.LINE_8)
    else:
        width = int(rng.uniform(14, 19) * s)
        start = int(rng.integers(0, size - width))
        if rng.random() < 0.5:
            mask[start:start + width, :] = 1
        else:
            mask[:, start:start + width] = 1
    return mask.astype(bool)


def draw_sample(seed, split, index, size=64, max_shapes=2):
    """Draw one (image, label) pair.

    Args:
        seed (int): dataset seed.
        split (str): 'training' or 'validation'.
        index (int): image index within the split.
        size (int): image side in pixels.
        max_shapes (int): at most this many shapes per image (at least one).

    Returns:
        tuple: image ``[size, size, 3]`` uint8 RGB and label ``[size, size]``
        uint8 (0 = other/ignore: clutter and edges, 1 = background, 2..5 = shapes).
    """
    rng = np.random.default_rng([seed, SPLITS[split], index])
    img = _background(rng, size)
    label = np.ones((size, size), np.uint8)
    for _ in range(int(rng.integers(1, max_shapes + 1))):
        cls = int(rng.integers(2, 2 + len(SHAPE_COLORS)))
        mask = _shape_mask(rng, cls, size)
        color = np.array(SHAPE_COLORS[cls], np.float32) + rng.uniform(-20, 20, size=3)
        shade = rng.uniform(-12, 12, size=(size, size, 1))  # texture inside the shape
        img[mask] = (color + shade)[mask]
        label[mask] = cls
    # Clutter: small blobs of random colour that belong to no class (label 0).
    for _ in range(int(rng.integers(0, 3))):
        r = int(rng.uniform(2, 4) * size / 64.0)
        c = rng.integers(r, size - r, size=2)
        blob = np.zeros((size, size), np.uint8)
        cv2.circle(blob, (int(c[0]), int(c[1])), r, 1, thickness=-1)
        blob = blob.astype(bool)
        img[blob] = rng.uniform(0, 255, size=3)
        label[blob] = 0
    img += rng.normal(0, 8, size=img.shape)
    # Label edges (between any two values) become "other": a 3x3 max != min test
    # marks one pixel on each side of every edge.
    kernel = np.ones((3, 3), np.uint8)
    label[cv2.dilate(label, kernel) != cv2.erode(label, kernel)] = 0
    return np.clip(np.round(img), 0, 255).astype(np.uint8), label


# Defaults of the mini dataset the learning run trains on. 160 training images: measured with
# 800, the same 400 iterations learned slower (each image seen twice instead of ten times;
# one entry of three stayed at 0.70 mIoU), so the short run from scratch is limited by fitting,
# not by memorising. 100 val images: a run's mIoU does not hang on a dozen shapes of one class.
NUM_TRAIN = 160
NUM_VAL = 100


def write_dataset(out_dir, num_train=NUM_TRAIN, num_val=NUM_VAL, size=64, seed=0):
    """Write the dataset under ``out_dir`` in the ADEChallengeData2016 layout.

    ``images/{training,validation}/mini_<split>_<i>.jpg`` and
    ``annotations/{training,validation}/mini_<split>_<i>.png`` (same stem), plus
    ``train.txt`` / ``val.txt`` file lists (``image label`` per line, relative to
    ``out_dir``) so PaddleSeg's file-list ``Dataset`` can read it too.

    Args:
        out_dir (str): output directory (created; existing files are overwritten).
        num_train (int): training images.
        num_val (int): validation images.
        size (int): image side in pixels (>= 32).
        seed (int): seed; the same seed writes byte-identical files.

    Returns:
        dict: number of images written per split.
    """
    if size < 32:
        raise ValueError('size must be >= 32 pixels, got {}'.format(size))
    if num_train < 1 or num_val < 1:
        raise ValueError('num_train and num_val must be >= 1, got {} and {}'.format(
            num_train, num_val))
    counts = {}
    for split, count, list_name in (('training', num_train, 'train.txt'),
                                    ('validation', num_val, 'val.txt')):
        img_dir = os.path.join(out_dir, 'images', split)
        ann_dir = os.path.join(out_dir, 'annotations', split)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(ann_dir, exist_ok=True)
        lines = []
        for i in range(count):
            img, label = draw_sample(seed, split, i, size=size)
            stem = 'mini_{}_{:05d}'.format(split, i)
            img_rel = '/'.join(('images', split, stem + '.jpg'))
            ann_rel = '/'.join(('annotations', split, stem + '.png'))
            ok_img, img_bytes = cv2.imencode(
                '.jpg', img[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            ok_ann, ann_bytes = cv2.imencode('.png', label)
            if not (ok_img and ok_ann):
                raise RuntimeError('cannot encode sample {} of {}'.format(i, split))
            with open(os.path.join(out_dir, img_rel), 'wb') as f:
                f.write(img_bytes.tobytes())
            with open(os.path.join(out_dir, ann_rel), 'wb') as f:
                f.write(ann_bytes.tobytes())
            lines.append('{} {}\n'.format(img_rel, ann_rel))
        with open(os.path.join(out_dir, list_name), 'w') as f:
            f.writelines(lines)
        counts[split] = count
    return counts
