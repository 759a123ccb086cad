"""DecodeHead: what every head declares, the two-step class count, and the segmentor's
training outputs by head type (asked from the head, never guessed)."""
import numpy as np
import paddle
import pytest
from paddleseg.cvlibs import manager
from paddleseg.models.backbones import ResNet18_vd

import paddleseg_fastfcn  # noqa: F401  (registers components)
from paddleseg_fastfcn.models.heads import ASPPHead, DecodeHead, EncHead, FCNAuxHead, PSPHead
from paddleseg_fastfcn.models.segmentors import FastFCNSegmentor

NUM_CLASSES = 3
# Small heads on 16 channels; each kind with the arguments it needs.
HEADS = {
    'EncHead': lambda n=NUM_CLASSES, **kw: EncHead(n, 16, channels=8, num_codes=4, **kw),
    'PSPHead': lambda n=NUM_CLASSES, **kw: PSPHead(n, 16, channels=8, **kw),
    'ASPPHead': lambda n=NUM_CLASSES, **kw: ASPPHead(n, 16, channels=8, atrous_rates=(1, 2, 3), **kw),
    'FCNAuxHead': lambda n=NUM_CLASSES, **kw: FCNAuxHead(n, 16, channels=8, **kw),
}


def registered_heads():
    return sorted(name for name, cls in manager.MODELS.components_dict.items()
                  if isinstance(cls, type) and issubclass(cls, DecodeHead))


def build(kind, num_classes=NUM_CLASSES, seed=0):
    paddle.seed(seed)
    return HEADS[kind](num_classes, in_index=0)


def test_every_registered_head_is_covered_here():
    assert registered_heads() == sorted(HEADS)


@pytest.mark.parametrize('kind', sorted(HEADS))
def test_head_declares_its_contract(kind):
    head = build(kind)
    assert head.num_classes == NUM_CLASSES and head.in_channels == 16 and head.in_index == 0
    assert head.output_names[0] == 'seg'
    x = [paddle.rand([2, 16, 6, 5])]
    head.train()
    out = head(x)
    assert len(out) == len(head.output_names)
    assert out[0].shape == [2, NUM_CLASSES, 6, 5]
    head.eval()
    assert [o.shape for o in head(x)] == [[2, NUM_CLASSES, 6, 5]]


@pytest.mark.parametrize('kind', sorted(HEADS))
def test_class_count_given_later_builds_the_same_head(kind):
    now = build(kind)
    x = [paddle.rand([1, 16, 4, 4])]  # before the seeded build: it draws from the generator
    later = build(kind, num_classes=None)
    assert later.num_classes is None
    with pytest.raises(RuntimeError, match='{} has no num_classes'.format(kind)):
        later(x)
    later.set_num_classes(NUM_CLASSES)
    want, got = now.state_dict(), later.state_dict()
    # Same names in the same order, and the same seeded initial values.
    assert list(got) == list(want)
    for key in want:
        np.testing.assert_array_equal(got[key].numpy(), want[key].numpy(), err_msg=key)


def test_class_count_is_set_once_and_must_be_a_positive_int():
    head = build('PSPHead', num_classes=None)
    for bad in (0, -2, 2.0, True, '3'):
        with pytest.raises(ValueError, match='PSPHead: num_classes must be a positive int'):
            head.set_num_classes(bad)
    head.set_num_classes(4)
    with pytest.raises(RuntimeError, match='already 4'):
        head.set_num_classes(5)
    with pytest.raises(TypeError, match='FCNAuxHead: in_index must be an int'):
        FCNAuxHead(3, 16, in_index=2.0)


def test_a_head_must_define_its_class_layers():
    class NoClassLayers(DecodeHead):
        pass

    head = NoClassLayers(16, -1)
    with pytest.raises(NotImplementedError, match='NoClassLayers must define build_class_layers'):
        head.set_num_classes(3)


def test_enc_head_declares_se_only_with_the_se_loss():
    assert build('EncHead').output_names == ('seg', 'se')
    paddle.seed(0)
    assert HEADS['EncHead'](use_se_loss=False).output_names == ('seg',)


def segmentor(head, aux=True):
    paddle.seed(0)
    # ResNet18_vd at output stride 8: c1..c4 = 64 / 128 / 256 / 512 channels.
    return FastFCNSegmentor(NUM_CLASSES, ResNet18_vd(output_stride=8), head,
                            aux_head=FCNAuxHead(in_channels=256, channels=8) if aux else None)


@pytest.mark.parametrize('kind, head_kwargs, aux, train_shapes', [
    ('EncHead', {}, True, [[2, 3, 32, 32], [2, 3, 32, 32], [2, 3]]),
    ('EncHead', {}, False, [[2, 3, 32, 32], [2, 3]]),
    ('EncHead', {'use_se_loss': False}, True, [[2, 3, 32, 32], [2, 3, 32, 32]]),
    ('PSPHead', {}, True, [[2, 3, 32, 32], [2, 3, 32, 32]]),
    ('ASPPHead', {}, False, [[2, 3, 32, 32]]),
])
def test_segmentor_outputs_by_head_type(kind, head_kwargs, aux, train_shapes):
    # No num_classes on the heads: the segmentor gives them model.num_classes.
    head = {'EncHead': EncHead, 'PSPHead': PSPHead, 'ASPPHead': ASPPHead}[kind](
        in_channels=512, channels=8, **head_kwargs)
    model = segmentor(head, aux)
    assert model.head.num_classes == NUM_CLASSES
    assert not aux or model.aux_head.num_classes == NUM_CLASSES
    x = paddle.rand([2, 3, 32, 32])
    model.train()
    assert [o.shape for o in model(x)] == train_shapes
    model.eval()
    assert [o.shape for o in model(x)] == [[2, 3, 32, 32]]


def test_segmentor_rejects_a_head_that_is_not_a_decode_head():
    with pytest.raises(TypeError, match=r'model\.head \(Conv2D\) is not a DecodeHead'):
        FastFCNSegmentor(NUM_CLASSES, ResNet18_vd(output_stride=8), paddle.nn.Conv2D(512, 3, 1))
