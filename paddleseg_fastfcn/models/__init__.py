"""Models. Importing this package registers every component in PaddleSeg's
``manager`` registries (BACKBONES for backbones, MODELS for necks, heads and
segmentors), so PaddleSeg's ``Config`` + ``SegBuilder`` build them from YAML."""
from . import layers, backbones, necks, heads, segmentors
