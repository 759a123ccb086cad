"""The class names of the benchmark datasets, a names-file reader, and which names a
built dataset gets (evaluation reports, confusion matrices).

The lists are in train-id order (class k = the k-th name):
- ADE20K (SceneParsing 150): the challenge's ``objectInfo150`` order, first name of
  each entry (as mmsegmentation's ``ADE20KDataset`` lists them);
- Pascal Context 59: the 59 Detail API categories by ascending category id (the
  official mapping, ``prepare.pascal_context.CONTEXT59_CATEGORY_IDS``), which is
  their alphabetical order;
- Cityscapes 19: the ``trainId`` order of cityscapesscripts' ``helpers.labels``.
"""
import os

from .checks import DatasetError

ADE20K = (
    'wall', 'building', 'sky', 'floor', 'tree', 'ceiling', 'road', 'bed', 'windowpane', 'grass',
    'cabinet', 'sidewalk', 'person', 'earth', 'door', 'table', 'mountain', 'plant', 'curtain',
    'chair', 'car', 'water', 'painting', 'sofa', 'shelf', 'house', 'sea', 'mirror', 'rug', 'field',
    'armchair', 'seat', 'fence', 'desk', 'rock', 'wardrobe', 'lamp', 'bathtub', 'railing',
    'cushion', 'base', 'box', 'column', 'signboard', 'chest of drawers', 'counter', 'sand', 'sink',
    'skyscraper', 'fireplace', 'refrigerator', 'grandstand', 'path', 'stairs', 'runway', 'case',
    'pool table', 'pillow', 'screen door', 'stairway', 'river', 'bridge', 'bookcase', 'blind',
    'coffee table', 'toilet', 'flower', 'book', 'hill', 'bench', 'countertop', 'stove', 'palm',
    'kitchen island', 'computer', 'swivel chair', 'boat', 'bar', 'arcade machine', 'hovel', 'bus',
    'towel', 'light', 'truck', 'tower', 'chandelier', 'awning', 'streetlight', 'booth',
    'television receiver', 'airplane', 'dirt track', 'apparel', 'pole', 'land', 'bannister',
    'escalator', 'ottoman', 'bottle', 'buffet', 'poster', 'stage', 'van', 'ship', 'fountain',
    'conveyer belt', 'canopy', 'washer', 'plaything', 'swimming pool', 'stool', 'barrel', 'basket',
    'waterfall', 'tent', 'bag', 'minibike', 'cradle', 'oven', 'ball', 'food', 'step', 'tank',
    'trade name', 'microwave', 'pot', 'animal', 'bicycle', 'lake', 'dishwasher', 'screen',
    'blanket', 'sculpture', 'hood', 'sconce', 'vase', 'traffic light', 'tray', 'ashcan', 'fan',
    'pier', 'crt screen', 'plate', 'monitor', 'bulletin board', 'shower', 'radiator', 'glass',
    'clock', 'flag')

PASCAL_CONTEXT_59 = (
    'aeroplane', 'bag', 'bed', 'bedclothes', 'bench', 'bicycle', 'bird', 'boat', 'book', 'bottle',
    'building', 'bus', 'cabinet', 'car', 'cat', 'ceiling', 'chair', 'cloth', 'computer', 'cow',
    'cup', 'curtain', 'dog', 'door', 'fence', 'floor', 'flower', 'food', 'grass', 'ground', 'horse',
    'keyboard', 'light', 'motorbike', 'mountain', 'mouse', 'person', 'plate', 'platform',
    'pottedplant', 'road', 'rock', 'sheep', 'shelves', 'sidewalk', 'sign', 'sky', 'snow', 'sofa',
    'table', 'track', 'train', 'tree', 'truck', 'tvmonitor', 'wall', 'water', 'window', 'wood')

CITYSCAPES = (
    'road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light', 'traffic sign',
    'vegetation', 'terrain', 'sky', 'person', 'rider', 'car', 'truck', 'bus', 'train',
    'motorcycle', 'bicycle')

# The lists a config's ``class_names`` key may name instead of a file.
BUILTIN = {'ade20k': ADE20K, 'pascal_context_59': PASCAL_CONTEXT_59, 'cityscapes': CITYSCAPES}
# Names a dataset gets without a ``class_names`` key, by the PaddleSeg dataset class it is
# (or derives from); PaddleSeg's own datasets carry no names.
_BY_DATASET_CLASS = (('ADE20K', ADE20K), ('Cityscapes', CITYSCAPES))


def read_class_names(path):
    """Read a names file: one class name per line, class 0 first (no blank lines between).

    The format ``tools/data/prepare_custom.py --class_names`` reads.

    Returns:
        list[str]

    Raises:
        DatasetError: an empty or repeated name (file and line named).
    """
    with open(path) as f:
        names = [line.strip() for line in f.read().strip('\n').split('\n')]
    for lineno, name in enumerate(names, 1):
        if not name:
            raise DatasetError('{}:{}: empty class name'.format(path, lineno))
        if names.index(name) != lineno - 1:
            raise DatasetError('{}:{}: class name {!r} repeats line {}'.format(
                path, lineno, name, names.index(name) + 1))
    return names


def _own_names(dataset):
    """Names the dataset (or the dataset a ``ValidatedDataset`` wraps) knows by itself."""
    names = getattr(dataset, 'CLASS_NAMES', None)
    if names is not None:
        return list(names)
    inner = getattr(dataset, 'dataset', dataset)
    mro = {c.__name__ for c in type(inner).__mro__}
    for class_name, names in _BY_DATASET_CLASS:
        if class_name in mro:
            return list(names)
    return None


def resolve_class_names(dataset, setting=None):
    """The class names of a built dataset, one per class.

    Args:
        dataset: a dataset with ``num_classes`` (C).
        setting (str | None): the config's ``class_names``: a built-in list
            (``ade20k``, ``pascal_context_59``, ``cityscapes``) or the path of a names
            file (see ``read_class_names``). None: the dataset's own names (MiniADE20K,
            ADE20K, Cityscapes), else the class ids as strings.

    Returns:
        list[str]: C names.

    Raises:
        DatasetError: the file is missing, or the list's length is not C.
    """
    num_classes = dataset.num_classes
    if setting is None:
        names = _own_names(dataset)
        if names is None or len(names) != num_classes:
            return [str(c) for c in range(num_classes)]
        return names
    where = 'config key class_names: {!r}'.format(setting)
    if setting in BUILTIN:
        names = list(BUILTIN[setting])
    elif os.path.isfile(setting):
        names = read_class_names(setting)
        where = 'class names file {} (config key class_names)'.format(setting)
    else:
        raise DatasetError('{} is neither a built-in list ({}) nor an existing file'.format(
            where, ', '.join(sorted(BUILTIN))))
    if len(names) != num_classes:
        raise DatasetError('{} holds {} names but the dataset has {} classes'.format(
            where, len(names), num_classes))
    return names
