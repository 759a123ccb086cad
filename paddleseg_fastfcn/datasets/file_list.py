"""``type: Dataset`` (PaddleSeg's file-list dataset) with its list read by ``utils.list_file``.

PaddleSeg 2.8's reader splits each line on exactly one separator: a blank line, a
trailing space, a tab or two spaces between the fields stop training with "File
list format incorrect!" naming neither the file nor the line, and a UTF-8
byte-order mark becomes part of the first image's name. The builder
(``core.seg_builder``) builds this class wherever a config says ``type: Dataset``.
"""
import os

from paddleseg.datasets import Dataset

from .checks import DatasetError, list_file_entries


class FileListDataset(Dataset):
    """PaddleSeg's ``Dataset``: the same arguments and samples, a tolerant and exact list reader.

    Blank lines, CRLF, a BOM and runs of spaces / tabs (with the default ``' '``
    separator) are accepted; any other malformed line (e.g. three fields, or one
    field in train / val mode) is refused with ``list_file:line``.

    Attributes:
        file_list (list[list[str | None]]): ``[image, label or None]`` per sample.
        origins (list[str]): per sample, the ``list_file:line`` it was read from.
    """

    def __init__(self, mode, dataset_root, transforms, num_classes, img_channels=3, train_path=None,
                 val_path=None, test_path=None, separator=' ', ignore_index=255, edge=False):
        lists = {'train': train_path, 'val': val_path, 'test': test_path}
        # PaddleSeg checks every argument; it is handed an empty list (os.devnull) in place
        # of each existing one, which is read below.
        stand_in = {k: os.devnull if v is not None and os.path.exists(v) else v for k, v in lists.items()}
        super().__init__(mode, dataset_root, transforms, num_classes, img_channels, stand_in['train'],
                         stand_in['val'], stand_in['test'], separator, ignore_index, edge)
        list_path = lists[self.mode]
        if not os.path.isfile(list_path):
            raise DatasetError('{}_path {} is not a regular file'.format(self.mode, list_path))
        entries = list_file_entries(list_path, dataset_root, separator,
                                    min_fields=2 if self.mode in ('train', 'val') else 1)
        self.file_list = [[image, label] for _, image, label in entries]
        self.origins = ['{}:{}'.format(list_path, lineno) for lineno, _, _ in entries]
