"""paddleseg-fastfcn: FastFCN (Joint Pyramid Upsampling) for PaddlePaddle 3.x.

``import paddleseg_fastfcn`` registers the project's models, losses and datasets
in PaddleSeg's component registries, and routes every weight / config file a
component can read through the project's safe readers (``utils.load_guard``).
"""
__version__ = '0.1.0'

from .utils.cpu_tuning import use_fast_mkl_path_on_amd

# Before any Paddle computation: MKL reads the variable at its first call.
use_fast_mkl_path_on_amd()

from . import models, losses, datasets  # noqa: E402  (registration)

from .utils import load_guard  # noqa: E402

load_guard.install()
