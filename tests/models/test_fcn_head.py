"""FCNAuxHead: reads c3 by default, shapes, dropout modes, official names."""
import numpy as np
import paddle

from paddleseg_fastfcn.models.heads import FCNAuxHead


def four_feats(n=2):
    return [paddle.rand([n, 4, 16, 16]), paddle.rand([n, 8, 8, 8]),
            paddle.rand([n, 12, 6, 5]), paddle.rand([n, 16, 2, 2])]


def test_reads_c3_by_default_and_keeps_its_resolution():
    paddle.seed(0)
    head = FCNAuxHead(num_classes=3, in_channels=12)
    assert head.in_index == 2
    for training in (True, False):
        head.train() if training else head.eval()
        out = head(four_feats())
        assert len(out) == 1 and out[0].shape == [2, 3, 6, 5]


def test_dropout_is_active_only_in_training():
    paddle.seed(0)
    head = FCNAuxHead(num_classes=3, in_channels=12, dropout_ratio=0.5)
    x = four_feats()
    head.train()
    assert np.abs(head(x)[0].numpy() - head(x)[0].numpy()).max() > 1e-4
    head.eval()
    np.testing.assert_array_equal(head(x)[0].numpy(), head(x)[0].numpy())


def test_official_widths_and_names():
    shapes = {k: v.shape for k, v in FCNAuxHead(num_classes=150).state_dict().items()}
    assert shapes == {
        'conv5.0.weight': [256, 1024, 3, 3],
        'conv5.1.weight': [256], 'conv5.1.bias': [256], 'conv5.1._mean': [256], 'conv5.1._variance': [256],
        'conv5.4.weight': [150, 256, 1, 1], 'conv5.4.bias': [150],
    }
