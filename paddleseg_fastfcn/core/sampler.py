"""Deterministic, resumable, rank-sharded batch sampling.

Paddle's ``DistributedBatchSampler`` shuffles with the global numpy RNG and can
only start at an epoch boundary, so a resumed run would see different batches
than an uninterrupted one. Here the order is a pure function of (seed, epoch):
any rank, any restart point, any number of workers gives the same batches.
"""
import numpy as np


class ShardedBatchSampler(object):
    """Endless batches of ``(sample_index, augment_seed)`` pairs.

    Each epoch is a permutation of the dataset drawn from (seed, epoch). The
    permutation is cut to ``len(dataset) // num_replicas * num_replicas``
    samples (drop_last) and rank r takes positions r, r + num_replicas, ...,
    so every rank sees the same number of samples and no sample twice per epoch.
    Within a rank, an incomplete last batch is dropped, so all ranks run the
    same number of iterations per epoch.

    ``augment_seed`` is a per-(epoch, sample) seed: ``SeededDataset`` reseeds the
    random augmentation with it, which makes data independent of worker count
    and of where training was resumed.

    Args:
        dataset_size (int): number of samples.
        batch_size (int): samples per batch on this rank.
        num_replicas (int): number of ranks (world size).
        rank (int): this rank, 0 <= rank < num_replicas.
        seed (int): shared by all ranks.
        start_iter (int): number of batches already consumed (resume point).
        total_iters (int | None): stop after this many batches in total
            (None: endless).
    """

    def __init__(self, dataset_size, batch_size, num_replicas=1, rank=0, seed=0,
                 start_iter=0, total_iters=None):
        if not 0 <= rank < num_replicas:
            raise ValueError('rank {} not in [0, {})'.format(rank, num_replicas))
        self.per_rank = dataset_size // num_replicas
        self.batches_per_epoch = self.per_rank // batch_size
        if self.batches_per_epoch == 0:
            raise ValueError(
                'dataset of {} samples cannot give one batch of {} per rank on {} rank(s); '
                'lower batch_size or add samples'.format(dataset_size, batch_size, num_replicas))
        self.dataset_size = dataset_size
        self.batch_size = batch_size
        self.num_replicas = num_replicas
        self.rank = rank
        self.seed = seed
        self.start_iter = start_iter
        self.total_iters = total_iters

    def epoch_of(self, iteration):
        """0-based epoch that batch number ``iteration`` (0-based) belongs to."""
        return iteration // self.batches_per_epoch

    def epoch_indices(self, epoch):
        """This rank's sample indices for ``epoch`` (batches_per_epoch * batch_size)."""
        rng = np.random.RandomState(np.random.SeedSequence([self.seed, epoch]).generate_state(1))
        order = rng.permutation(self.dataset_size)[:self.per_rank * self.num_replicas]
        mine = order[self.rank::self.num_replicas]
        return mine[:self.batches_per_epoch * self.batch_size]

    def augment_seed(self, epoch, index):
        """Seed for sample ``index``'s random augmentation in ``epoch``."""
        return int(np.random.SeedSequence([self.seed, epoch, int(index)]).generate_state(1)[0])

    def __iter__(self):
        iteration = self.start_iter
        while self.total_iters is None or iteration < self.total_iters:
            epoch = self.epoch_of(iteration)
            indices = self.epoch_indices(epoch)
            pos = iteration - epoch * self.batches_per_epoch
            batch = indices[pos * self.batch_size:(pos + 1) * self.batch_size]
            yield [(int(i), self.augment_seed(epoch, i)) for i in batch]
            iteration += 1

    def __len__(self):
        if self.total_iters is None:
            raise TypeError('an endless ShardedBatchSampler has no length')
        return max(self.total_iters - self.start_iter, 0)
