"""Necks, registered in ``manager.MODELS``."""
from .separable_conv import SeparableConv2D
from .jpu import JointPyramidUpsampling
from .jum import JointUpsamplingModule
from .jpu_x import JPUX
