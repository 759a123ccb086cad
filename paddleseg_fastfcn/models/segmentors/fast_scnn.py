"""Fast-SCNN as PaddleSeg 2.8 defines it, with the pieces that break export replaced.

PaddleSeg's ``FastSCNN`` (paddleseg/models/fast_scnn.py) trains here, but three of
its ops are wrong or refused in deployment:

- ``F.interpolate`` bilinear resizes: the feature-fusion upsampling and the
  final / auxiliary logits use ``align_corners=False``, the pyramid pooling
  branches ``align_corners=True``. Paddle Inference 3.3.1's oneDNN
  ``bilinear_interp`` refuses to run either mode (3.0-3.2 gave wrong outputs).
- ``nn.AdaptiveAvgPool2D`` with bins 2, 3 and 6 in the pyramid pooling:
  paddle2onnx 2.1.0 converts it wrongly or not at all.

They are replaced by the project's exact matrix-product versions
(``resize_bilinear``, ``adaptive_avg_pool``, ``upsample_pooled``). Everything else
(learning-to-downsample, inverted bottlenecks, classifier, auxiliary layer) is
PaddleSeg's own code, and every parameter keeps PaddleSeg's name, so PaddleSeg's
Fast-SCNN weights load unchanged. The same definition serves training and export.
"""
import paddle
import paddle.nn.functional as F
from paddleseg.cvlibs import manager
from paddleseg.models.fast_scnn import FastSCNN, FeatureFusionModule
from paddleseg.models.layers import PPModule

from paddleseg_fastfcn.models.heads.upsample import upsample_pooled
from paddleseg_fastfcn.models.layers import adaptive_avg_pool, resize_bilinear
from paddleseg_fastfcn.utils.weights import load_warm_start

# Widths FastSCNN.__init__ gives its pyramid pooling and feature fusion modules.
HIGH_RES_CHANNELS = 64
LOW_RES_CHANNELS = 128
PYRAMID_BINS = (1, 2, 3, 6)


class MatmulPPModule(PPModule):
    """PaddleSeg's ``PPModule`` with pooling and upsampling as matrix products.

    Each ``stages[i]`` stays PaddleSeg's ``Sequential(AdaptiveAvgPool2D, ConvBNReLU)``
    (same parameter names); only ``stages[i][1]`` runs, after ``adaptive_avg_pool``.

    Shapes:
        input: [N, C, H, W] -> [N, out_channels, H, W]
    """

    def forward(self, input):
        size = paddle.shape(input)[2:]
        branches = [upsample_pooled(stage[1](adaptive_avg_pool(input, bins)), size, self.align_corners)
                    for stage, bins in zip(self.stages, self.bin_sizes)]
        # PaddleSeg's order: the input, then the branches from the largest bin size down.
        return self.conv_bn_relu2(paddle.concat([input] + branches[::-1], axis=1))


class MatmulFeatureFusionModule(FeatureFusionModule):
    """PaddleSeg's ``FeatureFusionModule`` with the low-resolution upsampling as ``resize_bilinear``.

    Shapes:
        high_res_input: [N, 64, H, W], low_res_input: [N, 128, h, w] -> [N, 128, H, W]
    """

    def forward(self, high_res_input, low_res_input):
        low = resize_bilinear(low_res_input, paddle.shape(high_res_input)[2:], self.align_corners)
        low = self.conv_low_res(self.dwconv(low))
        return F.relu(self.conv_high_res(high_res_input) + low)


@manager.MODELS.add_component
class ExportableFastSCNN(FastSCNN):
    """PaddleSeg's Fast-SCNN that exports exactly to Paddle Inference (oneDNN on or off) and ONNX.

    Args:
        num_classes (int): classes.
        in_channels (int): image channels.
        enable_auxiliary_loss (bool): in training, also return the auxiliary
            logits of the learning-to-downsample features.
        align_corners (bool): mode of the feature-fusion and logit resizes, as in
            PaddleSeg (the pyramid pooling always uses True, as PaddleSeg does).
        pretrained (str | None): path or URL of a whole-model ``.pdparams``
            (PaddleSeg's Fast-SCNN checkpoints fit).

    Shapes:
        x: [N, in_channels, H, W] -> training: [logits, aux logits] (aux only when
        enabled), eval: [logits], each [N, num_classes, H, W]. PaddleSeg also
        returns the aux logits in eval; nothing uses them there, and the export
        then carries no dead branch.
    """

    def __init__(self, num_classes, in_channels=3, enable_auxiliary_loss=True, align_corners=False,
                 pretrained=None):
        super().__init__(num_classes, in_channels, enable_auxiliary_loss, align_corners, pretrained=None)
        # Same arguments as FastSCNN.__init__ / GlobalFeatureExtractor.__init__ give the originals.
        self.global_feature_extractor.ppm = MatmulPPModule(
            LOW_RES_CHANNELS, LOW_RES_CHANNELS, bin_sizes=PYRAMID_BINS, dim_reduction=True,
            align_corners=True)
        self.feature_fusion = MatmulFeatureFusionModule(
            HIGH_RES_CHANNELS, LOW_RES_CHANNELS, LOW_RES_CHANNELS, align_corners)
        self.pretrained = pretrained
        # A warm start from a related model (rule: non-strict); `scratch`: random on purpose.
        load_warm_start(self, pretrained, key='model.pretrained')

    def forward(self, x):
        size = paddle.shape(x)[2:]
        high_res = self.learning_to_downsample(x)
        fused = self.feature_fusion(high_res, self.global_feature_extractor(high_res))
        logits = [resize_bilinear(self.classifier(fused), size, self.align_corners)]
        if self.training and self.enable_auxiliary_loss:
            logits.append(resize_bilinear(self.auxlayer(high_res), size, self.align_corners))
        return logits
