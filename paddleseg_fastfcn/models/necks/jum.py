"""Joint Upsampling Module (JUM), the building block of JPU_X."""
import paddle
import paddle.nn as nn

from paddleseg_fastfcn.models.layers import ConvBNReLU, resize_align_corners
from paddleseg_fastfcn.models.necks.separable_conv import SeparableConv2D

GROUP_NORM_GROUPS = 32
JUM_DILATION_FACTORS = (1, 2, 4)


def group_norm(num_channels):
    return nn.GroupNorm(GROUP_NORM_GROUPS, num_channels)


class JointUpsamplingModule(nn.Layer):
    """Fuse a low-resolution map into a high-resolution one (official ``JUM``).

    ``conv_l`` / ``conv_h`` (conv3x3-BN-ReLU to ``width``) on the low- and
    high-resolution inputs; the low one is resized (bilinear, align_corners=True)
    to the high one's size; [low', high'] feed three branches ``dilation1..3``
    (separable conv at ``dilation * (1, 2, 4)`` with GroupNorm(32) inside and
    after -> ReLU); the output is [low', branch1, branch2, branch3].

    Args:
        low_channels (int): channels of the low-resolution input.
        high_channels (int): channels of the high-resolution input.
        width (int): channels of each conv and branch (a multiple of 32).
        dilation (int): base dilation of the branches.

    Shapes:
        x_low: [N, low_channels, h, w], x_high: [N, high_channels, H, W]
        -> [N, 4 * width, H, W]
    """

    def __init__(self, low_channels, high_channels, width, dilation):
        super().__init__()
        self.conv_l = ConvBNReLU(low_channels, width, 3)
        self.conv_h = ConvBNReLU(high_channels, width, 3)
        for i, factor in enumerate(JUM_DILATION_FACTORS, 1):
            branch = nn.Sequential(
                SeparableConv2D(2 * width, width, dilation=factor * dilation, norm=group_norm),
                group_norm(width),
                nn.ReLU())
            setattr(self, 'dilation{}'.format(i), branch)
        self.out_channels = (1 + len(JUM_DILATION_FACTORS)) * width

    def forward(self, x_low, x_high):
        high = self.conv_h(x_high)
        low = resize_align_corners(self.conv_l(x_low), paddle.shape(high)[2:])
        fused = paddle.concat([low, high], axis=1)
        branches = [getattr(self, 'dilation{}'.format(i))(fused)
                    for i in range(1, len(JUM_DILATION_FACTORS) + 1)]
        return paddle.concat([low] + branches, axis=1)
