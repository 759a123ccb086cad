"""ResNet-50/101 backbones: the official FastFCN deep stem ("v1s") and the stems of other ImageNet weights.

One ResNet body (bottleneck stages ``layer1..4``, stride on the 3x3 conv); the
subclasses change only the stem, so that each family of published ImageNet
weights loads by name: the official 64-64-128 deep stem (:class:`DeepStemResNet`),
mmsegmentation's ResNetV1c 32-32-64 deep stem (:class:`ResNetV1c`) and
torchvision's v1.5 7x7 stem (:class:`TorchvisionResNet`).
"""
import paddle.nn as nn
from paddleseg.cvlibs import manager

from paddleseg_fastfcn.models.backbones.bottleneck import Bottleneck, he_conv
from paddleseg_fastfcn.utils.weights import load_backbone_weights

BLOCKS_PER_STAGE = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}

# (stride, dilation) of layer3 and layer4 for each output stride. A dilated
# stage starts with one block at half its dilation (official `_make_layer`),
# so the dilation grows 1 -> 2 -> 4 without a jump from 1 to 4.
STAGE_SETTINGS = {
    32: ((2, 1), (2, 1)),
    16: ((2, 1), (1, 2)),
    8: ((1, 2), (1, 4)),
}


class DeepStemResNet(nn.Layer):
    """ResNet with the three-conv 64-64-128 stem, as in the official FastFCN.

    Stem: conv3x3(in->64, s2)-BN-ReLU, conv3x3(64->64)-BN-ReLU,
    conv3x3(64->128), then ``bn1``-ReLU and maxpool 3x3/2. Stages ``layer1..4``
    of :class:`Bottleneck` blocks; stride sits on the 3x3 conv and the shortcut
    projection is conv1x1(stride)+BN (no average pooling, unlike ``ResNet*_vd``).
    Sub-layer names mirror the official module (``conv1.{0,1,3,4,6}``, ``bn1``,
    ``layer1..4``), without the ImageNet ``fc``. Init as the official: conv
    weights He-normal over the fan-out, BN scale 1 and shift 0.

    Args:
        depth (int): 50 or 101.
        output_stride (int): 32 (plain, used with JPU), 16 or 8 (dilated
            baseline: layer3 dilation 2, layer4 dilation 4).
        in_channels (int): image channels.
        pretrained (str | None): local path or URL of a state dict with this
            layer's parameter names, or of a PyTorch ImageNet file of its family
            (``utils.weights.load_backbone_weights``).

    Shapes:
        x: [N, in_channels, H, W] -> [c1, c2, c3, c4] with
        ``feat_channels = [256, 512, 1024, 2048]`` channels at strides
        4/8/16/32 (output_stride 8: 4/8/8/8).
    """

    def __init__(self, depth=50, output_stride=32, in_channels=3, pretrained=None):
        super().__init__()
        if depth not in BLOCKS_PER_STAGE:
            raise ValueError('{}: depth must be one of {}, got {}'.format(
                type(self).__name__, sorted(BLOCKS_PER_STAGE), depth))
        if output_stride not in STAGE_SETTINGS:
            raise ValueError('{}: output_stride must be one of {}, got {}'.format(
                type(self).__name__, sorted(STAGE_SETTINGS), output_stride))
        self.depth = depth
        self.output_stride = output_stride
        self._in_channels = self._make_stem(in_channels)
        self.maxpool = nn.MaxPool2D(kernel_size=3, stride=2, padding=1)

        blocks = BLOCKS_PER_STAGE[depth]
        (stride3, dilation3), (stride4, dilation4) = STAGE_SETTINGS[output_stride]
        self.layer1 = self._make_stage(64, blocks[0], stride=1, dilation=1)
        self.layer2 = self._make_stage(128, blocks[1], stride=2, dilation=1)
        self.layer3 = self._make_stage(256, blocks[2], stride=stride3, dilation=dilation3)
        self.layer4 = self._make_stage(512, blocks[3], stride=stride4, dilation=dilation4)
        self.feat_channels = [256, 512, 1024, 2048]
        if pretrained:
            load_backbone_weights(self, pretrained)

    def _make_stem(self, in_channels):
        """Create the stem's sub-layers; returns its output channels."""
        self.conv1 = nn.Sequential(
            he_conv(in_channels, 64, 3, stride=2, padding=1),
            nn.BatchNorm2D(64),
            nn.ReLU(),
            he_conv(64, 64, 3, padding=1),
            nn.BatchNorm2D(64),
            nn.ReLU(),
            he_conv(64, 128, 3, padding=1),
        )
        self.bn1 = nn.BatchNorm2D(128)
        self.relu = nn.ReLU()
        return 128

    def forward_stem(self, x):
        """[N, in_channels, H, W] -> [N, C, H / 2, W / 2] (before the max pool)."""
        return self.relu(self.bn1(self.conv1(x)))

    def _make_stage(self, planes, num_blocks, stride, dilation):
        out_channels = planes * Bottleneck.expansion
        downsample = None
        if stride != 1 or self._in_channels != out_channels:
            downsample = nn.Sequential(
                he_conv(self._in_channels, out_channels, 1, stride=stride),
                nn.BatchNorm2D(out_channels))
        first_dilation = max(1, dilation // 2)
        layers = [Bottleneck(self._in_channels, planes, stride, first_dilation, downsample)]
        self._in_channels = out_channels
        layers += [Bottleneck(out_channels, planes, 1, dilation) for _ in range(1, num_blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.forward_stem(x))
        c1 = self.layer1(x)
        c2 = self.layer2(c1)
        c3 = self.layer3(c2)
        c4 = self.layer4(c3)
        return [c1, c2, c3, c4]


class ResNetV1c(DeepStemResNet):
    """ResNet with mmsegmentation's ResNetV1c stem (deep stem 32-32-64), else as :class:`DeepStemResNet`.

    Stem ``stem.{0..8}``: conv3x3(in->32, s2)-BN-ReLU, conv3x3(32->32)-BN-ReLU,
    conv3x3(32->64)-BN-ReLU; ``layer1`` starts from 64 channels. The names are
    mmseg's (``stem.0/1/3/4/6/7``, ``layerN.M.conv1..bn3``, ``downsample.0/1``), so
    ``resnet50_v1c-2cccc1ad.pth`` / ``resnet101_v1c-e67eebb6.pth`` load by name
    (see ``paddleseg_fastfcn.utils.torch_checkpoint.IMAGENET_FAMILIES``).
    """

    def _make_stem(self, in_channels):
        layers = []
        for index, (cin, cout) in enumerate(((in_channels, 32), (32, 32), (32, 64))):
            layers += [he_conv(cin, cout, 3, stride=2 if index == 0 else 1, padding=1),
                       nn.BatchNorm2D(cout), nn.ReLU()]
        self.stem = nn.Sequential(*layers)
        return 64

    def forward_stem(self, x):
        return self.stem(x)


class TorchvisionResNet(DeepStemResNet):
    """ResNet with torchvision's v1.5 stem (one 7x7 conv), else as :class:`DeepStemResNet`.

    Stem: conv7x7(in->64, s2) ``conv1``, ``bn1``, ReLU; ``layer1`` starts from 64
    channels. torchvision's ResNet-50/101 (``resnet50-0676ba61.pth``,
    ``resnet101-63fe2227.pth``) load by name, without their ``fc``.
    """

    def _make_stem(self, in_channels):
        self.conv1 = he_conv(in_channels, 64, 7, stride=2, padding=3)
        self.bn1 = nn.BatchNorm2D(64)
        self.relu = nn.ReLU()
        return 64


@manager.BACKBONES.add_component
def DeepStemResNet50(**kwargs):
    """Deep-stem ResNet-50; keyword arguments as :class:`DeepStemResNet`."""
    return DeepStemResNet(depth=50, **kwargs)


@manager.BACKBONES.add_component
def DeepStemResNet101(**kwargs):
    """Deep-stem ResNet-101; keyword arguments as :class:`DeepStemResNet`."""
    return DeepStemResNet(depth=101, **kwargs)


@manager.BACKBONES.add_component
def ResNet50V1c(**kwargs):
    """mmseg ResNetV1c-50; keyword arguments as :class:`DeepStemResNet`."""
    return ResNetV1c(depth=50, **kwargs)


@manager.BACKBONES.add_component
def ResNet101V1c(**kwargs):
    """mmseg ResNetV1c-101; keyword arguments as :class:`DeepStemResNet`."""
    return ResNetV1c(depth=101, **kwargs)


@manager.BACKBONES.add_component
def TorchvisionResNet50(**kwargs):
    """torchvision ResNet-50 (v1.5); keyword arguments as :class:`DeepStemResNet`."""
    return TorchvisionResNet(depth=50, **kwargs)


@manager.BACKBONES.add_component
def TorchvisionResNet101(**kwargs):
    """torchvision ResNet-101 (v1.5); keyword arguments as :class:`DeepStemResNet`."""
    return TorchvisionResNet(depth=101, **kwargs)
