import hashlib
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from paddleseg_fastfcn.datasets.synthetic import CLASS_NAMES, write_dataset

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def digests(root):
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            with open(p, 'rb') as f:
                out[os.path.relpath(p, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def test_cli_writes_ade20k_layout(tmp_path):
    out = tmp_path / 'mini'
    subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'make_mini_dataset.py'), '--out',
                    str(out), '--num_train', '3', '--num_val', '2', '--size', '40', '--seed', '3'],
                   check=True, capture_output=True)
    train_imgs = sorted(os.listdir(out / 'images' / 'training'))
    assert train_imgs == ['mini_training_0000{}.jpg'.format(i) for i in range(3)]
    assert sorted(os.listdir(out / 'annotations' / 'validation')) == [
        'mini_validation_00000.png', 'mini_validation_00001.png']
    img = Image.open(out / 'images' / 'training' / train_imgs[0])
    label = Image.open(out / 'annotations' / 'training' / 'mini_training_00000.png')
    assert img.mode == 'RGB' and img.size == (40, 40)
    assert label.mode == 'L' and label.size == (40, 40)
    values = set(np.unique(np.asarray(label)).tolist())
    assert values <= set(range(len(CLASS_NAMES) + 1)) and 1 in values
    lines = (out / 'val.txt').read_text().splitlines()
    assert lines[0] == 'images/validation/mini_validation_00000.jpg ' \
                       'annotations/validation/mini_validation_00000.png'


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    write_dataset(str(tmp_path / 'a'), num_train=3, num_val=2, size=32, seed=5)
    write_dataset(str(tmp_path / 'b'), num_train=3, num_val=2, size=32, seed=5)
    write_dataset(str(tmp_path / 'c'), num_train=3, num_val=2, size=32, seed=6)
    a, b, c = (digests(str(tmp_path / n)) for n in 'abc')
    assert a == b and len(a) == 2 * 5 + 2
    assert a['images/training/mini_training_00000.jpg'] != c['images/training/mini_training_00000.jpg']
    # an image does not depend on how many images are written
    write_dataset(str(tmp_path / 'd'), num_train=1, num_val=1, size=32, seed=5)
    d = digests(str(tmp_path / 'd'))
    assert d['images/training/mini_training_00000.jpg'] == a['images/training/mini_training_00000.jpg']


def test_every_class_and_ignore_occur(tmp_path):
    write_dataset(str(tmp_path), num_train=20, num_val=1, size=64, seed=0)
    counts = np.zeros(len(CLASS_NAMES) + 1, np.int64)
    ann = tmp_path / 'annotations' / 'training'
    for name in os.listdir(ann):
        counts += np.bincount(np.asarray(Image.open(ann / name)).ravel(), minlength=len(counts))
    assert (counts > 0).all()  # 0 = ignored clutter, 1 = background, 2.. = shapes


def test_bad_arguments_exit_with_message(tmp_path):
    res = subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'make_mini_dataset.py'),
                          '--out', str(tmp_path / 'x'), '--size', '8'], capture_output=True, text=True)
    assert res.returncode != 0 and 'argument --size: must be >= 32, got 8' in res.stderr
