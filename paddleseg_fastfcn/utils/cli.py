"""argparse value types shared by the command-line scripts."""
import argparse
import os


def str2bool(value):
    """``True`` / ``False`` from PaddleSeg-style flags (``--use_trt True``, ``--onnx false``, ``1`` ...)."""
    if isinstance(value, bool):
        return value
    if value.lower() in ('true', 't', 'yes', 'y', '1'):
        return True
    if value.lower() in ('false', 'f', 'no', 'n', '0'):
        return False
    raise argparse.ArgumentTypeError('expected True or False, got {!r}'.format(value))


# Range and existence types: argparse turns an ArgumentTypeError into
# "argument --iters: must be >= 1, got -5" and exit status 2, before any work starts.

def _number(text, kind):
    try:
        return kind(text)
    except ValueError:
        word = 'an integer' if kind is int else 'a number'
        raise argparse.ArgumentTypeError('expected {}, got {!r}'.format(word, text)) from None


def int_range(minimum=None, maximum=None):
    """An argparse type: an int in ``[minimum, maximum]`` (None: unbounded)."""
    def parse(text):
        value = _number(text, int)
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError('must be >= {}, got {}'.format(minimum, value))
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError('must be <= {}, got {}'.format(maximum, value))
        return value
    parse.__name__ = 'int_range'
    return parse


positive_int = int_range(1)
positive_int.__name__ = 'positive_int'
non_negative_int = int_range(0)
non_negative_int.__name__ = 'non_negative_int'


def positive_float(text):
    """An argparse type: a finite float > 0 (learning rates, timeouts, tolerances)."""
    value = _number(text, float)
    if not 0 < value < float('inf'):
        raise argparse.ArgumentTypeError('must be > 0, got {}'.format(text))
    return value


def fraction(text):
    """An argparse type: a float in [0, 1) (a share of a set that leaves some behind)."""
    value = _number(text, float)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError('must be in [0, 1), got {}'.format(text))
    return value


def existing_file(text):
    """An argparse type: the path of a file that exists."""
    if not os.path.isfile(text):
        what = 'is a folder, not a file' if os.path.isdir(text) else 'file not found'
        raise argparse.ArgumentTypeError('{}: {}'.format(what, text))
    return text


def existing_dir(text):
    """An argparse type: the path of a folder that exists."""
    if not os.path.isdir(text):
        what = 'is a file, not a folder' if os.path.isfile(text) else 'folder not found'
        raise argparse.ArgumentTypeError('{}: {}'.format(what, text))
    return text


def output_dir(text):
    """An argparse type: a folder to write into (created later); refuses an existing file."""
    if os.path.isfile(text):
        raise argparse.ArgumentTypeError('is a file, not a folder: {}'.format(text))
    return text


def existing_path(text):
    """An argparse type: a file or folder that exists."""
    if not os.path.exists(text):
        raise argparse.ArgumentTypeError('no such file or folder: {}'.format(text))
    return text


def or_keyword(keyword, parse):
    """An argparse type: ``keyword`` as is, anything else through ``parse`` (e.g. ``auto``)."""
    def parse_or_keyword(text):
        return text if text == keyword else parse(text)
    parse_or_keyword.__name__ = parse.__name__
    return parse_or_keyword
