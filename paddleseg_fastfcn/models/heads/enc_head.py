"""EncNet head: context encoding with channel gating and the SE-loss branch."""
import paddle.nn as nn
import paddle.nn.functional as F
from paddleseg.cvlibs import manager

from paddleseg_fastfcn.models.layers import ConvBNReLU, EncodingLayer
from paddleseg_fastfcn.models.heads.classifier import add_class_conv
from paddleseg_fastfcn.models.heads.decode_head import DecodeHead


class EncModule(nn.Layer):
    """Context Encoding Module.

    ``encoding`` = conv1x1 (no bias) -> BN -> ReLU -> EncodingLayer -> BN over
    the K codewords -> ReLU, then the mean over K gives the encoded context ``e``.
    ``x`` is gated channel-wise: ``relu(x + x * sigmoid(fc(e)))``; ``selayer``
    maps ``e`` to per-image class-presence logits for the semantic encoding loss.
    Sub-layer names and positions follow the official ``EncModule``
    (``encoding.{0,1,3,4}``, ``fc.0``, ``selayer``) so checkpoints convert by a
    rename.

    Args:
        in_channels (int): channels C of ``x`` (also the codeword dimension).
        num_classes (int | None): outputs of ``selayer``; None = ``add_selayer`` later.
        num_codes (int): codewords K.
        use_se_loss (bool): build ``selayer`` (and return SE logits).

    Shapes:
        x: [N, C, H, W] -> (gated [N, C, H, W], se_logits [N, num_classes] or None)
    """

    def __init__(self, in_channels, num_classes=None, num_codes=32, use_se_loss=True):
        super().__init__()
        self.in_channels = in_channels
        self.use_se_loss = use_se_loss
        self.encoding = nn.Sequential(
            nn.Conv2D(in_channels, in_channels, 1, bias_attr=False),
            nn.BatchNorm2D(in_channels),
            nn.ReLU(),
            EncodingLayer(in_channels, num_codes),
            # [N, K, C]: BatchNorm1D normalises each codeword k over (N, C).
            nn.BatchNorm1D(num_codes),
            nn.ReLU())
        self.fc = nn.Sequential(nn.Linear(in_channels, in_channels), nn.Sigmoid())
        if use_se_loss and num_classes is not None:
            self.add_selayer(num_classes)

    def add_selayer(self, num_classes):
        """``selayer`` = Linear(C -> num_classes), the SE branch's classifier."""
        self.selayer = nn.Linear(self.in_channels, num_classes)

    def forward(self, x, with_se=True):
        context = self.encoding(x).mean(axis=1)                 # [N, C]
        gamma = self.fc(context).unsqueeze([2, 3])              # [N, C, 1, 1]
        gated = F.relu(x + x * gamma)
        se_logits = self.selayer(context) if (self.use_se_loss and with_se) else None
        return gated, se_logits


@manager.MODELS.add_component
class EncHead(DecodeHead):
    """EncNet head (official ``EncHead`` without the unused lateral branch).

    ``conv5`` reduces the feature to 512 channels (conv1x1 on the JPU feature,
    conv3x3 on a dilated backbone's c4: the official ``jpu`` switch), ``encmodule``
    gates it with the encoded context, ``conv6`` = Dropout2D -> conv1x1 with bias
    classifies.

    Args:
        num_classes (int | None): classes; None = given later by the segmentor
            (``model.num_classes``).
        in_channels (int): channels of the selected feature (2048 for JPU / c4).
        channels (int): width of the head (512 in the paper).
        num_codes (int): codewords K of the Encoding layer (32).
        use_se_loss (bool): also return SE logits in training.
        conv5_kernel_size (int): 1 (on a JPU / JPU_X output) or 3 (on the
            dilated output-stride-8 baseline's c4).
        dropout_ratio (float): Dropout2D before the classifier.
        in_index (int): which feature of the input list to use.

    Shapes:
        feats: list with feats[in_index] = [N, in_channels, h, w] ->
        training with use_se_loss: [logits [N, num_classes, h, w], se_logits [N, num_classes]];
        otherwise [logits [N, num_classes, h, w]].
    """

    def __init__(self, num_classes=None, in_channels=2048, channels=512, num_codes=32,
                 use_se_loss=True, conv5_kernel_size=1, dropout_ratio=0.1, in_index=-1):
        super().__init__(in_channels, in_index)
        if isinstance(conv5_kernel_size, bool) or conv5_kernel_size not in (1, 3):
            raise ValueError('EncHead: conv5_kernel_size must be 1 (JPU feature) or 3 (dilated c4), '
                             'got {!r}'.format(conv5_kernel_size))
        self.channels = channels
        self.use_se_loss = use_se_loss
        self.conv5 = ConvBNReLU(in_channels, channels, conv5_kernel_size)
        self.encmodule = EncModule(channels, None, num_codes, use_se_loss)
        self.conv6 = nn.Sequential(nn.Dropout2D(dropout_ratio))
        self.set_num_classes(num_classes)

    @property
    def output_names(self):
        return ('seg', 'se') if self.use_se_loss else ('seg',)

    def build_class_layers(self, num_classes):
        if self.use_se_loss:
            self.encmodule.add_selayer(num_classes)
        add_class_conv(self.conv6, self.channels, num_classes)

    def forward(self, feats):
        x = self.conv5(self.select_input(feats))
        gated, se_logits = self.encmodule(x, with_se=self.training)
        logits = self.conv6(gated)
        if se_logits is not None:
            return [logits, se_logits]
        return [logits]
