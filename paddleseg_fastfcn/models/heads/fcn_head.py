"""FCN head, used as the auxiliary head on c3."""
import paddle.nn as nn
from paddleseg.cvlibs import manager

from paddleseg_fastfcn.models.heads.classifier import add_class_conv, classifier_layers
from paddleseg_fastfcn.models.heads.decode_head import DecodeHead


@manager.MODELS.add_component
class FCNAuxHead(DecodeHead):
    """The official ``FCNHead`` (``auxlayer``): conv3x3 -> BN -> ReLU -> Dropout2D -> conv1x1.

    ``conv5`` keeps the official positions (``conv5.0``, ``conv5.1``, ``conv5.4``).

    Args:
        num_classes (int | None): classes; None = given later by the segmentor
            (``model.num_classes``).
        in_channels (int): channels of the selected feature (1024 = c3 of ResNet-50/101).
        channels (int | None): hidden width; None = in_channels // 4.
        dropout_ratio (float): Dropout2D before the classifier.
        in_index (int): which feature of the input list to use (2 = c3).

    Shapes:
        feats: list with feats[in_index] = [N, in_channels, h, w] -> [logits [N, num_classes, h, w]]
    """

    def __init__(self, num_classes=None, in_channels=1024, channels=None, dropout_ratio=0.1, in_index=2):
        super().__init__(in_channels, in_index)
        self.channels = channels or in_channels // 4
        self.conv5 = nn.Sequential(*classifier_layers(in_channels, self.channels, dropout_ratio))
        self.set_num_classes(num_classes)

    def build_class_layers(self, num_classes):
        add_class_conv(self.conv5, self.channels, num_classes)

    def forward(self, feats):
        return [self.conv5(self.select_input(feats))]
