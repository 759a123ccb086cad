"""DeepLabV3 head: atrous spatial pyramid pooling (ASPP) and a conv classifier."""
import paddle
import paddle.nn as nn
from paddleseg.cvlibs import manager

from paddleseg_fastfcn.models.layers import ConvBNReLU
from paddleseg_fastfcn.models.heads.classifier import add_class_conv, classifier_layers
from paddleseg_fastfcn.models.heads.decode_head import DecodeHead
from paddleseg_fastfcn.models.heads.upsample import upsample_pooled


class ASPPPooling(nn.Layer):
    """Image-level branch: global average pool -> conv1x1-BN-ReLU -> broadcast to H x W.

    ``gap`` keeps the official positions (pool 0, conv 1, BN 2). The official
    bilinear upsampling of the 1x1 map gives the same value at every pixel, which
    is what ``upsample_pooled`` does.

    Shapes:
        x: [N, C, H, W] -> [N, out_channels, H, W]
    """

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.gap = nn.Sequential(nn.AdaptiveAvgPool2D(1),
                                 *ConvBNReLU(in_channels, out_channels, 1).children())

    def forward(self, x):
        return upsample_pooled(self.gap(x), paddle.shape(x)[2:])


class ASPPModule(nn.Layer):
    """Branches ``b0`` (1x1), ``b1..b3`` (3x3 at the atrous rates), ``b4`` (pooling),
    concatenated and projected by ``project`` (conv1x1-BN-ReLU-Dropout2D(0.5)).

    Shapes:
        x: [N, C, H, W] -> [N, out_channels, H, W]
    """

    def __init__(self, in_channels, out_channels, atrous_rates=(12, 24, 36), dropout_ratio=0.5):
        super().__init__()
        if len(atrous_rates) != 3:
            raise ValueError('ASPPHead: atrous_rates must hold 3 rates, got {}'.format(atrous_rates))
        self.b0 = ConvBNReLU(in_channels, out_channels, 1)
        self.b1 = ConvBNReLU(in_channels, out_channels, 3, dilation=atrous_rates[0])
        self.b2 = ConvBNReLU(in_channels, out_channels, 3, dilation=atrous_rates[1])
        self.b3 = ConvBNReLU(in_channels, out_channels, 3, dilation=atrous_rates[2])
        self.b4 = ASPPPooling(in_channels, out_channels)
        self.project = nn.Sequential(*ConvBNReLU(5 * out_channels, out_channels, 1).children(),
                                     nn.Dropout2D(dropout_ratio))

    def forward(self, x):
        branches = [self.b0(x), self.b1(x), self.b2(x), self.b3(x), self.b4(x)]
        return self.project(paddle.concat(branches, axis=1))


@manager.MODELS.add_component
class ASPPHead(DecodeHead):
    """DeepLabV3 head as the official FastFCN ``DeepLabV3Head``.

    ``aspp`` (ASPPModule, width in_channels // 8 = 256) then ``block`` = conv3x3
    -BN-ReLU-Dropout2D(0.1)-conv1x1 (positions 0, 1, 4 as the official code).

    Args:
        num_classes (int | None): classes; None = given later by the segmentor
            (``model.num_classes``).
        in_channels (int): channels of the selected feature (2048).
        channels (int | None): ASPP width; None = in_channels // 8.
        atrous_rates (tuple[int]): dilations of the three 3x3 branches.
        aspp_dropout_ratio (float): Dropout2D after the ASPP projection.
        dropout_ratio (float): Dropout2D before the classifier.
        in_index (int): which feature of the input list to use.

    Shapes:
        feats: list with feats[in_index] = [N, in_channels, h, w] -> [logits [N, num_classes, h, w]]
    """

    def __init__(self, num_classes=None, in_channels=2048, channels=None, atrous_rates=(12, 24, 36),
                 aspp_dropout_ratio=0.5, dropout_ratio=0.1, in_index=-1):
        super().__init__(in_channels, in_index)
        self.channels = channels or in_channels // 8
        self.aspp = ASPPModule(in_channels, self.channels, atrous_rates, aspp_dropout_ratio)
        self.block = nn.Sequential(*classifier_layers(self.channels, self.channels, dropout_ratio))
        self.set_num_classes(num_classes)

    def build_class_layers(self, num_classes):
        add_class_conv(self.block, self.channels, num_classes)

    def forward(self, feats):
        return [self.block(self.aspp(self.select_input(feats)))]
