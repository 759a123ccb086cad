import numpy as np
import paddle
import pytest

from paddleseg_fastfcn.core.data_loader import build_loader
from paddleseg_fastfcn.core.evaluate import evaluate
from paddleseg_fastfcn.core.sampler import ShardedBatchSampler
from paddleseg_fastfcn.core.seeded_dataset import SeededDataset


class RaisingDataset(paddle.io.Dataset):
    """Four 4x4 samples; sample ``bad`` raises as a missing file would."""
    num_classes, ignore_index = 2, 255

    def __init__(self, bad=2):
        self.bad = bad

    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == self.bad:
            raise FileNotFoundError('sample {}: no such file im{}.png'.format(i, i))
        return {'img': np.full((3, 4, 4), i, np.float32), 'label': np.zeros((1, 4, 4), np.int64),
                'trans_info': []}


class ZeroModel(paddle.nn.Layer):
    def forward(self, x):
        return [paddle.zeros([x.shape[0], 2] + list(x.shape[2:]))]


def test_batches_are_collated_to_tensors_in_sampler_order():
    loader = build_loader(RaisingDataset(bad=None), [[3, 1], [0, 2]], num_workers=0)
    batches = list(loader)
    assert len(loader) == 2 and isinstance(batches[0]['img'], paddle.Tensor)
    assert batches[0]['img'].shape == [2, 3, 4, 4]
    assert [float(b['img'][k, 0, 0, 0]) for b in batches for k in range(2)] == [3, 1, 0, 2]


def test_collate_fn_is_applied_without_workers():
    loader = build_loader(RaisingDataset(bad=None), [[1]], 0, collate_fn=lambda b: b[0])
    assert isinstance(next(iter(loader))['img'], np.ndarray)


def test_raising_dataset_raises_in_the_train_loader(call_with_timeout):
    sampler = ShardedBatchSampler(4, batch_size=2, seed=0, total_iters=4)
    # as core.train builds it
    loader = build_loader(SeededDataset(RaisingDataset()), sampler, num_workers=0)
    with pytest.raises(FileNotFoundError, match='im2.png'):
        call_with_timeout(list, loader, timeout=60)


def test_raising_dataset_raises_in_evaluation(call_with_timeout):
    with pytest.raises(FileNotFoundError, match='im2.png'):
        call_with_timeout(evaluate, ZeroModel(), RaisingDataset(), num_workers=0,
                          print_detail=False, timeout=60)
