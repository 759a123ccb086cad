"""Datasets. PaddleSeg's Cityscapes, PascalContext and file-list Dataset are used as
they are (wrapped by ``checks.validate_dataset`` on the builder path);
``PreparedADE20K`` reads ADE20K through prepared lists (never downloads),
``MiniADE20K`` is the synthetic mini dataset. Importing registers them in DATASETS.
``prepare`` turns raw dataset downloads into labels and lists (tools/data/)."""
from .checks import DatasetError, ValidatedDataset, validate_dataset
from .mini_ade20k import MiniADE20K
from .prepared_ade20k import PreparedADE20K
