"""The inference options of evaluation and prediction: one value, built once.

Whole-image or sliding-window inference, optionally summed over scales and
horizontal flips. ``InferenceOptions.from_config`` reads the config's
``test_config`` (PaddleSeg's keys) under the command line of val.py /
predict.py (PaddleSeg's flags); everything below receives the built value.
"""
import collections.abc
import dataclasses

from paddleseg_fastfcn.utils.cli import positive_float, positive_int

# Option field -> its key in the config's test_config (PaddleSeg 2.8's names).
CONFIG_KEYS = {'aug': 'aug_eval', 'scales': 'scales', 'flip_horizontal': 'flip_horizontal',
               'is_slide': 'is_slide', 'crop_size': 'crop_size', 'stride': 'stride'}


def _pair(name, value):
    """``value`` as a ``(w, h)`` tuple of positive ints; ValueError naming ``name`` otherwise."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    try:
        pair = tuple(int(v) for v in value)
        exact = all(float(v) == int(v) for v in value)
    except (TypeError, ValueError):
        pair, exact = (), False
    if len(pair) != 2 or not exact or min(pair) < 1:
        raise ValueError('{} must be two positive integers (w, h), got {!r}'.format(name, value))
    return pair


@dataclasses.dataclass(frozen=True)
class InferenceOptions:
    """How evaluate / predict turn an image into logits.

    Attributes:
        aug (bool): augmented inference: the logits summed over ``scales`` and, with
            ``flip_horizontal``, mirrored passes (PaddleSeg's ``aug_eval`` / ``aug_pred``).
        scales (tuple[float]): image scales of the augmented inference (> 0).
        flip_horizontal (bool): add horizontally flipped passes to the augmented inference.
        is_slide (bool): run sliding windows of ``crop_size`` every ``stride`` pixels
            instead of the whole image.
        crop_size (tuple[int] | None): window ``(w, h)``; needed with ``is_slide``.
        stride (tuple[int] | None): window step ``(w, h)``, at most ``crop_size``.

    Raises:
        ValueError: an option out of range (named), or ``is_slide`` without
            ``crop_size`` / ``stride``.
    """
    aug: bool = False
    scales: tuple = (1.0,)
    flip_horizontal: bool = False
    is_slide: bool = False
    crop_size: tuple = None
    stride: tuple = None

    def __post_init__(self):
        # Normalised in place (frozen dataclass): YAML and argparse give lists.
        scales = self.scales
        if isinstance(scales, (int, float)) and not isinstance(scales, bool):
            scales = [scales]
        try:
            scales = tuple(float(s) for s in scales)
        except (TypeError, ValueError):
            raise ValueError('scales must be numbers, got {!r}'.format(self.scales)) from None
        if not scales or min(scales) <= 0:
            raise ValueError('scales must be one or more numbers > 0, got {!r}'.format(self.scales))
        crop_size, stride = _pair('crop_size', self.crop_size), _pair('stride', self.stride)
        if self.is_slide and (crop_size is None or stride is None):
            raise ValueError('sliding-window inference (is_slide) needs crop_size and stride')
        if crop_size and stride and (stride[0] > crop_size[0] or stride[1] > crop_size[1]):
            raise ValueError('stride {} must not exceed crop_size {} (windows would leave gaps)'
                             .format(list(stride), list(crop_size)))
        for name, value in (('aug', self.aug), ('flip_horizontal', self.flip_horizontal),
                            ('is_slide', self.is_slide)):
            object.__setattr__(self, name, bool(value))
        object.__setattr__(self, 'scales', scales)
        object.__setattr__(self, 'crop_size', crop_size)
        object.__setattr__(self, 'stride', stride)

    @classmethod
    def from_config(cls, test_config=None, args=None):
        """Options from the command line over the config's ``test_config`` over the defaults.

        Args:
            test_config (dict | None): the config's ``test_config`` (keys ``aug_eval``,
                ``scales``, ``flip_horizontal``, ``is_slide``, ``crop_size``, ``stride``;
                other PaddleSeg keys are not used here).
            args (argparse.Namespace | Mapping | None): command-line values under the
                field names (``add_inference_args``'s dests); None = not given.

        Raises:
            ValueError: a bad option, naming where it came from.
        """
        test_config = dict(test_config or {})
        if args is None:
            given = {}
        else:
            given = args if isinstance(args, collections.abc.Mapping) else vars(args)
        values, sources = {}, []  # sources: where each checked value came from
        for field, key in CONFIG_KEYS.items():
            if given.get(field) is not None:
                values[field], source = given[field], '--{}'.format(field)
            elif test_config.get(key) is not None:
                values[field], source = test_config[key], 'test_config.{}'.format(key)
            else:
                continue
            if field != 'aug':  # a flag (--aug_eval / --aug_pred) that cannot be wrong
                sources.append(source)
        try:
            return cls(**values)
        except ValueError as e:
            raise ValueError('inference options (from {}): {}'.format(
                ', '.join(sources) or 'defaults', e)) from None

    def to_dict(self):
        """The options as plain JSON values (lists for tuples), e.g. for metrics.json."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in dataclasses.asdict(self).items()}


def add_inference_args(parser, aug_flag):
    """Add the inference flags of val.py / predict.py (PaddleSeg's names) to ``parser``.

    Args:
        aug_flag (str): ``--aug_eval`` (val.py) or ``--aug_pred`` (predict.py); both
            set ``args.aug``. Options left out are None and fall back to the config's
            ``test_config`` (see ``InferenceOptions.from_config``).
    """
    parser.add_argument(aug_flag, dest='aug', action='store_true', default=None,
                        help='multi-scale (--scales) and flip (--flip_horizontal) inference')
    parser.add_argument('--scales', nargs='+', type=positive_float, default=None,
                        help='image scales for the augmented inference, e.g. 0.5 0.75 1.0 1.25 1.5 1.75')
    parser.add_argument('--flip_horizontal', action='store_true', default=None,
                        help='add horizontally flipped passes to the augmented inference')
    parser.add_argument('--is_slide', action='store_true', default=None,
                        help='sliding-window inference (--crop_size, --stride)')
    parser.add_argument('--crop_size', nargs=2, type=positive_int, default=None, metavar=('W', 'H'),
                        help='sliding window size')
    parser.add_argument('--stride', nargs=2, type=positive_int, default=None, metavar=('W', 'H'),
                        help='sliding window step')
    parser.add_argument('--device', choices=['cpu', 'gpu'], default='cpu',
                        help='where to run (PaddleSeg option; TIPC passes it)')
