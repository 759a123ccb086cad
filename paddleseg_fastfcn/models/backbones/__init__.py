"""Backbones, registered in ``manager.BACKBONES``."""
from .bottleneck import Bottleneck
from .deep_stem_resnet import (DeepStemResNet, DeepStemResNet50, DeepStemResNet101, ResNet50V1c, ResNet101V1c,
                               ResNetV1c, TorchvisionResNet, TorchvisionResNet50, TorchvisionResNet101)
