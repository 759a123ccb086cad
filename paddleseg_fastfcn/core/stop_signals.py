"""SIGTERM / SIGINT during training: finish the iteration, save it, say how to resume.

The default reaction (KeyboardInterrupt, or death by SIGTERM) can land in the middle
of a checkpoint write. Here the first signal only records a request; the loop reads it
once per iteration and stops after that iteration's checkpoint is complete. A second
SIGINT (a user pressing Ctrl-C again) stops at once (``StopNow``): a checkpoint being
written then removes its temporary folder (``core.checkpoint._atomic_dir``), and the
previous checkpoints stay complete. Repeated SIGTERMs (supervisors resend it before
their SIGKILL) do not cut the checkpoint short. Exit statuses follow the shell's 128 +
signal number: 130 for SIGINT, 143 for SIGTERM.
"""
import signal
import sys
import threading

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def exit_status(signum):
    """The shell's status for a run ended by ``signum`` (130 SIGINT, 143 SIGTERM)."""
    return 128 + int(signum)


class TrainingStopped(Exception):
    """Training stopped on request at a safe point; ``checkpoint`` holds the last iteration.

    Attributes:
        signum (int): the signal received.
        iteration (int): the last completed iteration.
        checkpoint (str): the complete checkpoint to resume from.
    """

    def __init__(self, signum, iteration, checkpoint, save_dir):
        self.signum, self.iteration, self.checkpoint = signum, iteration, checkpoint
        super().__init__(
            'training stopped by {} after iteration {}; the checkpoint {} is complete: continue '
            'with --resume_model {} (or --save_dir {} --resume_model auto)'.format(
                signal.Signals(signum).name, iteration, checkpoint, checkpoint, save_dir))


class StopNow(BaseException):
    """A second SIGINT: training ends where it is (no new checkpoint)."""

    def __init__(self, signum):
        self.signum = signum
        super().__init__('stopped at once by a second {}; the checkpoints written before are '
                         'complete'.format(signal.Signals(signum).name))


class StopRequest:
    """Catches SIGTERM / SIGINT while installed (main thread only; elsewhere a no-op).

    For one process: under ``paddle.distributed.launch`` the trainer leaves the signals
    to the launcher (``core.train``).

    Attributes:
        signum (int | None): the first signal received, None before any.
    """

    def __init__(self):
        self.signum, self._previous = None, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def _handle(self, signum, frame):
        if self.signum is not None:
            if signum == signal.SIGINT:
                raise StopNow(signum)
            return
        self.signum = signum
        print('received {}: stopping after the current iteration and its checkpoint{}'.format(
            signal.Signals(signum).name, ' (Ctrl-C again: at once)' if signum == signal.SIGINT else ''),
            file=sys.stderr, flush=True)

    @property
    def requested(self):
        return self.signum is not None
