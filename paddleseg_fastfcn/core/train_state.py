"""What the trainer (``core.train``) holds: fixed settings, built parts and progress.

``TrainState`` is the progress a checkpoint's ``train_state.pkl`` holds; the
stored form is ``TrainState.to_dict()`` (plain python / numpy values, which the
checkpoint reader accepts) plus the RNG states that ``core.checkpoint`` adds
under ``'rng'``.
"""
import dataclasses

import paddle

# Keys core.checkpoint stores next to the state's fields.
CHECKPOINT_KEYS = ('rng',)


@dataclasses.dataclass
class TrainState:
    """Where training is, updated by the loop and saved with every checkpoint.

    Attributes:
        seed (int): the seed of the data order (``ShardedBatchSampler``) and of the RNGs.
        total_iters (int): the length of the schedule the state belongs to.
        iteration (int): iterations completed.
        epoch (int): the epoch (from 1) of the last completed iteration, 0 before any.
        best_miou (float): best validation mIoU so far, -1.0 before any evaluation.
        best_iter (int): the iteration of ``best_miou``, -1 before any evaluation.
        scaler (dict | None): the fp16 ``GradScaler``'s ``state_dict`` (None without it).
    """
    seed: int
    total_iters: int
    iteration: int = 0
    epoch: int = 0
    best_miou: float = -1.0
    best_iter: int = -1
    scaler: dict = None

    def record_score(self, miou, iteration):
        """Keep ``miou`` as the best if it beats the best so far; True if it does."""
        if miou > self.best_miou:
            self.best_miou, self.best_iter = float(miou), int(iteration)
            return True
        return False

    def to_dict(self):
        """The fields as a plain dict (what ``train_state.pkl`` stores)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values, source='train_state.pkl'):
        """The state stored by ``to_dict``: every field, plus ``CHECKPOINT_KEYS`` (skipped).

        Raises:
            ValueError: a required field is missing or a key is unknown (named, with ``source``).
        """
        fields = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(fields) - set(CHECKPOINT_KEYS))
        missing = [name for name in fields if name not in values]
        if unknown or missing:
            raise ValueError('{} is not a train state of this version: missing {}, unknown {}'
                             .format(source, missing, unknown))
        return cls(**{name: values[name] for name in fields})


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """The run's fixed options (``train``'s arguments; ``amp_dtype`` None = fp32)."""
    save_dir: str
    do_eval: bool
    save_interval: int
    log_iters: int
    keep_checkpoint_max: int
    num_workers: int
    device: str
    amp_dtype: str
    amp_level: str
    world_size: int
    rank: int


@dataclasses.dataclass
class TrainRun:
    """What is built from the config, and the progress (``state``) checkpoints carry.

    AMP O2 replaces ``model`` / ``optimizer`` by their decorated versions once,
    and resuming replaces ``state`` by the checkpoint's. ``eval_options``
    (``InferenceOptions`` from the config's ``test_config``) and ``class_names`` are
    set when the run evaluates (do_eval).
    """
    model: paddle.nn.Layer
    optimizer: object
    lr_scheduler: object
    losses: dict
    names: list
    train_dataset: object
    val_dataset: object
    batch_size: int
    state: TrainState
    eval_options: object = None
    class_names: list = None
    # Fixed training batches whose statistics precise_bn sets before each evaluation (or None).
    bn_batches: list = None
