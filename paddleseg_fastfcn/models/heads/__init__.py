"""Segmentation heads, registered in ``manager.MODELS``.

Every head is a ``DecodeHead``: it takes the list of backbone / neck features,
uses ``feats[in_index]`` and returns a list whose first item is the logits at
that feature's resolution, followed in training by the extras its
``output_names`` declare.
"""
from .decode_head import DecodeHead
from .enc_head import EncHead, EncModule
from .psp_head import PSPHead, PyramidPooling
from .aspp_head import ASPPHead, ASPPModule, ASPPPooling
from .fcn_head import FCNAuxHead
