"""Joint Pyramid Upsampling (JPU), the FastFCN neck."""
import paddle
import paddle.nn as nn
from paddleseg.cvlibs import manager

from paddleseg_fastfcn.models.layers import ConvBNReLU, resize_align_corners
from paddleseg_fastfcn.models.necks.separable_conv import SeparableConv2D

JPU_DILATIONS = (1, 2, 4, 8)


def split_in_channels(in_channels, neck_name):
    """``(c1 channels or None, [c2, c3, c4] channels)`` from a 3- or 4-item list."""
    if len(in_channels) == 4:
        return in_channels[0], list(in_channels[1:])
    if len(in_channels) == 3:
        return None, list(in_channels)
    raise ValueError('{}: in_channels must list the channels of [c2, c3, c4] or [c1, c2, c3, c4], '
                     'got {}'.format(neck_name, in_channels))


def check_feats(feats, neck_name):
    if len(feats) != 4:
        raise ValueError('{} expects the 4 backbone features [c1, c2, c3, c4], got {}'.format(
            neck_name, len(feats)))


@manager.MODELS.add_component
class JointPyramidUpsampling(nn.Layer):
    """JPU: fuse c2, c3, c4 of a stride-32 backbone into one stride-8 feature.

    As the official ``JPU``: ``conv5``/``conv4``/``conv3`` (conv3x3-BN-ReLU to
    ``width``) on c4/c3/c2; the c4 and c3 maps are resized bilinearly
    (align_corners=True) to c2's size and concatenated in the order
    [c4, c3, c2]; four branches ``dilation1..4`` (separable conv at dilation
    1/2/4/8 -> BN -> ReLU) read the concatenation and their outputs are
    concatenated.

    Args:
        in_channels (list[int]): channels of [c2, c3, c4] (or of [c1, c2, c3,
            c4], which also fills ``out_channels[0]``).
        width (int): channels of each conv and branch; the output has
            ``4 * width``.

    Shapes:
        feats: [c1, c2, c3, c4], c2 [N, in_channels[-3], H/8, W/8], c3 and c4 at
        any smaller size -> [c1, c2, c3, fused [N, 4 * width, H/8, W/8]].

    Attributes:
        out_channels (list): channels of the four outputs (the first is None
            when ``in_channels`` does not include c1).
    """

    def __init__(self, in_channels=(512, 1024, 2048), width=512):
        super().__init__()
        c1_channels, (c2_channels, c3_channels, c4_channels) = split_in_channels(
            in_channels, 'JointPyramidUpsampling')
        self.conv5 = ConvBNReLU(c4_channels, width, 3)
        self.conv4 = ConvBNReLU(c3_channels, width, 3)
        self.conv3 = ConvBNReLU(c2_channels, width, 3)
        for i, dilation in enumerate(JPU_DILATIONS, 1):
            branch = nn.Sequential(
                SeparableConv2D(3 * width, width, dilation=dilation),
                nn.BatchNorm2D(width),
                nn.ReLU())
            setattr(self, 'dilation{}'.format(i), branch)
        self.out_channels = [c1_channels, c2_channels, c3_channels, len(JPU_DILATIONS) * width]

    def forward(self, feats):
        check_feats(feats, 'JointPyramidUpsampling')
        c1, c2, c3, c4 = feats
        low = self.conv3(c2)
        size = paddle.shape(low)[2:]
        fused = paddle.concat([resize_align_corners(self.conv5(c4), size),
                               resize_align_corners(self.conv4(c3), size),
                               low], axis=1)
        branches = [getattr(self, 'dilation{}'.format(i))(fused)
                    for i in range(1, len(JPU_DILATIONS) + 1)]
        return [c1, c2, c3, paddle.concat(branches, axis=1)]
