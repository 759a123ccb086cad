"""Map official FastFCN (PyTorch) state dicts onto this project's parameter names.

The official repository (wuhuikai/FastFCN) names its modules ``pretrained`` (the
deep-stem ResNet), ``jpu``, ``head`` and ``auxlayer``; this project mirrors every
inner module name on purpose, so a key converts by

* dropping DataParallel's ``module.`` prefixes,
* renaming the top-level module (``pretrained.`` -> ``backbone.``, ``jpu.`` ->
  ``neck.``, ``head.`` -> ``head.``, ``auxlayer.`` -> ``aux_head.``),
* renaming BatchNorm statistics (``running_mean`` -> ``_mean``, ``running_var`` ->
  ``_variance``) and dropping ``num_batches_tracked`` (Paddle keeps no counter),
* transposing Linear weights (PyTorch ``[out, in]``, Paddle ``[in, out]``).

The backbone's ImageNet classifier (``fc``) has no counterpart and is dropped on
purpose. Everything else must match the target model exactly: any key that maps
to nothing, any model key left unfilled and any shape mismatch is an error, and the
error lists all of them.

This module never imports torch: it works on dicts of numpy arrays, and
:func:`read_torch_checkpoint` reads ``.pth`` files through the restricted
unpickler of :mod:`paddleseg_fastfcn.utils.torch_pickle`.
"""
import re
from dataclasses import dataclass, field

import numpy as np
from paddle import nn

from paddleseg_fastfcn.utils.torch_pickle import load_torch_file

# Official top-level module -> this project's FastFCNSegmentor attribute.
SEGMENTOR_PREFIXES = (
    ('pretrained.', 'backbone.'),
    ('jpu.', 'neck.'),
    ('head.', 'head.'),
    ('auxlayer.', 'aux_head.'),
)
BN_STAT_RENAMES = (('.running_mean', '._mean'), ('.running_var', '._variance'))
# (regex on the official key without `module.`, why it is dropped); checked in order.
SEGMENTOR_DROPS = (
    (re.compile(r'(^|\.)num_batches_tracked$'), 'BatchNorm step counter (Paddle keeps none)'),
    (re.compile(r'^pretrained\.fc\.'), 'ImageNet classifier of the backbone (unused by segmentation)'),
)
BACKBONE_DROPS = (
    (re.compile(r'(^|\.)num_batches_tracked$'), 'BatchNorm step counter (Paddle keeps none)'),
    (re.compile(r'^fc\.'), 'ImageNet classifier (no counterpart in the backbone)'),
)



@dataclass(frozen=True)
class ImageNetFamily:
    """A family of published ImageNet ResNet files and the backbone that takes their names.

    Every family converts with the same backbone-only rules (BN statistics renamed,
    ``fc`` and ``num_batches_tracked`` dropped): each backbone keeps its family's
    parameter names. ``stem_key`` / ``stem_shape`` tell the families apart.
    """
    name: str
    stem_key: str
    stem_shape: tuple
    backbones: tuple  # manager.BACKBONES names for depth 50 and 101
    files: tuple  # published file names (torch hub style: <name>-<sha256 prefix>.pth)


IMAGENET_FAMILIES = (
    ImageNetFamily('official FastFCN deep stem 64-64-128', 'conv1.0.weight', (64, 3, 3, 3),
                   ('DeepStemResNet50', 'DeepStemResNet101'), ('resnet50-ebb6acbb.pth', 'resnet101-2a57e44d.pth')),
    ImageNetFamily('mmsegmentation ResNetV1c, deep stem 32-32-64', 'stem.0.weight', (32, 3, 3, 3),
                   ('ResNet50V1c', 'ResNet101V1c'), ('resnet50_v1c-2cccc1ad.pth', 'resnet101_v1c-e67eebb6.pth')),
    ImageNetFamily('torchvision v1.5, 7x7 stem', 'conv1.weight', (64, 3, 7, 7),
                   ('TorchvisionResNet50', 'TorchvisionResNet101'), ('resnet50-0676ba61.pth', 'resnet101-63fe2227.pth')),
)


def imagenet_family(source):
    """The :class:`ImageNetFamily` whose stem ``source`` (a backbone state dict) has, or None."""
    for family in IMAGENET_FAMILIES:
        if family.stem_key in source and tuple(np.shape(source[family.stem_key])) == family.stem_shape:
            return family
    return None


