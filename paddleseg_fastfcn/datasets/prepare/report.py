"""The summary every preparation tool prints: images, labels, classes seen, skips and failures."""
import sys
from collections import Counter

import numpy as np

from paddleseg_fastfcn.utils.atomic_write import DiskWriteError
from paddleseg_fastfcn.utils.batch_failures import format_failures
from ..checks import DatasetError


def value_ranges(values):
    """``[0, 1, 2, 5, 7, 8]`` -> ``'0-2, 5, 7-8'`` (sorted, compact)."""
    values = sorted(int(v) for v in values)
    parts, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(str(start) if start == v else '{}-{}'.format(start, v))
            start = None
    return ', '.join(parts) if parts else 'none'


class PrepareReport:
    """Counts and problems of one preparation run.

    Args:
        title (str): first line of the summary (dataset and input folder).
        num_classes (int): classes of the written labels (values 0..num_classes-1).
        ignore_index (int): the label value that is not a class.
        class_names (list[str] | None): names of classes 0..num_classes-1.
    """

    def __init__(self, title, num_classes, ignore_index=255, class_names=None):
        self.title = title
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.class_names = class_names
        self.images = Counter()      # split -> images listed
        self.labels_read = 0
        self.labels_written = 0
        self.pixels = Counter()      # label value -> pixels, over every listed label
        self.lists = []              # (path, lines)
        self.skipped = []            # (path, reason)
        self.failed = []             # (path, reason)
        self.notes = []

    def add_label(self, label):
        """Count the pixels of each value of one label ([H, W] integers, as trained on)."""
        self.labels_read += 1
        values, counts = np.unique(np.asarray(label), return_counts=True)
        self.pixels.update(dict(zip(values.tolist(), counts.tolist())))

    def skip(self, path, reason):
        self.skipped.append((str(path), reason))

    def fail(self, path, reason):
        self.failed.append((str(path), reason))

    def _name(self, value):
        if value == self.ignore_index:
            return 'ignore'
        if self.class_names and 0 <= value < len(self.class_names):
            return self.class_names[value]
        return ''

    def format(self):
        """The summary as text (one item per line)."""
        total = sum(self.images.values())
        splits = ', '.join('{} {}'.format(k, v) for k, v in self.images.items()) or 'none'
        classes = sorted(v for v in self.pixels if v != self.ignore_index)
        all_pixels = sum(self.pixels.values()) or 1
        lines = [self.title,
                 '  images: {} ({} in total)'.format(splits, total),
                 '  labels: {} read and checked, {} written'.format(self.labels_read, self.labels_written),
                 '  classes seen: {} of {}: {}'.format(len(classes), self.num_classes, value_ranges(classes)),
                 '  label histogram (value name: pixels, share):']
        for value in sorted(self.pixels):
            name = self._name(value)
            lines.append('    {:>3}{}: {} px, {:.2%}'.format(
                value, ' ' + name if name else '', self.pixels[value], self.pixels[value] / all_pixels))
        for path, count in self.lists:
            lines.append('  wrote {} ({} lines)'.format(path, count))
        lines.extend('  note: ' + note for note in self.notes)
        lines.append('  skipped: {}'.format(len(self.skipped)))
        lines.extend('    {}: {}'.format(p, r) for p, r in self.skipped)
        lines.append('  failed: {}'.format(len(self.failed)))
        lines.extend('    {}: {}'.format(p, r) for p, r in self.failed)
        return '\n'.join(lines)

    def finish(self, out=None, err=None):
        """Print the summary; with failures, list them again on stderr.

        Returns:
            int: the exit code, 0 when every input was processed, else 1.
        """
        out = out or sys.stdout
        err = err or sys.stderr
        print(self.format(), file=out)
        if not self.failed:
            return 0
        print('error: ' + format_failures(self.failed), file=err)
        return 1


def run_and_report(prepare, *args, **kwargs):
    """Run ``prepare(*args, **kwargs)`` (returns a PrepareReport), print its summary.

    Returns:
        int: the exit code for a tool: 0 when every input was processed, 1 when some
        failed (listed on stderr) or the run could not start or write (the error, e.g. a
        missing input folder or a full disk, on stderr).
    """
    try:
        report = prepare(*args, **kwargs)
    except (DatasetError, FileNotFoundError, DiskWriteError) as e:
        print('error: {}'.format(e), file=sys.stderr)
        return 1
    return report.finish()
