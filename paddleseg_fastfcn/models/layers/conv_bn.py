"""Conv-BN(-ReLU) blocks shared by the backbone, necks and heads."""
import paddle.nn as nn


class ConvBNReLU(nn.Sequential):
    """Conv2D (no bias) -> BatchNorm2D -> optional ReLU.

    A ``Sequential`` so that parameter names are ``0.weight``, ``1.weight``,
    ``1._mean`` ..., the same positions as the official ``nn.Sequential(conv, bn,
    relu)`` blocks, which keeps checkpoint conversion a rename.

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        kernel_size (int): square kernel size.
        stride (int): conv stride.
        dilation (int): conv dilation; padding keeps the spatial size at stride 1.
        groups (int): conv groups.
        relu (bool): append a ReLU.

    Shapes:
        x: [N, in_channels, H, W] -> [N, out_channels, H / stride, W / stride]
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1,
                 dilation=1, groups=1, relu=True):
        padding = dilation * (kernel_size - 1) // 2
        layers = [
            nn.Conv2D(in_channels, out_channels, kernel_size, stride=stride,
                      padding=padding, dilation=dilation, groups=groups,
                      bias_attr=False),
            nn.BatchNorm2D(out_channels),
        ]
        if relu:
            layers.append(nn.ReLU())
        super().__init__(*layers)
