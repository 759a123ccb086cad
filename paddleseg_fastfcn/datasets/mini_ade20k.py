"""``MiniADE20K``: the synthetic mini dataset (``tools/make_mini_dataset.py``) in ADE20K layout."""
import os

from paddleseg.cvlibs import manager
from paddleseg.datasets import ADE20K

from .checks import check_files_exist, read_checked
from .prepared_ade20k import init_ade20k_attributes
from .synthetic import CLASS_NAMES


@manager.DATASETS.add_component
class MiniADE20K(ADE20K):
    """The mini dataset: ``images/{training,validation}/*.jpg`` and
    ``annotations/{training,validation}/*.png``, label 0 = other (ignored),
    1..K = classes 0..K-1 (PaddleSeg's ADE20K mapping, which this reuses).

    Differs from PaddleSeg's ``ADE20K`` in what happens around the samples: a
    missing ``dataset_root`` is an error (ADE20K would start a download), files are
    read in sorted order (ADE20K uses ``os.listdir`` order, which varies between
    file systems and so breaks reproducibility), every image needs its label, and
    each sample is checked as it is read (``checks.read_checked``).

    Args:
        dataset_root (str): the directory ``make_mini_dataset.py --out`` wrote.
        transforms (list): PaddleSeg transforms.
        mode (str): 'train' or 'val'.
        edge (bool): unsupported here (PaddleSeg's ADE20K edge path is broken); must be False.

    Samples: ``img`` [3, H, W] float32 and ``label`` int [H, W] ('train') or
    [1, H, W] untransformed ('val'), with 255 = ignore.
    """
    NUM_CLASSES = len(CLASS_NAMES)
    IGNORE_INDEX = 255
    IMG_CHANNELS = 3
    CLASS_NAMES = CLASS_NAMES
    CHECKS_SAMPLES = True

    def __init__(self, dataset_root, transforms, mode='train', edge=False):
        mode = init_ade20k_attributes(
            self, transforms, dataset_root, mode, edge,
            'write it with `python tools/make_mini_dataset.py --out {}`'.format(dataset_root))
        split = 'training' if mode == 'train' else 'validation'
        img_dir = os.path.join(dataset_root, 'images', split)
        label_dir = os.path.join(dataset_root, 'annotations', split)
        if not os.path.isdir(img_dir):
            raise FileNotFoundError('MiniADE20K: image directory not found: {}'.format(img_dir))
        names = sorted(n for n in os.listdir(img_dir) if n.lower().endswith('.jpg'))
        if not names:
            raise FileNotFoundError('MiniADE20K: no .jpg images in {}'.format(img_dir))
        self.file_list = [[os.path.join(img_dir, n), os.path.join(label_dir, n[:-4] + '.png')]
                          for n in names]
        check_files_exist(self.file_list)

    def __getitem__(self, idx):
        return read_checked(self, idx, super().__getitem__)
