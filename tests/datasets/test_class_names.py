"""The built-in class-name lists and which names a dataset gets."""
import pytest

from paddleseg_fastfcn.datasets import DatasetError, MiniADE20K
from paddleseg_fastfcn.datasets.class_names import (ADE20K, CITYSCAPES, PASCAL_CONTEXT_59,
                                                    read_class_names, resolve_class_names)


class Counted:
    def __init__(self, num_classes):
        self.num_classes = num_classes


def test_list_lengths_and_orders():
    assert len(ADE20K) == len(set(ADE20K)) == 150
    assert ADE20K[:3] == ('wall', 'building', 'sky') and ADE20K[-1] == 'flag'
    # Class k = the k-th smallest Detail category id, i.e. alphabetical order.
    assert len(PASCAL_CONTEXT_59) == 59 and list(PASCAL_CONTEXT_59) == sorted(PASCAL_CONTEXT_59)


def test_cityscapes_is_cityscapesscripts_train_id_order():
    labels = pytest.importorskip('cityscapesscripts.helpers.labels').labels
    names = [l.name for l in sorted(labels, key=lambda l: l.trainId) if 0 <= l.trainId < 255]
    assert tuple(names) == CITYSCAPES


def test_dataset_names_by_class_then_ids(tmp_path):
    from paddleseg.datasets import ADE20K as PaddleSegADE20K
    ade = PaddleSegADE20K.__new__(PaddleSegADE20K)
    ade.num_classes = 150
    assert resolve_class_names(ade) == list(ADE20K)
    mini = MiniADE20K.__new__(MiniADE20K)
    mini.num_classes = MiniADE20K.NUM_CLASSES
    assert resolve_class_names(mini) == list(MiniADE20K.CLASS_NAMES)
    assert resolve_class_names(Counted(3)) == ['0', '1', '2']
    assert resolve_class_names(Counted(59), 'pascal_context_59') == list(PASCAL_CONTEXT_59)


def test_names_file_is_checked(tmp_path):
    good = tmp_path / 'good.txt'
    good.write_text('sky\nroad\n')
    assert resolve_class_names(Counted(2), str(good)) == ['sky', 'road']
    with pytest.raises(DatasetError, match='holds 2 names but the dataset has 3 classes'):
        resolve_class_names(Counted(3), str(good))
    bad = tmp_path / 'bad.txt'
    bad.write_text('sky\nroad\nsky\n')
    with pytest.raises(DatasetError, match=r"bad.txt:3: class name 'sky' repeats line 1"):
        read_class_names(str(bad))
