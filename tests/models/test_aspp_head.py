"""ASPPHead: shapes, branch dilations, image-level branch, dropout modes, names."""
import numpy as np
import paddle
import pytest

from paddleseg_fastfcn.models.heads import ASPPHead
from paddleseg_fastfcn.models.heads.aspp_head import ASPPPooling


def small_head(**kwargs):
    paddle.seed(0)
    args = dict(num_classes=5, in_channels=32, atrous_rates=(1, 2, 3))
    args.update(kwargs)
    return ASPPHead(**args)


def test_shapes_in_train_and_eval():
    head = small_head()
    x = [paddle.rand([2, 32, 7, 6])]
    for training in (True, False):
        head.train() if training else head.eval()
        out = head(x)
        assert len(out) == 1 and out[0].shape == [2, 5, 7, 6]
    assert head.output_names == ('seg',)


def test_official_widths_rates_and_names():
    head = ASPPHead(num_classes=59, in_channels=2048)
    assert [getattr(head.aspp, 'b{}'.format(i))[0]._dilation for i in (1, 2, 3)] == \
        [[12, 12], [24, 24], [36, 36]]
    shapes = {k: v.shape for k, v in head.state_dict().items()}
    assert shapes['aspp.b0.0.weight'] == [256, 2048, 1, 1]
    assert shapes['aspp.b1.0.weight'] == [256, 2048, 3, 3]
    assert shapes['aspp.b4.gap.1.weight'] == [256, 2048, 1, 1]
    assert shapes['aspp.project.0.weight'] == [256, 1280, 1, 1]
    assert shapes['block.0.weight'] == [256, 256, 3, 3]
    assert shapes['block.4.weight'] == [59, 256, 1, 1] and 'block.4.bias' in shapes
    assert head.aspp.project[3].p == 0.5 and head.block[3].p == 0.1


def test_image_level_branch_is_the_pooled_feature_at_every_pixel():
    paddle.seed(1)
    branch = ASPPPooling(6, 3)
    branch.eval()
    x = paddle.rand([2, 6, 5, 7])
    out = branch(x).numpy()
    pooled = branch.gap(x).numpy()                   # [2, 3, 1, 1]
    np.testing.assert_allclose(pooled[..., 0, 0],
                               branch.gap[1:](x.mean(axis=[2, 3], keepdim=True)).numpy()[..., 0, 0],
                               atol=1e-6)
    np.testing.assert_allclose(out, np.broadcast_to(pooled, out.shape), atol=1e-6)


def test_dropout_is_active_only_in_training():
    head = small_head(dropout_ratio=0.5)
    x = [paddle.rand([2, 32, 6, 6])]
    head.train()
    assert np.abs(head(x)[0].numpy() - head(x)[0].numpy()).max() > 1e-4
    head.eval()
    np.testing.assert_array_equal(head(x)[0].numpy(), head(x)[0].numpy())


def test_rejects_wrong_number_of_rates():
    with pytest.raises(ValueError, match='atrous_rates'):
        small_head(atrous_rates=(6, 12))
