"""The data loader of training and evaluation: paddle.io.DataLoader, except with num_workers=0.

Measured on paddlepaddle 3.3.1: with ``num_workers=0`` the DataLoader reads in a
background thread, and an exception raised by the dataset (a missing file, a
bad label) is printed by that thread while the loop waits on the queue forever.
A run that hangs instead of naming the bad file loses the error, so without
workers the batches are read here, in the calling thread, with the same
collation (``default_collate_fn`` and numpy -> Tensor, unless a ``collate_fn``
is given). With workers the DataLoader is used; a worker's exception reaches the
main process only as paddle's ``SystemError: (Fatal) Blocking queue is killed``
(the worker prints the real one), so :class:`WorkerLoader` reads the batches that
were in flight again in the calling thread, which raises the dataset's own error
(a ``DatasetError`` naming the file).
"""
import collections

import numpy as np
import paddle
from paddle.io.dataloader.collate import default_collate_fn


def _to_tensors(batch):
    """numpy arrays -> paddle Tensors, as the DataLoader hands them out."""
    if isinstance(batch, np.ndarray):
        return paddle.to_tensor(batch)
    if isinstance(batch, dict):
        return {key: _to_tensors(value) for key, value in batch.items()}
    if isinstance(batch, list):
        return [_to_tensors(value) for value in batch]
    return batch


def _default_collate(samples):
    return _to_tensors(default_collate_fn(samples))


class InProcessLoader(object):
    """Iterates ``batch_sampler`` and reads each batch in the calling thread."""

    def __init__(self, dataset, batch_sampler, collate_fn=None):
        self.dataset = dataset
        self.batch_sampler = batch_sampler
        self.collate_fn = collate_fn or _default_collate

    def __iter__(self):
        for indices in self.batch_sampler:
            yield self.collate_fn([self.dataset[i] for i in indices])

    def __len__(self):
        return len(self.batch_sampler)


class _RecordingSampler(object):
    """``batch_sampler``, remembering the batches handed to the workers and not yet returned."""

    def __init__(self, batch_sampler):
        self.batch_sampler = batch_sampler
        self.in_flight = collections.deque()

    def __iter__(self):
        for indices in self.batch_sampler:
            self.in_flight.append(list(indices))
            yield indices

    def __len__(self):
        return len(self.batch_sampler)


class WorkerLoader(object):
    """``paddle.io.DataLoader`` with workers; a worker's failure is raised as the dataset's own error."""

    def __init__(self, dataset, batch_sampler, num_workers, collate_fn=None):
        self.dataset = dataset
        self.sampler = _RecordingSampler(batch_sampler)
        self.loader = paddle.io.DataLoader(dataset, batch_sampler=self.sampler, num_workers=num_workers,
                                           collate_fn=collate_fn, return_list=True)

    def __iter__(self):
        self.sampler.in_flight.clear()
        batches = iter(self.loader)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                return
            except Exception:
                self._raise_the_datasets_error()
                raise  # the batches read fine here: the failure was the worker's own
            self.sampler.in_flight.popleft()
            yield batch

    def _raise_the_datasets_error(self):
        # Batches come back in the order they were handed out, so the failed one is in
        # flight; at most (prefetch x workers) batches are read again.
        for indices in list(self.sampler.in_flight):
            for i in indices:
                self.dataset[i]

    def __len__(self):
        return len(self.sampler)


def build_loader(dataset, batch_sampler, num_workers, collate_fn=None):
    """Batches of ``dataset`` in ``batch_sampler``'s order, read by ``num_workers`` processes.

    Args:
        dataset (paddle.io.Dataset): indexable samples.
        batch_sampler (Iterable[list[int]]): the indices of each batch, with ``len``.
        num_workers (int): 0 reads in the calling thread (see the module docstring).
        collate_fn (callable | None): list of samples -> batch; None stacks them into
            paddle Tensors as the DataLoader does.

    Returns:
        an iterable of collated batches (dicts of paddle Tensors for PaddleSeg datasets).
    """
    if num_workers == 0:
        return InProcessLoader(dataset, batch_sampler, collate_fn)
    return WorkerLoader(dataset, batch_sampler, num_workers, collate_fn)
