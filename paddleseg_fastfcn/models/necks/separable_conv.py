"""Depthwise-separable 3x3 convolution as used inside the JPU branches."""
import paddle.nn as nn


class SeparableConv2D(nn.Layer):
    """Depthwise conv3x3 (dilated) -> norm -> pointwise conv1x1, no activation.

    Sub-layer names ``conv1`` (depthwise), ``bn`` and ``pointwise`` mirror the
    official ``SeparableConv2d``. Neither conv has a bias.

    Args:
        in_channels (int): input channels (= depthwise groups).
        out_channels (int): output channels of the pointwise conv.
        dilation (int): dilation (and padding) of the depthwise conv.
        norm (callable): ``norm(num_channels) -> nn.Layer`` applied between the
            two convs (BatchNorm2D in JPU, GroupNorm(32) in JPU_X).

    Shapes:
        x: [N, in_channels, H, W] -> [N, out_channels, H, W]
    """

    def __init__(self, in_channels, out_channels, dilation=1, norm=nn.BatchNorm2D):
        super().__init__()
        self.conv1 = nn.Conv2D(in_channels, in_channels, 3, padding=dilation, dilation=dilation,
                               groups=in_channels, bias_attr=False)
        self.bn = norm(in_channels)
        self.pointwise = nn.Conv2D(in_channels, out_channels, 1, bias_attr=False)

    def forward(self, x):
        return self.pointwise(self.bn(self.conv1(x)))
