"""A complete PaddleSeg-schema YAML around given dataset sections (for the data,
evaluation and CLI tests). The model is PaddleSeg's registered FastSCNN, small
enough to build and run at 32-64 px in a fraction of a second."""

CONFIG = """\
batch_size: 2
iters: 2
train_dataset: {train_dataset}
val_dataset: {val_dataset}
model: {{type: FastSCNN, num_classes: {num_classes}, enable_auxiliary_loss: False}}
optimizer: {{type: SGD, momentum: 0.9, weight_decay: 1.0e-4}}
lr_scheduler: {{type: PolynomialDecay, learning_rate: 0.01, power: 0.9, end_lr: 0}}
loss: {{types: [{{type: SegCrossEntropyLoss}}], coef: [1]}}
"""


def mini_dataset_section(root, mode, transforms='[{type: Normalize}]'):
    """A flow-style YAML mapping for ``MiniADE20K`` at ``root``."""
    return '{{type: MiniADE20K, dataset_root: {}, mode: {}, transforms: {}}}'.format(
        root, mode, transforms)


def write_config(path, train_dataset, val_dataset=None, num_classes=5):
    """Write the config to ``path`` (a pathlib.Path) and return its name as str."""
    path.write_text(CONFIG.format(train_dataset=train_dataset,
                                  val_dataset=val_dataset or train_dataset,
                                  num_classes=num_classes))
    return str(path)
