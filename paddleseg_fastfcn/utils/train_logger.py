"""Training log: stdout, ``save_dir/train.log`` and optional VisualDL scalars.

Only rank 0 writes (other ranks get a logger that does nothing), so a
distributed run produces one log, as with a single process.

A save_dir where train.log cannot be created stops the run before training
(``DiskWriteError``). A log write that fails later (a full disk) does not stop
training: the checkpoints are what a run produces, and the logger warns once on
stderr and goes on with stdout only; the next checkpoint save then reports the
full disk with its own clear error.
"""
import os
import sys
import time

from paddleseg_fastfcn.utils.atomic_write import write_failure


def format_eta(seconds):
    """Seconds -> 'hh:mm:ss' (hours may exceed 24)."""
    seconds = max(int(round(seconds)), 0)
    return '{:02d}:{:02d}:{:02d}'.format(seconds // 3600, seconds % 3600 // 60, seconds % 60)


class TrainLogger(object):
    """Writes text lines and scalars for one training run.

    Args:
        save_dir (str): train.log (appended, so a resumed run continues it) and
            VisualDL records go here.
        enabled (bool): False on ranks other than 0.
        use_vdl (bool): also write VisualDL scalars (visualdl.LogWriter).
    """

    def __init__(self, save_dir, enabled=True, use_vdl=False):
        self.enabled = enabled
        self._file = None
        self._vdl = None
        if not enabled:
            return
        self.path = os.path.join(save_dir, 'train.log')
        try:
            os.makedirs(save_dir, exist_ok=True)
            self._file = open(self.path, 'a', encoding='utf-8')
        except OSError as e:
            raise write_failure('train.log', self.path, e) from e
        if use_vdl:
            from visualdl import LogWriter
            logdir = os.path.join(save_dir, 'vdl')
            try:
                self._vdl = LogWriter(logdir=logdir)
            except OSError as e:
                raise write_failure('VisualDL records', logdir, e) from e

    def _give_up(self, what, path, error):
        """Warn once on stderr that ``what`` is no longer written; training goes on."""
        print('warning: {}; training goes on without {}'.format(
            write_failure(what, path, error), what), file=sys.stderr, flush=True)

    def info(self, message):
        self._line('INFO', message)

    def warning(self, message):
        self._line('WARNING', message)

    def _line(self, level, message):
        if not self.enabled:
            return
        line = '{} [{}] {}'.format(time.strftime('%Y-%m-%d %H:%M:%S'), level, message)
        print(line, file=sys.stdout, flush=True)
        if self._file is None:
            return
        try:
            self._file.write(line + '\n')
            self._file.flush()
        except OSError as e:
            self._give_up('train.log', self.path, e)
            try:
                self._file.close()
            except OSError:
                pass  # the buffered tail cannot be written either
            self._file = None

    def scalars(self, values, step):
        """values: {'Train/loss': 0.9, ...} -> VisualDL (no-op without --use_vdl)."""
        if self._vdl is None:
            return
        try:
            for tag, value in values.items():
                self._vdl.add_scalar(tag=tag, value=float(value), step=step)
        except OSError as e:
            self._give_up('VisualDL records', self._vdl.logdir, e)
            self._vdl = None

    def close(self):
        if self._file is not None:
            try:
                self._file.close()
            except OSError as e:
                self._give_up('train.log', self.path, e)
            self._file = None
        if self._vdl is not None:
            try:
                self._vdl.close()
            except OSError as e:
                self._give_up('VisualDL records', self._vdl.logdir, e)
            self._vdl = None


class LogWindow(object):
    """Averages loss terms and timings over the iterations between two log lines.

    Args:
        names (list[str]): loss term names (see ``core.loss_terms``).
        batch_size (int): samples per iteration on this rank (for ips).
    """

    def __init__(self, names, batch_size):
        self.names = names
        self.batch_size = batch_size
        self.reset()

    def reset(self):
        self.terms = [0.0] * len(self.names)
        self.count, self.batch_time, self.reader_time = 0, 0.0, 0.0

    def add(self, term_values, batch_cost, reader_cost):
        self.terms = [a + b for a, b in zip(self.terms, term_values)]
        self.count += 1
        self.batch_time += batch_cost
        self.reader_time += reader_cost

    def summary(self):
        """(mean total loss, {name: mean term}, mean batch_cost, mean reader_cost)."""
        n = max(self.count, 1)
        means = {name: value / n for name, value in zip(self.names, self.terms)}
        return sum(means.values()), means, self.batch_time / n, self.reader_time / n

    def line(self, epoch, iteration, total_iters, lr, eta_seconds):
        """The [TRAIN] log line (PaddleSeg's fields plus one field per loss term)."""
        total, means, batch_cost, reader_cost = self.summary()
        return ('[TRAIN] epoch: {}, iter: {}/{}, loss: {:.5f}, {}, lr: {:.6g}, batch_cost: '
                '{:.4f}, reader_cost: {:.5f}, ips: {:.4f} samples/sec, ETA: {}'.format(
                    epoch, iteration, total_iters, total,
                    ', '.join('{}: {:.5f}'.format(n, v) for n, v in means.items()),
                    lr, batch_cost, reader_cost, self.batch_size / max(batch_cost, 1e-12),
                    format_eta(eta_seconds)))

    def scalars(self, lr):
        """VisualDL scalars of the window."""
        total, means, batch_cost, _ = self.summary()
        values = {'Train/loss': total, 'Train/lr': lr, 'Train/batch_cost': batch_cost}
        values.update({'Train/loss_' + n: v for n, v in means.items()})
        return values
