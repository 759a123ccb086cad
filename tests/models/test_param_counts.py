"""Official-layout models have exactly the parameter counts of the official code.

The reference counts (shared/reference/fastfcn.md, section 6) are the trainable
parameters of the official PyTorch models: conv / linear weights and biases, BN
weights and biases, Encoding codewords and scales; not BN running statistics.
The official backbone module (``pretrained``) also keeps ResNet's ImageNet
classifier ``fc`` (Linear 2048 -> 1000), unused for segmentation and absent here,
so it is added to our count.
"""
import math

import paddle
import pytest

from paddleseg_fastfcn.models.backbones import DeepStemResNet
from paddleseg_fastfcn.models.heads import ASPPHead, EncHead, FCNAuxHead, PSPHead
from paddleseg_fastfcn.models.necks import JointPyramidUpsampling
from paddleseg_fastfcn.models.segmentors import FastFCNSegmentor

OFFICIAL_UNUSED_IMAGENET_FC = 2048 * 1000 + 1000
HEADS = {'encnet': EncHead, 'psp': PSPHead, 'deeplabv3': ASPPHead}

# (head, depth, classes): count from the reference table
OFFICIAL_COUNTS = {
    ('encnet', 50, 59): 49443769,
    ('encnet', 50, 150): 49560522,
    ('encnet', 101, 59): 68435897,
    ('encnet', 101, 150): 68552650,
    ('psp', 50, 59): 70895390,
    ('psp', 101, 59): 89887518,
    ('deeplabv3', 50, 59): 63931934,
    ('deeplabv3', 101, 59): 82924062,
}


def trainable_parameters(layer):
    return sum(math.prod(p.shape) for p in layer.parameters() if not p.stop_gradient)


def official_layout(head, depth, num_classes):
    # LazyGuard: parameters get their shapes without running the initialisers.
    with paddle.LazyGuard():
        return FastFCNSegmentor(
            num_classes,
            DeepStemResNet(depth=depth, output_stride=32),
            HEADS[head](num_classes, in_channels=2048),
            neck=JointPyramidUpsampling(in_channels=[512, 1024, 2048], width=512),
            aux_head=FCNAuxHead(num_classes, in_channels=1024))


@pytest.mark.parametrize('key', sorted(OFFICIAL_COUNTS), ids=lambda k: '{}_r{}_{}cls'.format(*k))
def test_official_layout_parameter_count(key):
    model = official_layout(*key)
    assert trainable_parameters(model) + OFFICIAL_UNUSED_IMAGENET_FC == OFFICIAL_COUNTS[key]


def test_bn_running_statistics_are_not_counted():
    head = FCNAuxHead(10, in_channels=8, channels=4)
    # conv3x3 8->4 (no bias) + BN(4) affine + conv1x1 4->10 with bias
    assert trainable_parameters(head) == 8 * 4 * 9 + 2 * 4 + 4 * 10 + 10
    assert len(head.state_dict()) == len(list(head.parameters()))  # running stats exist, frozen
