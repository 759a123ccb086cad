"""Losses that work on Paddle 3 (registered in ``paddleseg.cvlibs.manager.LOSSES``)."""
from .cross_entropy import SegCrossEntropyLoss
from .semantic_encoding import SemanticEncodingLoss

__all__ = ['SegCrossEntropyLoss', 'SemanticEncodingLoss']
