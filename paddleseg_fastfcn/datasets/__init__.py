"""Datasets. PaddleSeg's Cityscapes and PascalContext are used as they are (wrapped
by ``checks.validate_dataset`` on the builder path), its file-list Dataset with this
project's list reader (``FileListDataset``, which the builder builds for ``type: Dataset``);
``PreparedADE20K`` reads ADE20K through prepared lists (never downloads),
``MiniADE20K`` is the synthetic mini dataset. Importing registers them in DATASETS.
``prepare`` turns raw dataset downloads into labels and lists (tools/data/)."""
from .checks import DatasetError, ValidatedDataset, validate_dataset
from .file_list import FileListDataset
from .mini_ade20k import MiniADE20K
from .prepared_ade20k import PreparedADE20K
