"""PSP head: pyramid pooling (bins 1/2/3/6) followed by a conv classifier."""
import paddle
import paddle.nn as nn
from paddleseg.cvlibs import manager

from paddleseg_fastfcn.models.layers import ConvBNReLU, adaptive_avg_pool
from paddleseg_fastfcn.models.heads.classifier import add_class_conv, classifier_layers
from paddleseg_fastfcn.models.heads.decode_head import DecodeHead
from paddleseg_fastfcn.models.heads.upsample import upsample_pooled


class PyramidPooling(nn.Layer):
    """Pool to each bin size, conv1x1-BN-ReLU, upsample, concat with the input.

    Branches are ``conv1..conv4`` as the official ``PyramidPooling``. The pooling
    is ``adaptive_avg_pool`` (matrix products) because paddle2onnx converts
    Paddle's adaptive pooling wrongly or not at all (see layers/adaptive_pool.py);
    the upsampling is bilinear with align_corners=True, written without oneDNN's
    bilinear_interp (see upsample.py).

    Args:
        in_channels (int): input channels C.
        bin_sizes (tuple[int]): output sizes of the adaptive average pools.

    Shapes:
        x: [N, C, H, W] -> [N, C + len(bin_sizes) * (C // 4), H, W]
    """

    def __init__(self, in_channels, bin_sizes=(1, 2, 3, 6)):
        super().__init__()
        self.bin_sizes = tuple(bin_sizes)
        self.out_channels = in_channels + len(self.bin_sizes) * (in_channels // 4)
        for i, _ in enumerate(self.bin_sizes, 1):
            setattr(self, 'conv{}'.format(i), ConvBNReLU(in_channels, in_channels // 4, 1))

    def forward(self, x):
        size = paddle.shape(x)[2:]
        branches = [x]
        for i, bins in enumerate(self.bin_sizes, 1):
            pooled = adaptive_avg_pool(x, bins)
            branches.append(upsample_pooled(getattr(self, 'conv{}'.format(i))(pooled), size))
        return paddle.concat(branches, axis=1)


@manager.MODELS.add_component
class PSPHead(DecodeHead):
    """PSPNet head as in the official FastFCN ``PSPHead``.

    ``conv5`` = [PyramidPooling, conv3x3 (2C -> C/4, no bias), BN, ReLU,
    Dropout2D, conv1x1 (-> num_classes, with bias)]; the positions match the
    official ``nn.Sequential`` (checkpoint keys ``conv5.0.conv1.0``, ``conv5.1``,
    ``conv5.2``, ``conv5.5``).

    Args:
        num_classes (int | None): classes; None = given later by the segmentor
            (``model.num_classes``).
        in_channels (int): channels C of the selected feature (2048).
        channels (int | None): width after the pyramid; None = in_channels // 4.
        bin_sizes (tuple[int]): pyramid pooling sizes.
        dropout_ratio (float): Dropout2D before the classifier.
        in_index (int): which feature of the input list to use.

    Shapes:
        feats: list with feats[in_index] = [N, C, h, w] -> [logits [N, num_classes, h, w]]
    """

    def __init__(self, num_classes=None, in_channels=2048, channels=None, bin_sizes=(1, 2, 3, 6),
                 dropout_ratio=0.1, in_index=-1):
        super().__init__(in_channels, in_index)
        self.channels = channels or in_channels // 4
        pyramid = PyramidPooling(in_channels, bin_sizes)
        self.conv5 = nn.Sequential(
            pyramid, *classifier_layers(pyramid.out_channels, self.channels, dropout_ratio))
        self.set_num_classes(num_classes)

    def build_class_layers(self, num_classes):
        add_class_conv(self.conv5, self.channels, num_classes)

    def forward(self, feats):
        return [self.conv5(self.select_input(feats))]
