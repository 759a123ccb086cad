"""EncNet head: context encoding with channel gating and the SE-loss branch."""
import paddle.nn as nn
import paddle.nn.functional as F
from paddleseg.cvlibs import manager

from paddleseg_fastfcn.models.layers import ConvBNReLU, EncodingLayer
from paddleseg_fastfcn.models.heads.checks import check_in_index, select_feature


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
        num_classes (int): outputs of ``selayer``.
        num_codes (int): codewords K.
        use_se_loss (bool): build ``selayer``.

    Shapes:
        x: [N, C, H, W] -> (gated [N, C, H, W], se_logits [N, num_classes] or None)
    """

    def __init__(self, in_channels, num_classes, num_codes=32, use_se_loss=True):
        super().__init__()
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
        if use_se_loss:
            self.selayer = nn.Linear(in_channels, num_classes)

    def forward(self, x, with_se=True):
        context = self.encoding(x).mean(axis=1)                 # [N, C]
        gamma = self.fc(context).unsqueeze([2, 3])              # [N, C, 1, 1]
        gated = F.relu(x + x * gamma)
        se_logits = self.selayer(context) if (self.use_se_loss and with_se) else None
        return gated, se_logits


@manager.MODELS.add_component
class EncHead(nn.Layer):
    """EncNet head (official ``EncHead`` without the unused lateral branch).

    ``conv5`` reduces the feature to 512 channels (conv1x1 on the JPU feature,
    conv3x3 on a dilated backbone's c4, as the official code), ``encmodule``
    gates it with the encoded context, ``conv6`` = Dropout2D -> conv1x1 with bias
    classifies.

    Args:
        num_classes (int): classes.
        in_channels (int): channels of the selected feature (2048 for JPU / c4).
        channels (int): width of the head (512 in the paper).
        num_codes (int): codewords K of the Encoding layer (32).
        use_se_loss (bool): also return SE logits in training.
        use_jpu (bool): conv5 is 1x1 (True, on the JPU output) or 3x3 (False,
            the dilated output-stride-8 baseline).
        dropout_ratio (float): Dropout2D before the classifier.
        in_index (int): which feature of the input list to use.

    Shapes:
        feats: list with feats[in_index] = [N, in_channels, h, w] ->
        training with use_se_loss: [logits [N, num_classes, h, w], se_logits [N, num_classes]];
        otherwise [logits [N, num_classes, h, w]].
    """

    def __init__(self, num_classes, in_channels=2048, channels=512, num_codes=32,
                 use_se_loss=True, use_jpu=True, dropout_ratio=0.1, in_index=-1):
        super().__init__()
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.in_index = check_in_index(in_index, 'EncHead')
        self.use_se_loss = use_se_loss
        self.conv5 = ConvBNReLU(in_channels, channels, 1 if use_jpu else 3)
        self.encmodule = EncModule(channels, num_classes, num_codes, use_se_loss)
        self.conv6 = nn.Sequential(nn.Dropout2D(dropout_ratio),
                                   nn.Conv2D(channels, num_classes, 1))

    def forward(self, feats):
        x = self.conv5(select_feature(feats, self.in_index, 'EncHead'))
        gated, se_logits = self.encmodule(x, with_se=self.training)
        logits = self.conv6(gated)
        if se_logits is not None:
            return [logits, se_logits]
        return [logits]
