"""The ResNet bottleneck block of the official FastFCN backbone."""
import paddle
import paddle.nn as nn


def he_conv(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1):
    """Conv2D without bias, weights ~ N(0, sqrt(2 / (k * k * out_channels))).

    The official ResNet init (He, fan-out). Paddle's ``KaimingNormal`` takes the
    fan as ``fan_in``; passing the fan-out there gives the same distribution,
    set at creation so the weights are drawn once (drawing them is the bulk of
    the build time of a ResNet-101 on CPU).
    """
    fan_out = kernel_size * kernel_size * out_channels
    init = paddle.ParamAttr(initializer=nn.initializer.KaimingNormal(fan_in=fan_out))
    return nn.Conv2D(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                     dilation=dilation, weight_attr=init, bias_attr=False)


class Bottleneck(nn.Layer):
    """1x1 -> 3x3 (carries stride and dilation) -> 1x1 residual block, expansion 4.

    Sub-layer names (``conv1, bn1, conv2, bn2, conv3, bn3, downsample.0,
    downsample.1``) are those of the official PyTorch block, so an official
    checkpoint converts by renaming BN statistics only.

    Args:
        in_channels (int): input channels.
        planes (int): width of the 3x3 conv; the block outputs ``4 * planes``.
        stride (int): stride of the 3x3 conv (and of the shortcut projection).
        dilation (int): dilation (= padding) of the 3x3 conv.
        downsample (nn.Layer | None): shortcut projection (conv1x1 + BN); None
            means identity.

    Shapes:
        x: [N, in_channels, H, W] -> [N, 4 * planes, H / stride, W / stride]
    """
    expansion = 4

    def __init__(self, in_channels, planes, stride=1, dilation=1, downsample=None):
        super().__init__()
        self.conv1 = he_conv(in_channels, planes, 1)
        self.bn1 = nn.BatchNorm2D(planes)
        self.conv2 = he_conv(planes, planes, 3, stride=stride, padding=dilation, dilation=dilation)
        self.bn2 = nn.BatchNorm2D(planes)
        self.conv3 = he_conv(planes, planes * self.expansion, 1)
        self.bn3 = nn.BatchNorm2D(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(out + shortcut)
