"""DecodeHead: what every segmentation head declares, and how it picks its input."""
import paddle.nn as nn


class DecodeHead(nn.Layer):
    """Base of the heads: class count, input channels, which feature it reads, what it returns.

    A head takes the backbone / neck feature list and reads ``feats[in_index]``
    (``select_input``). It is built in two steps, so that a config writes a
    dataset's class count once (``model.num_classes``) and the segmentor hands
    it to its heads: ``__init__`` of a subclass builds every layer that does not
    depend on the class count and ends with ``self.set_num_classes(num_classes)``;
    ``set_num_classes`` builds the rest through ``build_class_layers``, now when
    ``num_classes`` is given, or later when the segmentor calls it. The class
    layers are the last ones a head creates in either case, so parameter names,
    order and seeded initial values are the same both ways.

    Subclasses declare:
        ``build_class_layers(num_classes)``: add the layers whose shape depends
            on the class count, under their checkpoint names.
        ``output_names``: the names of the tensors ``forward`` returns in
            training, in order; the first is always ``'seg'`` (the logits), the
            others are extra outputs the segmentor passes on to the losses
            (``'se'``: EncNet's class-presence logits). In eval a head returns
            only ``[seg]``.

    Args:
        in_channels (int): channels of the selected feature.
        in_index (int): position of that feature in the input list.

    Attributes:
        num_classes (int | None): None until ``set_num_classes``.
    """

    output_names = ('seg',)

    def __init__(self, in_channels, in_index):
        super().__init__()
        if isinstance(in_index, bool) or not isinstance(in_index, int):
            raise TypeError('{}: in_index must be an int (position in the feature list), got {!r}'.format(
                type(self).__name__, in_index))
        self.in_channels = in_channels
        self.in_index = in_index
        self.num_classes = None

    def set_num_classes(self, num_classes):
        """Build the class-dependent layers for ``num_classes`` (no-op for None; once only).

        Raises:
            ValueError: ``num_classes`` is not a positive int.
            RuntimeError: the head already has a class count.
        """
        if num_classes is None:
            return
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError('{}: num_classes must be a positive int, got {!r}'.format(
                type(self).__name__, num_classes))
        if self.num_classes is not None:
            raise RuntimeError('{}: num_classes is already {}; it is set once'.format(
                type(self).__name__, self.num_classes))
        self.build_class_layers(num_classes)
        self.num_classes = num_classes

    def build_class_layers(self, num_classes):
        raise NotImplementedError('{} must define build_class_layers(num_classes)'.format(
            type(self).__name__))

    def select_input(self, feats):
        """``feats[in_index]``, with clear errors for a head without classes or a bad list.

        Args:
            feats (list[Tensor]): backbone / neck features.
        """
        name = type(self).__name__
        if self.num_classes is None:
            raise RuntimeError('{} has no num_classes: pass it to the head, or build the head inside '
                               'FastFCNSegmentor, which gives it model.num_classes'.format(name))
        if not isinstance(feats, (list, tuple)):
            raise TypeError('{} expects a list of feature maps, got {}'.format(name, type(feats).__name__))
        if not -len(feats) <= self.in_index < len(feats):
            raise IndexError('{}: in_index {} is out of range for {} input features'.format(
                name, self.in_index, len(feats)))
        return feats[self.in_index]
