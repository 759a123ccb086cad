"""Backbones, registered in ``manager.BACKBONES``."""
from .bottleneck import Bottleneck
from .deep_stem_resnet import DeepStemResNet, DeepStemResNet50, DeepStemResNet101
