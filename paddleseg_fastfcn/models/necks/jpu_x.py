"""JPU_X: the cascaded variant of JPU from the official master branch."""
import paddle.nn as nn
from paddleseg.cvlibs import manager

from paddleseg_fastfcn.models.necks.jpu import check_feats, split_in_channels
from paddleseg_fastfcn.models.necks.jum import JointUpsamplingModule


@manager.MODELS.add_component
class JPUX(nn.Layer):
    """Two cascaded joint upsampling modules (official ``JPU_X``).

    ``jum_1`` fuses c3 into c2 (width // 2, dilations 1/2/4); ``jum_2`` fuses
    c4 into that result (width, dilations 2/4/8). The official code sizes
    ``jum_2``'s high-resolution input as ``in_channels[1]``, which equals
    ``jum_1``'s output (2 * width) only for the default widths; the actual
    output width is used here, identical for the defaults.

    Args:
        in_channels (list[int]): channels of [c2, c3, c4] (or [c1, c2, c3, c4]).
        width (int): channels of ``jum_2``; the output has ``4 * width``.

    Shapes:
        feats: [c1, c2, c3, c4], c2 [N, C2, H/8, W/8] -> [c1, c2, c3,
        fused [N, 4 * width, H/8, W/8]].

    Attributes:
        out_channels (list): channels of the four outputs (first None when
            ``in_channels`` does not include c1).
    """

    def __init__(self, in_channels=(512, 1024, 2048), width=512):
        super().__init__()
        c1_channels, (c2_channels, c3_channels, c4_channels) = split_in_channels(in_channels, 'JPUX')
        self.jum_1 = JointUpsamplingModule(c3_channels, c2_channels, width // 2, dilation=1)
        self.jum_2 = JointUpsamplingModule(c4_channels, self.jum_1.out_channels, width, dilation=2)
        self.out_channels = [c1_channels, c2_channels, c3_channels, self.jum_2.out_channels]

    def forward(self, feats):
        check_feats(feats, 'JPUX')
        c1, c2, c3, c4 = feats
        fused = self.jum_2(c4, self.jum_1(c3, c2))
        return [c1, c2, c3, fused]
