"""Datasets. PaddleSeg's ADE20K, Cityscapes, PascalContext and file-list Dataset are
used as they are (wrapped by ``checks.validate_dataset`` on the builder path);
``MiniADE20K`` is the synthetic mini dataset. Importing registers it in DATASETS."""
from .checks import DatasetError, ValidatedDataset, validate_dataset
from .mini_ade20k import MiniADE20K
