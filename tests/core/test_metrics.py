import numpy as np
import paddle
import pytest

from paddleseg_fastfcn.core.metrics import (AreaAccumulator, calculate_area, compute_metrics,
                                            merge_areas)


def reference_areas(pred, label, num_classes, ignore_index):
    """Per-class areas counted pixel by pixel (the definition, no vectorisation)."""
    inter, pred_area, label_area = (np.zeros(num_classes, np.int64) for _ in range(3))
    for p, t in zip(pred.ravel(), label.ravel()):
        if t == ignore_index:
            continue
        pred_area[p] += 1
        label_area[t] += 1
        inter[t] += p == t
    return inter, pred_area, label_area


def test_hand_made_example():
    # Pixel (2, 0) is ignored; of the other 8, counted by hand per class:
    # class 0: labelled 2, predicted 2, both at (0, 0) -> intersection 1
    # class 1: labelled 4, predicted 2, both at (0, 2) and (1, 1) -> 2
    # class 2: labelled 2, predicted 4, both at (1, 2) and (2, 2) -> 2
    label = np.array([[0, 0, 1], [1, 1, 2], [255, 1, 2]])
    pred = np.array([[0, 2, 1], [0, 1, 2], [0, 2, 2]])
    inter, p_area, l_area = calculate_area(pred, label, 3)
    np.testing.assert_array_equal(inter, [1, 2, 2])
    np.testing.assert_array_equal(l_area, [2, 4, 2])
    np.testing.assert_array_equal(p_area, [2, 2, 4])
    m = compute_metrics(inter, p_area, l_area)
    np.testing.assert_allclose(m['class_iou'], [1 / 3, 2 / 4, 2 / 4])
    assert m['miou'] == pytest.approx((1 / 3 + 0.5 + 0.5) / 3)
    assert m['acc'] == pytest.approx(5 / 8)
    np.testing.assert_allclose(m['class_precision'], [1 / 2, 2 / 2, 2 / 4])
    np.testing.assert_allclose(m['class_recall'], [1 / 2, 2 / 4, 2 / 2])
    np.testing.assert_allclose(m['class_dice'], [2 / 4, 4 / 6, 4 / 6])
    pe = (2 * 2 + 2 * 4 + 4 * 2) / 64
    assert m['kappa'] == pytest.approx((5 / 8 - pe) / (1 - pe))


def test_random_arrays_match_reference_and_accumulate_exactly():
    rng = np.random.default_rng(0)
    num_classes, acc = 6, AreaAccumulator(6, ignore_index=255)
    batches = []
    for _ in range(4):
        label = rng.integers(0, num_classes, size=(2, 1, 9, 7))
        label[rng.random(label.shape) < 0.2] = 255
        pred = rng.integers(0, num_classes, size=(2, 1, 9, 7))
        batches.append((pred, label))
        acc.update(paddle.to_tensor(pred), label)  # tensors and arrays both accepted
    all_pred = np.concatenate([b[0] for b in batches])
    all_label = np.concatenate([b[1] for b in batches])
    expected = reference_areas(all_pred, all_label, num_classes, 255)
    for got, want in zip(acc.areas, expected):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == np.int64
    # Distributed evaluation = summing the area triples of the shards.
    halves = [calculate_area(all_pred[:3], all_label[:3], num_classes),
              calculate_area(all_pred[3:], all_label[3:], num_classes)]
    for got, want in zip(merge_areas(*halves), expected):
        np.testing.assert_array_equal(got, want)
    inter, p_area, l_area = expected
    m = compute_metrics(inter, p_area, l_area)
    iou = inter / (p_area + l_area - inter)
    assert m['miou'] == pytest.approx(iou.mean())
    assert m['acc'] == pytest.approx(inter.sum() / (all_label != 255).sum())
    assert m['dice'] == pytest.approx((2 * inter / (p_area + l_area)).mean())


def test_perfect_prediction_and_absent_class():
    label = np.array([[0, 1], [1, 0]])
    m = compute_metrics(*calculate_area(label, label, 3))
    # class 2 is neither labelled nor predicted: IoU 0, counted in the mean (official convention)
    np.testing.assert_allclose(m['class_iou'], [1, 1, 0])
    assert m['acc'] == 1.0 and m['kappa'] == pytest.approx(1.0)


def test_out_of_range_values_are_named():
    with pytest.raises(ValueError, match=r'label holds value\(s\) \[7\]'):
        calculate_area(np.zeros((2, 2)), np.array([[0, 7], [255, 1]]), 3)
    with pytest.raises(ValueError, match=r'prediction holds value\(s\) \[3\]'):
        calculate_area(np.array([[3, 0]]), np.array([[0, 0]]), 3)
    with pytest.raises(ValueError, match='shape'):
        calculate_area(np.zeros((2, 2)), np.zeros((2, 3)), 3)