class CheckpointMismatch(ValueError):
    """The checkpoint does not fit the model; the message lists every problem.

    Attributes:
        unmapped (list[str]): checkpoint keys with no counterpart in the model
            (with the name they mapped to, or why none).
        missing (list[str]): model keys that no checkpoint key fills.
        mismatched (list[str]): ``key -> name: checkpoint [..] vs model [..]``.
        duplicates (list[str]): model keys filled by more than one checkpoint key.
    """

    def __init__(self, unmapped=(), missing=(), mismatched=(), duplicates=(), hint=''):
        self.unmapped, self.missing = list(unmapped), list(missing)
        self.mismatched, self.duplicates = list(mismatched), list(duplicates)
        parts = []
        for title, items in (('checkpoint keys with no counterpart in the model', self.unmapped),
                             ('model keys missing from the checkpoint', self.missing),
                             ('shape mismatches', self.mismatched),
                             ('model keys filled by several checkpoint keys', self.duplicates)):
            if items:
                parts.append('{} {}:\n  {}'.format(len(items), title, '\n  '.join(items)))
        message = 'refusing to convert:\n' + '\n'.join(parts)
        super().__init__(message + ('\n' + hint if hint else ''))


@dataclass
class Conversion:
    """A converted state dict and what happened to each checkpoint key.

    Attributes:
        state (dict[str, np.ndarray]): Paddle parameter name -> value.
        dropped (list[tuple[str, str]]): (official key, reason) dropped on purpose.
        transposed (list[str]): Paddle names of Linear weights that were transposed.
        renamed (dict[str, str]): official key -> Paddle name, for every converted key.
    """
    state: dict = field(default_factory=dict)
    dropped: list = field(default_factory=list)
    transposed: list = field(default_factory=list)
    renamed: dict = field(default_factory=dict)


def unwrap_state_dict(checkpoint):
    """The state dict inside ``checkpoint``, with ``module.`` prefixes removed.

    Args:
        checkpoint (dict): a state dict, or a training checkpoint holding one under
            ``state_dict`` (the official ``train.py`` saves ``{'epoch', 'state_dict',
            'optimizer', 'best_pred'}``, mmseg ``{'meta', 'state_dict'}``) or ``model``.

    Returns:
        dict: key -> value, every leading ``module.`` (DataParallel) stripped.

    Raises:
        ValueError: not a dict, or two keys collapse to one after stripping.
    """
    if not isinstance(checkpoint, dict):
        raise ValueError('expected a state dict or a dict with `state_dict`, got a {}'.format(
            type(checkpoint).__name__))
    for wrapper in ('state_dict', 'model'):
        if isinstance(checkpoint.get(wrapper), dict):
            checkpoint = checkpoint[wrapper]
            break
    state = {}
    for key, value in checkpoint.items():
        name = key
        while name.startswith('module.'):
            name = name[len('module.'):]
        if name in state:
            raise ValueError('checkpoint keys collapse to {!r} once `module.` is removed'.format(name))
        state[name] = value
    return state


def map_key(key, backbone_only=False):
    """The Paddle name of official ``key`` (``module.`` already removed).

    Returns:
        tuple: ``(name, None)``, or ``(None, reason)`` when the key is dropped on
        purpose, or ``(None, None)`` when the key has no rule (unmapped).
    """
    for pattern, reason in (BACKBONE_DROPS if backbone_only else SEGMENTOR_DROPS):
        if pattern.search(key):
            return None, reason
    if backbone_only:
        name = key
    else:
        for official, ours in SEGMENTOR_PREFIXES:
            if key.startswith(official):
                name = ours + key[len(official):]
                break
        else:
            return None, None
    for official, ours in BN_STAT_RENAMES:
        if name.endswith(official):
            name = name[:-len(official)] + ours
    return name, None


def target_spec(layer):
    """Names, shapes and dtypes of ``layer``'s state dict, and its Linear weights.

    Args:
        layer (paddle.nn.Layer): the model (or backbone) to fill.

    Returns:
        tuple: ``(shapes {name: tuple}, dtypes {name: numpy dtype}, linear_weights set)``.
    """
    state = layer.state_dict()
    shapes = {k: tuple(v.shape) for k, v in state.items()}
    dtypes = {}
    for k, v in state.items():
        try:
            dtypes[k] = np.dtype(str(v.dtype).replace('paddle.', ''))
        except TypeError:  # a dtype numpy lacks (bfloat16): keep the checkpoint's
            pass
    linear = set()
    for name, sub in layer.named_sublayers():
        if isinstance(sub, nn.Linear):
            linear.add(name + '.weight')
    return shapes, dtypes, linear


