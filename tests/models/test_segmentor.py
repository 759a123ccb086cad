"""FastFCNSegmentor: output contract, validation errors, pretrained loading, YAML build."""
import numpy as np
import paddle
import pytest
from paddleseg.cvlibs import Config, SegBuilder
from paddleseg.models.backbones import ResNet50_vd

from paddleseg_fastfcn.core.builder import build_model, load_config
from paddleseg_fastfcn.models.backbones import DeepStemResNet50
from paddleseg_fastfcn.models.heads import ASPPHead, EncHead, FCNAuxHead, PSPHead
from paddleseg_fastfcn.models.necks import JointPyramidUpsampling
from paddleseg_fastfcn.models.segmentors import FastFCNSegmentor

NUM_CLASSES = 4


def encnet_jpu(backbone=None, **head_kwargs):
    paddle.seed(0)
    head_args = dict(num_classes=NUM_CLASSES, in_channels=256, channels=16, num_codes=4)
    head_args.update(head_kwargs)
    return FastFCNSegmentor(
        NUM_CLASSES, backbone or DeepStemResNet50(),
        EncHead(**head_args),
        neck=JointPyramidUpsampling(width=64),
        aux_head=FCNAuxHead(NUM_CLASSES, in_channels=1024, channels=16))


def test_training_outputs_are_main_aux_se_in_that_order_eval_is_logits():
    model = encnet_jpu()
    x = paddle.rand([2, 3, 64, 48])
    model.train()
    out = model(x)
    assert [o.shape for o in out] == [[2, NUM_CLASSES, 64, 48], [2, NUM_CLASSES, 64, 48], [2, NUM_CLASSES]]
    model.eval()
    out = model(x)
    assert [o.shape for o in out] == [[2, NUM_CLASSES, 64, 48]]


def test_logits_are_head_output_resized_with_align_corners():
    model = encnet_jpu()
    model.eval()
    x = paddle.rand([1, 3, 64, 64])
    head_logits = model.head(model.neck(model.backbone(x)))[0]
    expected = paddle.nn.functional.interpolate(head_logits, [64, 64], mode='bilinear', align_corners=True)
    np.testing.assert_allclose(model(x)[0].numpy(), expected.numpy(), atol=1e-5)


def test_optional_parts_change_the_training_list():
    paddle.seed(0)
    psp = FastFCNSegmentor(NUM_CLASSES, DeepStemResNet50(),
                           PSPHead(NUM_CLASSES, in_channels=256, channels=16),
                           neck=JointPyramidUpsampling(width=64))
    psp.train()
    out = psp(paddle.rand([2, 3, 64, 64]))
    assert [o.shape for o in out] == [[2, NUM_CLASSES, 64, 64]]

    no_aux_se = FastFCNSegmentor(NUM_CLASSES, DeepStemResNet50(),
                                 EncHead(NUM_CLASSES, 256, channels=16, num_codes=4),
                                 neck=JointPyramidUpsampling(width=64))
    no_aux_se.train()
    out = no_aux_se(paddle.rand([2, 3, 64, 64]))
    assert [o.shape for o in out] == [[2, NUM_CLASSES, 64, 64], [2, NUM_CLASSES]]


def test_dilated_baseline_without_neck():
    paddle.seed(0)
    model = FastFCNSegmentor(NUM_CLASSES, DeepStemResNet50(output_stride=8),
                             EncHead(NUM_CLASSES, 2048, channels=16, num_codes=4, conv5_kernel_size=3),
                             aux_head=FCNAuxHead(NUM_CLASSES, channels=16))
    model.train()
    out = model(paddle.rand([2, 3, 64, 64]))
    assert [o.shape for o in out] == [[2, NUM_CLASSES, 64, 64], [2, NUM_CLASSES, 64, 64], [2, NUM_CLASSES]]


def test_paddleseg_resnet50_vd_backbone_with_jpu():
    model = encnet_jpu(backbone=ResNet50_vd(output_stride=32))
    model.eval()
    assert model(paddle.rand([1, 3, 64, 64]))[0].shape == [1, NUM_CLASSES, 64, 64]


