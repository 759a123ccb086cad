"""Argument and input checks shared by the heads."""


def check_in_index(in_index, head_name):
    """``in_index`` as an int; a clear error for anything else."""
    if isinstance(in_index, bool) or not isinstance(in_index, int):
        raise TypeError('{}: in_index must be an int (position in the feature list), got {!r}'.format(
            head_name, in_index))
    return in_index


def select_feature(feats, in_index, head_name):
    """``feats[in_index]``; heads take the backbone / neck output list."""
    if not isinstance(feats, (list, tuple)):
        raise TypeError('{} expects a list of feature maps, got {}'.format(head_name, type(feats).__name__))
    if not -len(feats) <= in_index < len(feats):
        raise IndexError('{}: in_index {} is out of range for {} input features'.format(
            head_name, in_index, len(feats)))
    return feats[in_index]
