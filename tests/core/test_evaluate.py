import csv
import json
import os

import cv2
import numpy as np
import paddle
import paddleseg.transforms as T
import pytest
from PIL import Image

from paddleseg_fastfcn.core.evaluate import evaluate, evaluate_checkpoint
from paddleseg_fastfcn.core.inference_options import InferenceOptions
from paddleseg_fastfcn.core.metrics import calculate_area, compute_metrics
from paddleseg_fastfcn.datasets import MiniADE20K
from paddleseg_fastfcn.datasets.synthetic import write_dataset

# Nearest-colour classifier over these RGB means, as a 1x1 conv:
# argmax_c (2 x.mu_c - |mu_c|^2) = argmin_c |x - mu_c|^2.
COLORS = np.array([[200, 40, 40], [40, 200, 40], [40, 40, 200]], np.float32)


class NearestColor(paddle.nn.Layer):
    def __init__(self, colors=COLORS):
        super().__init__()
        self.conv = paddle.nn.Conv2D(3, len(colors), 1)
        self.conv.weight.set_value(2 * colors[:, :, None, None])
        self.conv.bias.set_value(-(colors ** 2).sum(1))

    def forward(self, x):
        return [self.conv(x)]


@pytest.fixture()
def colour_dataset(tmp_path):
    """File-list Dataset whose images are the colours of their labels (plus noise)."""
    rng = np.random.default_rng(0)
    lines = []
    for i in range(3):
        label = np.zeros((24, 32), np.uint8)
        label[:, 10:] = 1
        label[12:, 20:] = 2
        label[:3, :3] = 255
        img = COLORS[np.minimum(label, 2)] + rng.normal(0, 5, (24, 32, 3))
        cv2.imwrite(str(tmp_path / 'im{}.png'.format(i)), np.clip(img, 0, 255).astype(np.uint8)[:, :, ::-1])
        cv2.imwrite(str(tmp_path / 'lb{}.png'.format(i)), label)
        lines.append('im{0}.png lb{0}.png\n'.format(i))
    (tmp_path / 'val.txt').write_text(''.join(lines))
    return tmp_path


def file_list_dataset(root, transforms):
    from paddleseg.datasets import Dataset
    return Dataset(mode='val', dataset_root=str(root), transforms=transforms, num_classes=3,
                   val_path=str(root / 'val.txt'))


def test_perfect_model_scores_one_and_mode_is_restored(colour_dataset):
    model = NearestColor()
    model.train()
    result = evaluate(model, file_list_dataset(colour_dataset, []), print_detail=False)
    assert result['miou'] == pytest.approx(1.0) and result['acc'] == pytest.approx(1.0)
    assert result['kappa'] == pytest.approx(1.0) and result['num_images'] == 3
    # ignored 3x3 corner excluded from the pixel count
    assert result['label_area'].sum() == 3 * (24 * 32 - 9)
    assert model.training
    model.eval()
    evaluate(model, file_list_dataset(colour_dataset, []), print_detail=False)
    assert not model.training


def test_swapped_classes_match_numpy_reference(colour_dataset):
    model = NearestColor(COLORS[[1, 0, 2]])  # predicts 1 for class 0 and 0 for class 1
    ds = file_list_dataset(colour_dataset, [])
    result = evaluate(model, ds, print_detail=False)
    preds, labels = [], []
    for i in range(len(ds)):
        label = cv2.imread(ds.file_list[i][1], cv2.IMREAD_UNCHANGED)
        labels.append(label)
        preds.append(np.choose(np.minimum(label, 2), [1, 0, 2]))
    expected = compute_metrics(*calculate_area(np.stack(preds), np.stack(labels), 3))
    np.testing.assert_allclose(result['class_iou'], expected['class_iou'])
    assert result['class_iou'][0] == 0 and result['class_iou'][2] == pytest.approx(1.0)
    # Per image: label 0 = 24 x 10 - 9 ignored px, 1 = 24 x 22 - 12 x 12, 2 = 12 x 12;
    # classes 0 and 1 swap, class 2 is right.
    per_image = np.array([[0, 231, 0], [384, 0, 0], [0, 0, 144]])
    np.testing.assert_array_equal(result['confusion_matrix'], 3 * per_image)


def test_resized_input_is_scored_at_original_size_with_slide_and_flip(colour_dataset):
    ds = file_list_dataset(colour_dataset, [T.Resize(target_size=(40, 30))])
    options = InferenceOptions(aug=True, scales=[0.75, 1.0], flip_horizontal=True, is_slide=True,
                               crop_size=(16, 16), stride=(12, 12))
    result = evaluate(NearestColor(), ds, options=options, print_detail=False)
    assert result['label_area'].sum() == 3 * (24 * 32 - 9)
    assert result['miou'] > 0.9


