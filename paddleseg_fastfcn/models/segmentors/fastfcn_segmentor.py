"""The one model class: backbone + optional neck + head + optional aux head."""
import paddle
import paddle.nn as nn
from paddleseg.cvlibs import manager

from paddleseg_fastfcn.models.heads.decode_head import DecodeHead
from paddleseg_fastfcn.models.layers import resize_align_corners
from paddleseg_fastfcn.utils.weights import load_warm_start


def _feature_channels(component, attr):
    channels = getattr(component, attr, None)
    return list(channels) if channels is not None else None


@manager.MODELS.add_component
class FastFCNSegmentor(nn.Layer):
    """Segmentor composing the FastFCN parts.

    ``backbone`` gives [c1, c2, c3, c4]; ``neck`` (e.g. JointPyramidUpsampling),
    if any, turns them into [c1, c2, c3, fused]; ``head`` reads
    ``feats[head.in_index]`` and ``aux_head`` (FCNAuxHead on c3), if any, reads
    ``feats[aux_head.in_index]`` of the same list, as the official code. All logits
    are resized bilinearly (align_corners=True) to the input size.

    The class count is written once, as ``model.num_classes``: a head built
    without ``num_classes`` gets it here (``DecodeHead.set_num_classes``); a head
    built with one must agree.

    Args:
        num_classes (int): classes.
        backbone (nn.Layer): with attribute ``feat_channels`` (4 ints).
        head (DecodeHead): EncHead / PSPHead / ASPPHead; its ``output_names``
            say which extra training outputs it returns (EncHead: ``'se'``).
        neck (nn.Layer | None): with attribute ``out_channels`` (4 items).
        aux_head (DecodeHead | None): e.g. FCNAuxHead; only its logits are used.
        pretrained (str | None): path or URL of a whole-model ``.pdparams``
            (keys ``backbone.*``, ``neck.*``, ``head.*``, ``aux_head.*``), a warm
            start: the matching keys load, the others are logged (non-strict).

    Outputs:
        training: a list in this fixed order, entries present only when enabled:
            ``[logits [N, C, H, W],
               aux_logits [N, C, H, W]   (if aux_head),
               se_logits [N, C]          (if 'se' in head.output_names)]``
            so that ``loss.types`` / ``loss.coef`` of a config map one-to-one
            (e.g. EncNet with aux: CE, CE, SemanticEncodingLoss; coef 1, 0.2, 0.2).
        eval: ``[logits [N, C, H, W]]``.
        H, W are the input's size; x is [N, 3, H, W].

    Raises:
        TypeError: a head that is not a DecodeHead.
        ValueError: inconsistent class counts or channels; the message names
            the config key (``model.head.num_classes`` ...).
    """

    def __init__(self, num_classes, backbone, head, neck=None, aux_head=None, pretrained=None):
        super().__init__()
        self.num_classes = num_classes
        self.backbone = backbone
        self.neck = neck
        self.head = head
        self.aux_head = aux_head
        self._check_consistency()
        for part in (head, aux_head):
            if part is not None and part.num_classes is None:
                part.set_num_classes(num_classes)
        # A warm start from a related model (rule: non-strict); `scratch`: random on purpose.
        load_warm_start(self, pretrained, key='model.pretrained')

    def _check_consistency(self):
        feats = _feature_channels(self.backbone, 'feat_channels')
        if feats is None:
            raise ValueError('model.backbone ({}) has no `feat_channels` attribute: the segmentor '
                             'needs the channels of [c1, c2, c3, c4]'.format(type(self.backbone).__name__))
        source = 'model.backbone'
        if self.neck is not None:
            neck_out = _feature_channels(self.neck, 'out_channels')
            if neck_out is None:
                raise ValueError('model.neck ({}) has no `out_channels` attribute'.format(
                    type(self.neck).__name__))
            # A neck that does not compute c1's channels passes c1 through.
            feats = [f if n is None else n for n, f in zip(neck_out, feats)]
            source = 'model.neck'
        for key, head in (('model.head', self.head), ('model.aux_head', self.aux_head)):
            if head is None:
                continue
            if not isinstance(head, DecodeHead):
                raise TypeError('{} ({}) is not a DecodeHead (paddleseg_fastfcn.models.heads): the '
                                'segmentor needs its num_classes, in_channels, in_index and '
                                'output_names'.format(key, type(head).__name__))
            if head.num_classes not in (None, self.num_classes):
                raise ValueError('{}.num_classes ({}) != model.num_classes ({})'.format(
                    key, head.num_classes, self.num_classes))
            index = head.in_index
            if not -len(feats) <= index < len(feats):
                raise ValueError('{}.in_index ({}) is out of range for the {} features of {}'.format(
                    key, index, len(feats), source))
            if feats[index] is not None and head.in_channels != feats[index]:
                raise ValueError('{}.in_channels ({}) != channels produced by {} at in_index {} ({})'.format(
                    key, head.in_channels, source, index, feats[index]))

    @property
    def train_output_names(self):
        """The names of the training outputs, in order: one loss term (``loss.coef``) each."""
        return (('seg',) + (('aux',) if self.aux_head is not None else ())
                + tuple(self.head.output_names[1:]))

    def forward(self, x):
        # Numbers where the input's size is fixed (dygraph; a fixed-shape export), so the
        # logits resize can take its banded form; a tensor where the graph keeps it dynamic.
        size = [d if d > 0 else paddle.shape(x)[2 + i] for i, d in enumerate(x.shape[2:])]
        feats = self.backbone(x)
        if self.neck is not None:
            feats = self.neck(feats)
        head_out = self.head(feats)
        outputs = [resize_align_corners(head_out[0], size)]
        if not self.training:
            return outputs
        if self.aux_head is not None:
            outputs.append(resize_align_corners(self.aux_head(feats)[0], size))
        # The head's extra outputs (EncHead: 'se') follow, in the order it declares.
        outputs.extend(head_out[1:len(self.head.output_names)])
        return outputs
