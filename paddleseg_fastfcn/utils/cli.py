"""argparse value types shared by the command-line scripts."""
import argparse


def str2bool(value):
    """``True`` / ``False`` from PaddleSeg-style flags (``--use_trt True``, ``--onnx false``, ``1`` ...)."""
    if isinstance(value, bool):
        return value
    if value.lower() in ('true', 't', 'yes', 'y', '1'):
        return True
    if value.lower() in ('false', 'f', 'no', 'n', '0'):
        return False
    raise argparse.ArgumentTypeError('expected True or False, got {!r}'.format(value))
