"""A tiny segmentor without batch statistics, and train.py with it registered.

Data-parallel training equals large-batch training only if no layer mixes
samples of a batch. BatchNorm in train mode does (its statistics come from the
per-card batch, and SyncBatchNorm has no CPU kernel), so the equivalence test
uses this model: GroupNorm normalizes each sample on its own, so the gradient
of a global batch is exactly the mean of the per-card gradients.

Run as a script it is ``train.py`` with this model registered, for
``python -m paddle.distributed.launch ... group_norm_segmentor.py --config ...``.
"""
import os
import sys

import paddle.nn as nn
from paddleseg.cvlibs import manager

from paddleseg_fastfcn.models.layers.resize import resize_align_corners

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@manager.MODELS.add_component
class TinyGroupNormSegmentor(nn.Layer):
    """conv3x3-GN-ReLU, strided conv3x3-GN-ReLU, conv1x1 classifier, resize back.

    Shapes:
        x: [N, 3, H, W] -> [logits [N, num_classes, H, W]]
    """

    def __init__(self, num_classes, channels=8):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2D(3, channels, 3, padding=1, bias_attr=False), nn.GroupNorm(2, channels),
            nn.ReLU(),
            nn.Conv2D(channels, channels, 3, stride=2, padding=1, bias_attr=False),
            nn.GroupNorm(2, channels), nn.ReLU())
        self.classifier = nn.Conv2D(channels, num_classes, 1)

    def forward(self, x):
        return [resize_align_corners(self.classifier(self.features(x)), x.shape[2:])]


# batch_size / iters, then train_helpers.DATA_YAML ({data}), then this model and its solver.
CONFIG = """\
batch_size: 1
iters: 4

{data}
model:
  type: TinyGroupNormSegmentor
  num_classes: 3

optimizer:
  type: SGD
  momentum: 0.9
  weight_decay: 1.0e-4

lr_scheduler:
  type: PolynomialDecay
  learning_rate: 0.05
  power: 0.9
  end_lr: 0

loss:
  types:
    - type: SegCrossEntropyLoss
  coef: [1]
"""


def write_group_norm_config(tmp_path):
    """Synthetic data (tests/core/train_helpers) + this model's config; returns its path."""
    from tests.core.train_helpers import DATA_YAML, write_config
    return write_config(tmp_path, template=CONFIG.replace('{data}', DATA_YAML), name='group_norm.yml')


if __name__ == '__main__':
    sys.path.insert(0, REPO)
    import train as train_cli
    sys.exit(train_cli.main(sys.argv[1:]))
