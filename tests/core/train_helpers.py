"""Tiny synthetic dataset + YAML config shared by the trainer tests.

The data is PaddleSeg's file-list ``Dataset`` format; the model is the project's
FastFCNSegmentor (EncNet + JPU + FCN aux head, training outputs [main, aux, se])
on PaddleSeg's ResNet18_vd with narrow heads, at 32x32, so a step takes ~0.3 s.
"""
import os

import cv2
import numpy as np

NUM_CLASSES = 3


def write_dataset(root, num_images=6, size=32, seed=0):
    """Images with a square (class 1) and a disc (class 2) on noise (class 0);
    a border strip is labelled 255 (ignored). Returns (train_list, val_list)."""
    rng = np.random.RandomState(seed)
    os.makedirs(os.path.join(root, 'images'), exist_ok=True)
    os.makedirs(os.path.join(root, 'labels'), exist_ok=True)
    lines = []
    for i in range(num_images):
        img = rng.randint(0, 80, size=(size, size, 3)).astype('uint8')
        label = np.zeros((size, size), dtype='uint8')
        x, y = rng.randint(2, size // 2, size=2)
        img[y:y + 10, x:x + 10] = (200, 40, 40)
        label[y:y + 10, x:x + 10] = 1
        cx, cy = rng.randint(size // 2, size - 6, size=2)
        cv2.circle(img, (int(cx), int(cy)), 5, (40, 200, 40), -1)
        cv2.circle(label, (int(cx), int(cy)), 5, 2, -1)
        label[:, :2] = 255
        name = 'im{}'.format(i)
        cv2.imwrite(os.path.join(root, 'images', name + '.png'), img)
        cv2.imwrite(os.path.join(root, 'labels', name + '.png'), label)
        lines.append('images/{0}.png labels/{0}.png'.format(name))
    train_list = os.path.join(root, 'train.txt')
    val_list = os.path.join(root, 'val.txt')
    with open(train_list, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(val_list, 'w') as f:
        f.write('\n'.join(lines[:2]) + '\n')
    return train_list, val_list


# The datasets of write_dataset, shared by every tiny config ({root}: the data folder).
DATA_YAML = """\
train_dataset:
  type: Dataset
  dataset_root: {root}
  train_path: {root}/train.txt
  num_classes: 3
  mode: train
  transforms:
    - type: RandomHorizontalFlip
    - type: RandomDistort
      brightness_range: 0.3
    - type: Normalize

val_dataset:
  type: Dataset
  dataset_root: {root}
  val_path: {root}/val.txt
  num_classes: 3
  mode: val
  transforms:
    - type: Normalize
"""

CONFIG = """\
batch_size: 2
iters: 4

""" + DATA_YAML + """
model:
  type: FastFCNSegmentor
  num_classes: 3
  backbone:
    type: ResNet18_vd
    output_stride: 32
  neck:
    type: JointPyramidUpsampling
    in_channels: [128, 256, 512]
    width: 16
  head:
    type: EncHead
    num_classes: 3
    in_channels: 64
    channels: 16
    num_codes: 4
  aux_head:
    type: FCNAuxHead
    num_classes: 3
    in_channels: 256

optimizer:
  type: SGD
  momentum: 0.9
  weight_decay: 1.0e-4
  custom_cfg:
    - name: backbone
      lr_mult: 1.0
    - name: neck
      lr_mult: 10.0
    - name: head
      lr_mult: 10.0

lr_scheduler:
  type: PolynomialDecay
  learning_rate: {lr:.4e}
  power: 0.9
  end_lr: 0

loss:
  types:
    - type: SegCrossEntropyLoss
    - type: SegCrossEntropyLoss
    - type: SemanticEncodingLoss
  coef: [1, 0.4, 0.2]
"""


def write_config(tmp_path, lr=0.01, extra='', template=CONFIG, name='tiny.yml'):
    """Dataset + config (``template`` formatted with the data ``root`` and ``lr``)
    under tmp_path; returns the config path."""
    root = str(tmp_path / 'data')
    if not os.path.isdir(root):
        write_dataset(root)
    path = tmp_path / name
    path.write_text(template.format(root=root, lr=lr) + extra)
    return str(path)
