"""FCN head, used as the auxiliary head on c3."""
import paddle.nn as nn
from paddleseg.cvlibs import manager

from paddleseg_fastfcn.models.heads.checks import check_in_index, select_feature
from paddleseg_fastfcn.models.heads.classifier import classifier_layers


@manager.MODELS.add_component
class FCNAuxHead(nn.Layer):
    """The official ``FCNHead`` (``auxlayer``): conv3x3 -> BN -> ReLU -> Dropout2D -> conv1x1.

    ``conv5`` keeps the official positions (``conv5.0``, ``conv5.1``, ``conv5.4``).

    Args:
        num_classes (int): classes.
        in_channels (int): channels of the selected feature (1024 = c3 of ResNet-50/101).
        channels (int | None): hidden width; None = in_channels // 4.
        dropout_ratio (float): Dropout2D before the classifier.
        in_index (int): which feature of the input list to use (2 = c3).

    Shapes:
        feats: list with feats[in_index] = [N, in_channels, h, w] -> [logits [N, num_classes, h, w]]
    """

    def __init__(self, num_classes, in_channels=1024, channels=None, dropout_ratio=0.1, in_index=2):
        super().__init__()
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.in_index = check_in_index(in_index, 'FCNAuxHead')
        self.use_se_loss = False
        channels = channels or in_channels // 4
        self.conv5 = nn.Sequential(*classifier_layers(in_channels, channels, num_classes, dropout_ratio))

    def forward(self, feats):
        return [self.conv5(select_feature(feats, self.in_index, 'FCNAuxHead'))]
