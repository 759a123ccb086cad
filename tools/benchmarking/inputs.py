"""The benchmark's inputs, numpy only: the PyTorch peer's child process (no Paddle) reads them too."""
import numpy as np

INPUT_SEED = 0


def image_batch(batch, height, width, seed=INPUT_SEED):
    """The benchmark's input: the same standard-normal batch in every case, numpy float32."""
    rng = np.random.RandomState(seed)
    return rng.standard_normal((batch, 3, height, width)).astype(np.float32)


def label_batch(batch, height, width, num_classes, ignore_index=255, seed=INPUT_SEED):
    """Random int64 labels with about 5% ignored pixels, numpy ``[N, H, W]``."""
    rng = np.random.RandomState(seed + 1)
    label = rng.randint(0, num_classes, size=(batch, height, width)).astype(np.int64)
    label[rng.uniform(size=label.shape) < 0.05] = ignore_index
    return label
