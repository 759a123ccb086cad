"""Evaluation results a person can read: the confusion matrix as CSV and as a heat
map, and the worst classes first.

The heat map is normalised per row (row i = where the pixels labelled i went, so
the diagonal is the class's recall). With many classes (ADE20K's 150) a full
matrix is unreadable, so it shows the ``max_classes`` most confused classes (the
lowest recall among the classes that have labelled pixels) on both axes; the
CSV always holds the whole matrix.
"""
import csv
import os

import numpy as np

from paddleseg_fastfcn.utils.atomic_write import write_atomically

CONFUSION_CSV = 'confusion_matrix.csv'
CONFUSION_PNG = 'confusion_matrix.png'
# Classes drawn in the heat map at most; cells carry their value up to this many too.
MAX_PLOTTED_CLASSES = 30
CORNER = 'label \\ prediction'


def row_normalise(confusion):
    """Each row divided by its sum (rows without pixels stay 0).

    Args:
        confusion (np.ndarray): [C, C] counts, label rows x prediction columns.

    Returns:
        np.ndarray: float64 [C, C].
    """
    confusion = np.asarray(confusion, np.float64)
    rows = confusion.sum(1, keepdims=True)
    return np.divide(confusion, rows, out=np.zeros_like(confusion), where=rows > 0)


def most_confused(confusion, max_classes=MAX_PLOTTED_CLASSES):
    """The ids of the ``max_classes`` classes with the lowest recall, ascending by id.

    Only classes with labelled pixels take part (a class absent from the labels
    has no row to show); all of them when there are at most ``max_classes``.
    Ties are broken by more labelled pixels first, then by class id.

    Returns:
        np.ndarray: int64 class ids.
    """
    confusion = np.asarray(confusion, np.int64)
    label_pixels = confusion.sum(1)
    present = np.flatnonzero(label_pixels > 0)
    if len(present) <= max_classes:
        return present
    recall = np.diag(confusion)[present] / label_pixels[present]
    order = np.lexsort((present, -label_pixels[present], recall))
    return np.sort(present[order[:max_classes]])


def write_confusion_csv(confusion, names, path):
    """Write the [C, C] counts with the class names as header row and first column."""
    def write(tmp):
        with open(tmp, 'w', newline='') as f:
            writer = csv.writer(f)
            writer.writerow([CORNER] + list(names))
            for name, row in zip(names, np.asarray(confusion, np.int64)):
                writer.writerow([name] + [int(v) for v in row])
    write_atomically(path, write, 'confusion matrix CSV')
    return path


def plot_confusion(confusion, names, path, max_classes=MAX_PLOTTED_CLASSES, title=None):
    """Write the row-normalised heat map of the most confused classes as a PNG.

    Rendered with matplotlib's Agg backend (no display needed). The figure grows
    with the number of classes shown, so names stay readable.

    Args:
        confusion (np.ndarray): [C, C] counts, label rows x prediction columns.
        names (list[str]): C class names.
        path (str): the PNG file.
        max_classes (int): classes shown at most (see ``most_confused``).
        title (str | None): figure title; default says what is shown.

    Returns:
        str: ``path``.
    """
    import matplotlib
    matplotlib.use('Agg')  # headless: servers and CI have no display
    from matplotlib import pyplot as plt

    confusion = np.asarray(confusion, np.int64)
    num_classes = len(confusion)
    shown = most_confused(confusion, max_classes)
    if len(shown) == 0:  # no labelled pixel at all: draw the (empty) full matrix
        shown = np.arange(num_classes)
    normalised = row_normalise(confusion)
    values = normalised[np.ix_(shown, shown)]
    labels = ['{} {}'.format(c, names[c]) for c in shown]
    n = len(shown)
    column_labels = list(labels)
    if n < num_classes:
        # Where the rest of each row went, so that every row still sums to 1.
        values = np.concatenate([values, normalised[shown].sum(1, keepdims=True) -
                                 values.sum(1, keepdims=True)], axis=1)
        column_labels.append('other classes')
    side = min(max(3.0 + 0.32 * n, 4.5), 13.0)
    font = 10 if n <= 10 else (8 if n <= 20 else 7)
    fig, ax = plt.subplots(figsize=(side + 1.4, side), dpi=100)
    try:
        image = ax.imshow(values, cmap='Blues', vmin=0.0, vmax=1.0, interpolation='nearest')
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label='fraction of the row')
        ax.set_xticks(range(len(column_labels)), column_labels, rotation=90, fontsize=font)
        ax.set_yticks(range(n), labels, fontsize=font)
        ax.set_xlabel('prediction')
        ax.set_ylabel('label')
        # Values in the cells while they fit (up to 20 classes).
        for i in range(n if n <= 20 else 0):
            for j in range(values.shape[1]):
                if values[i, j] >= 0.005:
                    ax.text(j, i, '{:.2f}'.format(values[i, j]), ha='center', va='center',
                            fontsize=font - 2, color='white' if values[i, j] > 0.5 else 'black')
        if title is None:
            title = 'Confusion matrix, rows normalised ({})'.format(
                'all {} classes'.format(num_classes) if n == num_classes else
                '{} most confused of {} classes'.format(n, num_classes))
        ax.set_title(title, fontsize=10)
        fig.tight_layout()
        # The temporary file keeps the .png extension, from which matplotlib picks the format.
        write_atomically(path, fig.savefig, 'confusion matrix plot')
    finally:
        plt.close(fig)
    return path


def worst_classes(result, names, count=10):
    """Rows for the ``count`` classes with the lowest IoU among those with labelled pixels.

    Args:
        result (dict): ``metrics.compute_metrics`` output.
        names (list[str]): class names.
        count (int): rows at most.

    Returns:
        list[tuple]: ``(class_id, name, iou, acc, label_pixels)``, worst first
        (acc = the class's pixel accuracy, correct / labelled pixels).
    """
    label_area = np.asarray(result['label_area'])
    present = np.flatnonzero(label_area > 0)
    order = present[np.lexsort((present, np.asarray(result['class_iou'])[present]))]
    return [(int(c), names[c], float(result['class_iou'][c]), float(result['class_recall'][c]),
             int(label_area[c])) for c in order[:count]]


def worst_classes_table(result, names, count=10):
    """The log's worst-classes table (see ``worst_classes``) as text lines."""
    rows = worst_classes(result, names, count)
    width = max([len(r[1]) for r in rows] + [5])
    lines = ['{} lowest-IoU classes (of {} with labelled pixels):'.format(
        len(rows), int((np.asarray(result['label_area']) > 0).sum()))]
    lines.append('{:>5}  {:<{w}}  {:>7}  {:>7}  {:>12}'.format('id', 'class', 'IoU', 'Acc', 'pixels',
                                                             w=width))
    for c, name, iou, acc, pixels in rows:
        lines.append('{:>5}  {:<{w}}  {:>7.4f}  {:>7.4f}  {:>12}'.format(c, name, iou, acc, pixels,
                                                                     w=width))
    absent = int((np.asarray(result['label_area']) == 0).sum())
    if absent:
        lines.append('{} class(es) have no labelled pixel (IoU 0 in the mIoU)'.format(absent))
    return lines


def write_confusion_files(confusion, names, save_dir):
    """Write ``confusion_matrix.csv`` and ``confusion_matrix.png`` into ``save_dir``.

    Returns:
        tuple: the two file paths.
    """
    os.makedirs(save_dir, exist_ok=True)
    return (write_confusion_csv(confusion, names, os.path.join(save_dir, CONFUSION_CSV)),
            plot_confusion(confusion, names, os.path.join(save_dir, CONFUSION_PNG)))
