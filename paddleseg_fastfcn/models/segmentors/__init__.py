"""Segmentors, registered in ``manager.MODELS``."""
from .fastfcn_segmentor import FastFCNSegmentor
from .fast_scnn import ExportableFastSCNN
