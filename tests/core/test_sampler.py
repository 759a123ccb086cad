import numpy as np
import pytest

from paddleseg_fastfcn.core.sampler import ShardedBatchSampler
from paddleseg_fastfcn.core.seeded_dataset import SeededDataset


def _indices(batches):
    return [[i for i, _ in batch] for batch in batches]


def test_each_epoch_is_a_permutation_that_depends_on_seed_and_epoch():
    sampler = ShardedBatchSampler(10, batch_size=5, seed=3, total_iters=6)
    batches = _indices(sampler)
    epochs = [sorted(batches[0] + batches[1]), sorted(batches[2] + batches[3])]
    assert epochs[0] == list(range(10)) and epochs[1] == list(range(10))
    assert batches[0] + batches[1] != batches[2] + batches[3]
    again = _indices(ShardedBatchSampler(10, batch_size=5, seed=3, total_iters=6))
    other_seed = _indices(ShardedBatchSampler(10, batch_size=5, seed=4, total_iters=6))
    assert again == batches and other_seed != batches


def test_ranks_get_equal_disjoint_shards_with_drop_last():
    # 11 samples on 3 ranks: 3 per rank (2 dropped), batch 2 -> 1 batch per epoch.
    shards = [ShardedBatchSampler(11, batch_size=1, num_replicas=3, rank=r, seed=0,
                                  total_iters=3) for r in range(3)]
    per_rank = [sum(_indices(s), []) for s in shards]
    assert all(len(p) == 3 for p in per_rank)
    assert len(set(sum(per_rank, []))) == 9
    assert all(s.batches_per_epoch == 3 for s in shards)
    two = [ShardedBatchSampler(11, batch_size=2, num_replicas=3, rank=r, seed=0) for r in range(3)]
    assert [s.batches_per_epoch for s in two] == [1, 1, 1]


def test_starting_mid_epoch_continues_the_same_sequence():
    full = list(ShardedBatchSampler(7, batch_size=2, num_replicas=2, rank=1, seed=5, total_iters=8))
    tail = list(ShardedBatchSampler(7, batch_size=2, num_replicas=2, rank=1, seed=5,
                                    start_iter=3, total_iters=8))
    assert tail == full[3:]
    assert len(ShardedBatchSampler(7, 2, start_iter=3, total_iters=8)) == 5


def test_augment_seed_differs_per_sample_and_epoch():
    sampler = ShardedBatchSampler(4, batch_size=4, seed=0, total_iters=2)
    first, second = list(sampler)
    assert len({s for _, s in first}) == 4
    assert dict(first) != dict(second)


def test_too_few_samples_for_one_batch_is_a_clear_error():
    with pytest.raises(ValueError, match='cannot give one batch of 4 per rank on 2'):
        ShardedBatchSampler(6, batch_size=4, num_replicas=2, rank=0)


class RandomDataset(object):
    """Returns numpy draws, as PaddleSeg's random transforms do."""

    def __getitem__(self, index):
        return index, np.random.rand(3)

    def __len__(self):
        return 5


def test_seeded_dataset_is_reproducible_and_leaves_global_rng_alone():
    dataset = SeededDataset(RandomDataset())
    np.random.seed(0)
    before = np.random.get_state()[1].copy()
    a = dataset[(2, 11)][1]
    assert np.array_equal(np.random.get_state()[1], before)
    assert np.array_equal(dataset[(2, 11)][1], a)
    assert not np.array_equal(dataset[(2, 12)][1], a)


def test_two_ranks_of_batch_b_see_what_one_process_of_batch_2b_sees():
    # The property multi-card training relies on: per step, the union of the ranks'
    # batches is the single-process batch, with the same augmentation seeds.
    single = list(ShardedBatchSampler(11, batch_size=4, seed=2, total_iters=5))
    ranks = [list(ShardedBatchSampler(11, batch_size=2, num_replicas=2, rank=r, seed=2,
                                      total_iters=5)) for r in range(2)]
    for step, batch in enumerate(single):
        assert sorted(batch) == sorted(ranks[0][step] + ranks[1][step])