def test_aspp_head_on_paddleseg_backbone_without_neck():
    paddle.seed(0)
    model = FastFCNSegmentor(NUM_CLASSES, ResNet50_vd(output_stride=8),
                             ASPPHead(NUM_CLASSES, 2048, channels=8, atrous_rates=(1, 2, 3)))
    model.eval()
    assert model(paddle.rand([1, 3, 64, 64]))[0].shape == [1, NUM_CLASSES, 64, 64]


def test_inconsistent_parts_fail_naming_the_config_key():
    backbone = DeepStemResNet50()
    with pytest.raises(ValueError, match=r'model\.head\.num_classes \(59\) != model\.num_classes \(150\)'):
        FastFCNSegmentor(150, backbone, EncHead(59, 2048, channels=8, num_codes=4))
    with pytest.raises(ValueError, match=r'model\.head\.in_channels \(2048\) != channels produced by '
                                         r'model\.neck at in_index -1 \(256\)'):
        FastFCNSegmentor(5, backbone, EncHead(5, 2048, channels=8, num_codes=4),
                         neck=JointPyramidUpsampling(width=64))
    with pytest.raises(ValueError, match=r'model\.aux_head\.in_channels \(512\) != channels produced by '
                                         r'model\.backbone at in_index 2 \(1024\)'):
        FastFCNSegmentor(5, backbone, PSPHead(5, 2048, channels=8),
                         aux_head=FCNAuxHead(5, in_channels=512))
    with pytest.raises(ValueError, match=r'model\.aux_head\.num_classes \(3\) != model\.num_classes \(5\)'):
        FastFCNSegmentor(5, backbone, PSPHead(5, 2048, channels=8), aux_head=FCNAuxHead(3))
    with pytest.raises(ValueError, match=r'model\.head\.in_index \(7\) is out of range'):
        FastFCNSegmentor(5, backbone, PSPHead(5, 2048, channels=8, in_index=7))
    with pytest.raises(ValueError, match='feat_channels'):
        FastFCNSegmentor(5, paddle.nn.Conv2D(3, 8, 3), PSPHead(5, 8))


def test_pretrained_loads_a_whole_model_state_dict(tmp_path):
    source = encnet_jpu()
    path = str(tmp_path / 'model.pdparams')
    paddle.save(source.state_dict(), path)
    paddle.seed(123)  # a different random init for the target, overwritten by the load
    target = FastFCNSegmentor(
        NUM_CLASSES, DeepStemResNet50(),
        EncHead(NUM_CLASSES, 256, channels=16, num_codes=4),
        neck=JointPyramidUpsampling(width=64),
        aux_head=FCNAuxHead(NUM_CLASSES, 1024, channels=16),
        pretrained=path)
    want, got = source.state_dict(), target.state_dict()
    assert set(want) == set(got)
    for key in want:
        np.testing.assert_array_equal(got[key].numpy(), want[key].numpy(), err_msg=key)


MODEL_YAML = """\
model:
  type: FastFCNSegmentor
  num_classes: 4
  backbone:
    type: DeepStemResNet50
    output_stride: 32
  neck:
    type: JointPyramidUpsampling
    in_channels: [512, 1024, 2048]
    width: 64
  head:
    type: EncHead
    num_classes: 4
    in_channels: 256
    channels: 16
    num_codes: 4
  aux_head:
    type: FCNAuxHead
    num_classes: 4
    in_channels: 1024
    channels: 16
"""


def test_builds_from_yaml_with_paddleseg_and_project_builder(write_model_config):
    path = write_model_config(MODEL_YAML, num_classes=4, name='encnet_jpu_tiny.yml')
    for model in (SegBuilder(Config(str(path))).model, build_model(load_config(str(path)))):
        assert isinstance(model, FastFCNSegmentor)
        assert isinstance(model.head, EncHead) and isinstance(model.aux_head, FCNAuxHead)
        model.eval()
        assert model(paddle.rand([1, 3, 64, 64]))[0].shape == [1, 4, 64, 64]