def _mini_checkpoint(tmp_path, extra_yaml=''):
    from tests.datasets.helpers import mini_dataset_section, write_config
    from paddleseg_fastfcn.core.builder import build_model, load_config
    root = str(tmp_path / 'mini')
    write_dataset(root, num_train=1, num_val=2, size=32)
    cfg_path = write_config(tmp_path / 'c.yml', mini_dataset_section(root, 'train'),
                            mini_dataset_section(root, 'val'))
    with open(cfg_path, 'a') as f:
        f.write(extra_yaml)
    paddle.seed(0)
    model = build_model(load_config(cfg_path))
    paddle.save(model.state_dict(), str(tmp_path / 'model.pdparams'))
    return cfg_path, str(tmp_path / 'model.pdparams')


def test_evaluate_checkpoint_writes_json_and_csv(tmp_path):
    cfg_path, _ = _mini_checkpoint(tmp_path)
    result = evaluate_checkpoint(cfg_path, str(tmp_path / 'model.pdparams'), print_detail=False)
    with open(tmp_path / 'metrics.json') as f:
        saved = json.load(f)
    assert saved['miou'] == pytest.approx(result['miou'])
    assert saved['class_names'] == list(MiniADE20K.CLASS_NAMES)
    rows = (tmp_path / 'class_metrics.csv').read_text().strip().splitlines()
    assert rows[0].startswith('class_id,name,iou') and len(rows) == 1 + MiniADE20K.NUM_CLASSES
    assert 'confusion_matrix' not in saved  # it has its own CSV
    with open(tmp_path / 'confusion_matrix.csv', newline='') as f:
        table = list(csv.reader(f))
    assert table[0][1:] == list(MiniADE20K.CLASS_NAMES)
    assert [r[0] for r in table[1:]] == list(MiniADE20K.CLASS_NAMES)
    matrix = np.array([[int(v) for v in r[1:]] for r in table[1:]])
    np.testing.assert_array_equal(matrix, result['confusion_matrix'])
    np.testing.assert_array_equal(matrix.sum(1), saved['label_area'])
    with Image.open(tmp_path / 'confusion_matrix.png') as im:
        assert im.format == 'PNG' and im.width >= 200
    with pytest.raises(FileNotFoundError, match='nothing.pdparams'):
        evaluate_checkpoint(cfg_path, str(tmp_path / 'nothing.pdparams'))


def test_worker_processes_give_identical_areas(colour_dataset):
    model = NearestColor(COLORS[[0, 2, 1]])
    ds = file_list_dataset(colour_dataset, [])
    single = evaluate(model, ds, num_workers=0, print_detail=False)
    workers = evaluate(model, ds, num_workers=2, print_detail=False)
    for key in ('intersect_area', 'pred_area', 'label_area'):
        np.testing.assert_array_equal(single[key], workers[key])


def test_unreadable_image_raises_instead_of_hanging(colour_dataset, call_with_timeout):
    """With num_workers=0 Paddle 3.3.1's DataLoader would swallow the error and hang."""
    from paddleseg_fastfcn.datasets import validate_dataset
    (colour_dataset / 'im1.png').write_bytes(b'not an image')
    dataset = validate_dataset(file_list_dataset(colour_dataset, []), {'type': 'Dataset'})
    with pytest.raises(Exception, match='im1.png'):
        call_with_timeout(evaluate, NearestColor(), dataset, num_workers=0, print_detail=False,
                          timeout=120)


def test_class_names_from_a_names_file_or_a_builtin_list(tmp_path):
    names_file = tmp_path / 'names.txt'
    names_file.write_text('void\nround\nbox\ntri\nline\n')
    cfg_path, weights = _mini_checkpoint(tmp_path, 'class_names: {}\n'.format(names_file))
    evaluate_checkpoint(cfg_path, weights, save_dir=str(tmp_path / 'out'), print_detail=False)
    saved = json.loads((tmp_path / 'out' / 'metrics.json').read_text())
    assert saved['class_names'] == ['void', 'round', 'box', 'tri', 'line']
    header = (tmp_path / 'out' / 'confusion_matrix.csv').read_text().splitlines()[0]
    assert header.endswith(',void,round,box,tri,line')


@pytest.mark.parametrize('setting, message', [
    ('cityscapes', "class_names: 'cityscapes' holds 19 names but the dataset has 5 classes"),
    ('no/such/names.txt', 'neither a built-in list .* nor an existing file'),
])
def test_bad_class_names_are_named(tmp_path, setting, message):
    from paddleseg_fastfcn.datasets import DatasetError
    cfg_path, weights = _mini_checkpoint(tmp_path, 'class_names: {}\n'.format(setting))
    with pytest.raises(DatasetError, match=message):
        evaluate_checkpoint(cfg_path, weights, print_detail=False)
