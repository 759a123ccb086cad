"""The classifier tail of the heads: conv3x3-BN-ReLU -> Dropout2D, then the class conv1x1."""
import paddle.nn as nn

from paddleseg_fastfcn.models.layers import ConvBNReLU


def classifier_layers(in_channels, channels, dropout_ratio):
    """conv3x3-BN-ReLU -> Dropout2D as a list of layers, so a head can splice it into
    its own ``Sequential`` at the positions the official checkpoint names use; the
    class conv follows through ``add_class_conv`` once the class count is known.

    Shapes:
        x: [N, in_channels, h, w] -> [N, channels, h, w]
    """
    return [*ConvBNReLU(in_channels, channels, 3).children(), nn.Dropout2D(dropout_ratio)]


def add_class_conv(sequential, channels, num_classes):
    """Append conv1x1 (with bias) ``channels -> num_classes`` as the next position of ``sequential``."""
    sequential.add_sublayer(str(len(sequential)), nn.Conv2D(channels, num_classes, 1))
