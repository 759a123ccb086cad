"""``PreparedADE20K``: ADE20K (ADEChallengeData2016 as distributed) read through the lists
``tools/data/prepare_ade20k.py`` writes; never downloads."""
import os

from paddleseg.cvlibs import manager
from paddleseg.datasets import ADE20K
from paddleseg.transforms import Compose

from .checks import check_files_exist, list_file_entries, read_checked

LAYOUT = ('unpack ADEChallengeData2016.zip (http://sceneparsing.csail.mit.edu/) so that {root}/images/'
          '{{training,validation}}/*.jpg and {root}/annotations/{{training,validation}}/*.png exist, then run '
          '`python tools/data/prepare_ade20k.py --root {root}`')


def where_to_put(root):
    """The instruction that tells a user how to put ADE20K at ``root``."""
    return LAYOUT.format(root=root)


def init_ade20k_attributes(dataset, transforms, dataset_root, mode, edge, missing_root_hint):
    """Set what PaddleSeg's ``ADE20K.__init__`` sets, without its download; check the arguments.

    Shared by the datasets in the ADE20K layout (``PreparedADE20K``, ``MiniADE20K``).

    Args:
        dataset: the dataset being built (its class gives NUM_CLASSES, IGNORE_INDEX and
            the name in the messages).
        transforms (list): PaddleSeg transforms.
        dataset_root (str): must exist.
        mode (str): 'train' or 'val' (any case).
        edge (bool): must be False (PaddleSeg's ADE20K edge path is broken).
        missing_root_hint (str): what the error for a missing root tells the user to do.

    Returns:
        str: the mode, lower case.
    """
    name = type(dataset).__name__
    mode = mode.lower()
    if mode not in ('train', 'val'):
        raise ValueError("{}: `mode` must be 'train' or 'val', got {!r}".format(name, mode))
    if edge:
        raise ValueError('{}: `edge` is not supported'.format(name))
    if not os.path.isdir(dataset_root):
        raise FileNotFoundError('{}: dataset_root {} does not exist; {}'.format(
            name, dataset_root, missing_root_hint))
    dataset.dataset_root = dataset_root
    dataset.transforms = Compose(transforms)
    dataset.mode = mode
    dataset.edge = False
    dataset.num_classes = dataset.NUM_CLASSES
    dataset.ignore_index = dataset.IGNORE_INDEX
    return mode


@manager.DATASETS.add_component
class PreparedADE20K(ADE20K):
    """ADE20K from ``dataset_root/{train,val}.txt`` (``image label`` per line, relative paths).

    Labels keep PaddleSeg's ADE20K mapping (its ``__getitem__`` is reused): PNG 0
    ("other") -> 255 = ignore, 1..150 -> classes 0..149.

    Differs from PaddleSeg's ``ADE20K`` around the samples: a missing
    ``dataset_root`` or list is an error saying where to put the data (ADE20K would
    start a download), the order is the list's (ADE20K uses ``os.listdir`` order,
    which varies between file systems), a missing file is named with its list line,
    and each sample is checked as it is read (``checks.read_checked``).

    Args:
        transforms (list): PaddleSeg transforms.
        dataset_root (str): the ADEChallengeData2016 folder.
        mode (str): 'train' or 'val'.
        train_path (str | None): the train list; default ``dataset_root/train.txt``.
        val_path (str | None): the val list; default ``dataset_root/val.txt``.
        edge (bool): unsupported (PaddleSeg's ADE20K edge path is broken); must be False.

    Samples: ``img`` [3, H, W] float32 and ``label`` int [H, W] ('train') or
    [1, H, W] untransformed ('val'), with 255 = ignore.
    """
    NUM_CLASSES = 150
    IGNORE_INDEX = 255
    IMG_CHANNELS = 3
    CHECKS_SAMPLES = True

    def __init__(self, transforms, dataset_root, mode='train', train_path=None, val_path=None, edge=False):
        mode = init_ade20k_attributes(self, transforms, dataset_root, mode, edge, where_to_put(dataset_root))
        list_path = (train_path if mode == 'train' else val_path) or os.path.join(dataset_root, mode + '.txt')
        if not os.path.isfile(list_path):
            raise FileNotFoundError(
                'PreparedADE20K: list file {} not found; write it with '
                '`python tools/data/prepare_ade20k.py --root {}`'.format(list_path, dataset_root))
        entries = list_file_entries(list_path, dataset_root)
        for lineno, _, label in entries:
            if label is None:
                raise ValueError('PreparedADE20K: {}:{} has no label path'.format(list_path, lineno))
        if not entries:
            raise ValueError('PreparedADE20K: list file {} is empty'.format(list_path))
        self.file_list = [[image, label] for _, image, label in entries]
        check_files_exist(self.file_list, ['{}:{}'.format(list_path, n) for n, _, _ in entries])

    def __getitem__(self, idx):
        return read_checked(self, idx, super().__getitem__)
