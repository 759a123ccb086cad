"""The conv3x3-BN-ReLU -> Dropout2D -> conv1x1 tail that ends the FCN, PSP and ASPP heads."""
import paddle.nn as nn

from paddleseg_fastfcn.models.layers import ConvBNReLU


def classifier_layers(in_channels, channels, num_classes, dropout_ratio):
    """The tail as a list of layers, so a head can splice it into its own
    ``Sequential`` at the positions the official checkpoint names use.

    Shapes:
        x: [N, in_channels, h, w] -> [N, num_classes, h, w]
    """
    return [*ConvBNReLU(in_channels, channels, 3).children(),
            nn.Dropout2D(dropout_ratio),
            nn.Conv2D(channels, num_classes, 1)]
