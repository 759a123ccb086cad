"""paddleseg-fastfcn: FastFCN (Joint Pyramid Upsampling) for PaddlePaddle 3.x.

``import paddleseg_fastfcn`` registers the project's models, losses and datasets
in PaddleSeg's component registries.
"""
__version__ = '0.1.0'

from . import models, losses, datasets