def convert_state_dict(source, target_shapes, linear_weights=(), target_dtypes=None,
                       backbone_only=False):
    """Convert an official state dict (numpy values) to this project's names.

    Args:
        source (dict[str, np.ndarray]): the official state dict (see
            :func:`unwrap_state_dict`).
        target_shapes (dict[str, tuple]): Paddle name -> shape of the model to fill.
        linear_weights (set[str]): Paddle names of Linear weights (transposed).
        target_dtypes (dict[str, dtype] | None): cast each value to its target's dtype.
        backbone_only (bool): ``source`` is a bare ImageNet backbone (keys
            ``conv1.0.weight``, ``layer1...``, ``fc...``) and the target a backbone.

    Returns:
        Conversion

    Raises:
        CheckpointMismatch: listing every unmapped key, missing key, shape
            mismatch and duplicate target.
    """
    result = Conversion()
    unmapped, mismatched, duplicates = [], [], []
    seen = set()  # target names claimed by a checkpoint key, converted or not
    for key, value in source.items():
        name, reason = map_key(key, backbone_only)
        if name is None:
            if reason:
                result.dropped.append((key, reason))
            else:
                unmapped.append('{} (no rule for this module)'.format(key))
            continue
        if name not in target_shapes:
            unmapped.append('{} (-> {})'.format(key, name) if name != key else key)
            continue
        if name in seen:
            duplicates.append('{} (again from {})'.format(name, key))
            continue
        seen.add(name)
        array = np.asarray(value)
        transpose = name in linear_weights and array.ndim == 2
        if transpose:
            array = array.T
        want = tuple(target_shapes[name])
        if tuple(array.shape) != want:
            mismatched.append('{} -> {}: checkpoint {}{} vs model {}'.format(
                key, name, list(np.shape(value)), ' (Linear, transposed: {})'.format(
                    list(array.shape)) if transpose else '', list(want)))
            continue
        if transpose:
            result.transposed.append(name)
        if target_dtypes and name in target_dtypes:
            array = array.astype(target_dtypes[name], copy=False)
        result.state[name] = np.ascontiguousarray(array)
        result.renamed[key] = name
    missing = [k for k in target_shapes if k not in seen]
    if unmapped or missing or mismatched or duplicates:
        hint = ''
        if backbone_only and any(k.startswith('pretrained.') for k in source):
            hint = ('hint: the keys start with `pretrained.`: this is a whole segmentation checkpoint; '
                    'convert it without --backbone_only')
        elif backbone_only and imagenet_family(source):
            family = imagenet_family(source)
            hint = 'hint: this file has the stem of the {} family; its backbone is {} (depth 50 / 101)'.format(
                family.name, ' / '.join(family.backbones))
        elif not backbone_only and source and all(not k.startswith(('pretrained.', 'jpu.', 'head.', 'auxlayer.'))
                                                  for k in source):
            hint = 'hint: no key has an official segmentor prefix; for an ImageNet backbone use --backbone_only'
        raise CheckpointMismatch(unmapped, missing, mismatched, duplicates, hint)
    return result


def convert_for_layer(source, layer, backbone_only=False):
    """Convert ``source`` onto ``layer``'s own names, shapes and dtypes.

    Args:
        source (dict[str, np.ndarray]): a PyTorch state dict (see :func:`read_torch_checkpoint`).
        layer (paddle.nn.Layer): the whole model, or with ``backbone_only`` its backbone.
        backbone_only (bool): ``source`` is an ImageNet backbone of one of :data:`IMAGENET_FAMILIES`.

    Returns:
        Conversion (load ``.state`` with ``layer.set_state_dict``).

    Raises:
        CheckpointMismatch: see :func:`convert_state_dict`.
    """
    shapes, dtypes, linear = target_spec(layer)
    return convert_state_dict(source, shapes, linear, dtypes, backbone_only=backbone_only)


def read_torch_checkpoint(path):
    """Read a PyTorch checkpoint as ``{key: np.ndarray}`` without torch and without running pickled code.

    The file (zip or legacy ``torch.save`` format) is parsed by
    :func:`~paddleseg_fastfcn.utils.torch_pickle.load_torch_file`, whose unpickler
    admits only the torch globals a weights file needs; the state dict is then
    unwrapped (:func:`unwrap_state_dict`), so training-checkpoint entries beside it
    (``epoch``, ``optimizer``, mmseg's ``meta``) are ignored.

    Returns:
        dict[str, np.ndarray]: key (``module.`` removed) -> value (bfloat16 as float32).

    Raises:
        FileNotFoundError: no such file.
        UnsafePickleError: the pickle names a global outside the allow-list.
        ValueError: a malformed file, or a state-dict value that is not a tensor.
    """
    state = unwrap_state_dict(load_torch_file(path))
    not_tensors = sorted(k for k, v in state.items() if not isinstance(v, np.ndarray))
    if not_tensors:
        raise ValueError('{}: values that are not tensors under key(s): {}'.format(path, ', '.join(not_tensors)))
    return state
