"""utils.trans_info: one parser of PaddleSeg's transform records, undone on logits and labels."""
import numpy as np
import paddle
import paddleseg.transforms as T
import pytest
from paddle.io.dataloader.collate import default_collate_fn
from paddleseg.core.infer import reverse_transform as paddleseg_reverse_transform

from paddleseg_fastfcn.models.layers.resize import resize_align_corners
from paddleseg_fastfcn.utils.trans_info import parse_trans_info, resize_nearest, reverse_transform


def paddleseg_records():
    """What PaddleSeg's val transforms really record for a 30x50 image, as a sample and collated."""
    compose = T.Compose([T.ResizeByShort(short_size=20), T.Padding(target_size=(40, 24))])
    sample = compose({'img': np.zeros((30, 50, 3), np.float32)})
    assert sample['img'].shape == (3, 24, 40)
    collated = default_collate_fn([{'trans_info': sample['trans_info']}])['trans_info']
    as_tensors = [[mode, [paddle.to_tensor(v) for v in size]] for mode, size in collated]
    as_lists = [[list(mode), [int(v[0]) for v in size]] for mode, size in collated]
    return sample['trans_info'], [collated, as_tensors, as_lists]


def test_every_record_form_parses_to_the_same_steps():
    records, other_forms = paddleseg_records()
    assert records == [('resize', (30, 50)), ('padding', (20, 33))]
    expected = [('resize', 30, 50), ('padding', 20, 33)]
    assert parse_trans_info(records) == expected
    for form in other_forms:
        assert parse_trans_info(form) == expected
    assert parse_trans_info(None) == []


@pytest.mark.parametrize('bad', [
    [('rotate', (3, 3))], [('resize', 3)], [('resize', (np.array([3, 4]), np.array([5, 6])))], ['resize'],
])
def test_unknown_or_batched_records_are_errors(bad):
    with pytest.raises(ValueError, match='transform record'):
        parse_trans_info(bad)


def test_logits_are_cropped_then_resized_with_align_corners():
    records, (collated, _, _) = paddleseg_records()
    logit = paddle.rand([1, 2, 24, 40])
    expected = resize_align_corners(logit[:, :, :20, :33], [30, 50]).numpy()
    for form in (records, collated):
        out = reverse_transform(logit, form, resize_align_corners)
        assert out.shape == [1, 2, 30, 50]
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


def test_labels_match_paddleseg_nearest_reverse_transform():
    records, (collated, _, _) = paddleseg_records()
    label = np.random.RandomState(0).randint(0, 150, (24, 40)).astype('int64')
    ours = reverse_transform(label, collated, resize_nearest)
    theirs = paddleseg_reverse_transform(paddle.to_tensor(label[None, None]), records, mode='nearest')
    assert ours.shape == (30, 50)
    np.testing.assert_array_equal(ours, theirs.numpy()[0, 0])
