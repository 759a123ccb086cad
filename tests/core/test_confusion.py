"""The confusion matrix (core.metrics) and its report files (core.eval_report)."""
import csv

import numpy as np
import pytest
from PIL import Image

from paddleseg_fastfcn.core.eval_report import (CORNER, most_confused, row_normalise,
                                                worst_classes, worst_classes_table,
                                                write_confusion_files)
from paddleseg_fastfcn.core.metrics import (AreaAccumulator, all_reduce_confusion,
                                            calculate_area, compute_metrics, confusion_matrix)
from paddleseg_fastfcn.datasets.class_names import ADE20K

# The hand-made example of test_metrics.py: pixel (2, 0) ignored.
LABEL = np.array([[0, 0, 1], [1, 1, 2], [255, 1, 2]])
PRED = np.array([[0, 2, 1], [0, 1, 2], [0, 2, 2]])
# Counted by hand, rows = label, columns = prediction:
# label 0 at (0,0) -> 0, (0,1) -> 2; label 1 at (0,2) -> 1, (1,0) -> 0, (1,1) -> 1, (2,1) -> 2;
# label 2 at (1,2) -> 2, (2,2) -> 2.
EXPECTED = np.array([[1, 0, 1], [1, 2, 1], [0, 0, 2]])


def test_hand_made_matrix_and_its_margins_are_the_areas():
    confusion = confusion_matrix(PRED, LABEL, 3)
    assert confusion.dtype == np.int64
    np.testing.assert_array_equal(confusion, EXPECTED)
    inter, pred_area, label_area = calculate_area(PRED, LABEL, 3)
    np.testing.assert_array_equal(np.diag(confusion), inter)
    np.testing.assert_array_equal(confusion.sum(1), label_area)
    np.testing.assert_array_equal(confusion.sum(0), pred_area)


def test_accumulates_over_batches_like_the_areas():
    rng = np.random.default_rng(3)
    preds = rng.integers(0, 4, (5, 1, 6, 7))
    labels = rng.integers(0, 4, (5, 1, 6, 7))
    labels[labels == 3] = 255
    acc = AreaAccumulator(4, ignore_index=255)
    for p, t in zip(preds, labels):
        acc.update(p, t)
    np.testing.assert_array_equal(acc.confusion, confusion_matrix(preds, labels, 4))
    for got, want in zip(acc.areas, calculate_area(preds, labels, 4)):
        np.testing.assert_array_equal(got, want)
    assert acc.confusion[:, 3].sum() == int((preds[labels != 255] == 3).sum())
    assert acc.confusion[3].sum() == 0  # label 3 was made the ignore index
    # One process: the all-reduce is the identity.
    np.testing.assert_array_equal(all_reduce_confusion(acc.confusion), acc.confusion)


def test_row_normalise_keeps_empty_rows_zero():
    norm = row_normalise([[1, 3], [0, 0]])
    np.testing.assert_allclose(norm, [[0.25, 0.75], [0, 0]])


def test_most_confused_picks_the_lowest_recall_classes():
    confusion = np.diag([10, 10, 10, 10, 0]).astype(np.int64)
    confusion[1, 0] = 30   # class 1: recall 10 / 40
    confusion[3, 2] = 10   # class 3: recall 10 / 20
    np.testing.assert_array_equal(most_confused(confusion, max_classes=2), [1, 3])
    # Class 4 has no labelled pixel: never shown, even when everything else fits.
    np.testing.assert_array_equal(most_confused(confusion, max_classes=10), [0, 1, 2, 3])


def test_worst_classes_come_first_with_names():
    result = compute_metrics(*calculate_area(PRED, LABEL, 4))  # class 3: no pixel at all
    names = ['sky', 'road', 'car', 'bus']
    rows = worst_classes(result, names)
    assert [r[0] for r in rows] == [0, 1, 2]      # IoU 1/3, 1/2 (4 px), 1/2 (2 px): by IoU, id
    assert rows[0][:2] == (0, 'sky') and rows[0][2] == pytest.approx(1 / 3)
    assert rows[1][3] == pytest.approx(2 / 4) and rows[1][4] == 4   # acc = recall, pixels
    lines = worst_classes_table(result, names, count=2)
    assert 'sky' in lines[2] and 'road' in lines[3] and len(lines) == 5
    assert lines[-1].startswith('1 class(es) have no labelled pixel')


def _read_csv(path):
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    return rows[0], [r[0] for r in rows[1:]], np.array([[int(v) for v in r[1:]] for r in rows[1:]])


def test_files_round_trip_and_png_is_an_image(tmp_path):
    names = ['wall', 'sky, clear', 'road']   # a comma in a name must survive the CSV
    csv_path, png_path = write_confusion_files(EXPECTED, names, str(tmp_path))
    header, first_column, matrix = _read_csv(csv_path)
    assert header == [CORNER] + names and first_column == names
    np.testing.assert_array_equal(matrix, EXPECTED)
    with Image.open(png_path) as im:
        assert im.format == 'PNG' and 200 <= im.width <= 1400 and 200 <= im.height <= 1400


def test_150_classes_show_the_30_most_confused(tmp_path):
    rng = np.random.default_rng(0)
    confusion = rng.integers(0, 50, (150, 150)) + np.diag(rng.integers(0, 5000, 150))
    csv_path, png_path = write_confusion_files(confusion, list(ADE20K), str(tmp_path))
    header, _, matrix = _read_csv(csv_path)
    assert header[1:] == list(ADE20K) and matrix.shape == (150, 150)
    np.testing.assert_array_equal(matrix, confusion)
    assert len(most_confused(confusion)) == 30
    with Image.open(png_path) as im:
        assert 600 <= im.width <= 1600 and 600 <= im.height <= 1600
