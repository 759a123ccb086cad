"""Per-sample seeding of random augmentation (pairs with ShardedBatchSampler)."""
import random

import numpy as np
import paddle


class SeededDataset(paddle.io.Dataset):
    """Wraps a dataset; item ``(index, seed)`` seeds ``random`` and ``numpy``, then loads.

    PaddleSeg's transforms draw from the global ``random`` / ``numpy`` RNGs, so
    seeding right before each sample makes its augmentation a function of
    (seed, epoch, index) alone, whichever process or worker loads it. The caller's
    RNG states are restored afterwards so loading in the main process
    (num_workers=0) does not perturb the training RNG streams.
    """

    def __init__(self, dataset):
        self.dataset = dataset

    def __getitem__(self, item):
        index, seed = item
        py_state, np_state = random.getstate(), np.random.get_state()
        random.seed(seed)
        np.random.seed(seed % (2 ** 32))
        try:
            return self.dataset[index]
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)

    def __len__(self):
        return len(self.dataset)
