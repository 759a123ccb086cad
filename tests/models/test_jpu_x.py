"""JPUX (official JPU_X): cascade layout, dilations, GroupNorm, shapes, gradients."""
import numpy as np
import paddle
import paddle.nn.functional as F
import pytest
from paddleseg.cvlibs import manager

import paddleseg_fastfcn  # noqa: F401  (registers components)
from paddleseg_fastfcn.models.necks import JPUX
from paddleseg_fastfcn.utils.model_cost import count_parameters
from tests.models.backbone_features import random_feats

WIDTH = 512


@pytest.fixture(scope='module')
def neck():
    paddle.seed(0)
    layer = JPUX([512, 1024, 2048], width=WIDTH)
    layer.eval()
    return layer


def test_output_shapes(neck):
    feats = random_feats(1)
    out = neck(feats)
    assert out[3].shape == [1, 4 * WIDTH, 8, 8]
    assert all(a is b for a, b in zip(out[:3], feats[:3]))
    assert neck.out_channels == [None, 512, 1024, 2048]
    assert manager.MODELS['JPUX'] is JPUX


def test_cascade_inputs_widths_and_dilations(neck):
    jum_1, jum_2 = neck.jum_1, neck.jum_2
    # jum_1 fuses c3 (low resolution) into c2; jum_2 fuses c4 into jum_1's output.
    assert jum_1.conv_l[0].weight.shape == [WIDTH // 2, 1024, 3, 3]
    assert jum_1.conv_h[0].weight.shape == [WIDTH // 2, 512, 3, 3]
    assert jum_2.conv_l[0].weight.shape == [WIDTH, 2048, 3, 3]
    assert jum_2.conv_h[0].weight.shape == [WIDTH, 4 * (WIDTH // 2), 3, 3]
    for jum, width, dilations in ((jum_1, WIDTH // 2, (1, 2, 4)), (jum_2, WIDTH, (2, 4, 8))):
        for i, d in enumerate(dilations, 1):
            branch = getattr(jum, 'dilation{}'.format(i))
            assert branch[0].conv1._dilation == [d, d] and branch[0].conv1._padding == d
            assert branch[0].conv1._groups == 2 * width
            assert isinstance(branch[0].bn, paddle.nn.GroupNorm) and branch[0].bn._num_groups == 32
            assert branch[0].pointwise.weight.shape == [width, 2 * width, 1, 1]
            assert isinstance(branch[1], paddle.nn.GroupNorm) and branch[1]._num_groups == 32
        # The convs on the inputs keep BatchNorm, as in the official code.
        assert isinstance(jum.conv_l[1], paddle.nn.BatchNorm2D)


def test_jum_output_starts_with_the_resized_low_map(neck):
    feats = random_feats(2)
    jum = neck.jum_1
    out = jum(feats[2], feats[1])
    expected = F.interpolate(jum.conv_l(feats[2]), size=[8, 8], mode='bilinear', align_corners=True)
    assert out.shape == [1, 4 * (WIDTH // 2), 8, 8]
    np.testing.assert_allclose(out[:, :WIDTH // 2].numpy(), expected.numpy(), atol=1e-5)


def test_parameter_count_matches_layer_shapes(neck):
    def jum(low, high, width):
        convs = 9 * width * (low + high) + 2 * 2 * width
        branch = 9 * 2 * width + 2 * 2 * width + 2 * width * width + 2 * width
        return convs + 3 * branch
    assert count_parameters(neck) == jum(1024, 512, WIDTH // 2) + jum(2048, 4 * (WIDTH // 2), WIDTH)


def test_gradients_flow_to_every_parameter():
    paddle.seed(3)
    layer = JPUX(width=64)
    layer.train()
    feats = random_feats(4, batch=2)
    layer(feats)[3].square().mean().backward()
    for name, p in layer.named_parameters():
        if not p.stop_gradient:
            assert p.grad is not None and float(p.grad.abs().sum()) > 0, name
