import csv
import json
import os
import subprocess
import sys

import paddle
import pytest

from paddleseg_fastfcn.core.builder import build_model, load_config
from paddleseg_fastfcn.datasets.synthetic import CLASS_NAMES, write_dataset
from tests.datasets.helpers import mini_dataset_section, write_config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args):
    return subprocess.run([sys.executable, os.path.join(REPO, 'val.py')] + list(args),
                          capture_output=True, text=True, cwd=REPO)


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('val')
    root = str(tmp / 'mini')
    write_dataset(root, num_train=1, num_val=3, size=40)
    cfg = write_config(tmp / 'fastscnn.yml', mini_dataset_section(root, 'train'),
                       mini_dataset_section(root, 'val'))
    paddle.seed(0)
    weights = str(tmp / 'model' / 'model.pdparams')
    os.makedirs(os.path.dirname(weights))
    paddle.save(build_model(load_config(cfg)).state_dict(), weights)
    return tmp, cfg, weights


def test_val_writes_per_class_json_and_csv(setup):
    tmp, cfg, weights = setup
    out = tmp / 'results'
    res = run('--config', cfg, '--model_path', weights, '--save_dir', str(out), '--aug_eval',
              '--scales', '0.75', '1.0', '--flip_horizontal', '--is_slide', '--crop_size', '32', '32',
              '--stride', '24', '24')
    assert res.returncode == 0, res.stderr
    assert 'mIoU' in res.stdout + res.stderr
    metrics = json.loads((out / 'metrics.json').read_text())
    assert 0.0 <= metrics['miou'] <= 1.0 and len(metrics['class_iou']) == len(CLASS_NAMES)
    assert metrics['inference']['scales'] == [0.75, 1.0] and metrics['inference']['is_slide']
    with open(out / 'class_metrics.csv') as f:
        rows = list(csv.DictReader(f))
    assert [r['name'] for r in rows] == list(CLASS_NAMES)
    assert sum(int(r['label_pixels']) for r in rows) > 0


def test_val_default_save_dir_is_next_to_the_model(setup):
    tmp, cfg, weights = setup
    res = run('--config', cfg, '--model_path', weights)
    assert res.returncode == 0, res.stderr
    assert os.path.isfile(os.path.join(os.path.dirname(weights), 'class_metrics.csv'))


def test_val_bad_input_is_named(setup):
    tmp, cfg, _ = setup
    res = run('--config', cfg, '--model_path', str(tmp / 'missing.pdparams'))
    assert res.returncode == 2 and 'argument --model_path: file not found:' in res.stderr
    assert 'missing.pdparams' in res.stderr
    assert 'Traceback' not in res.stderr


def test_val_bad_inference_option_is_named(setup):
    tmp, cfg, weights = setup
    res = run('--config', cfg, '--model_path', weights, '--is_slide', '--crop_size', '32', '32',
              '--stride', '40', '24')
    assert res.returncode == 1 and 'Traceback' not in res.stderr
    assert 'from --is_slide, --crop_size, --stride' in res.stderr
    assert 'stride [40, 24] must not exceed crop_size [32, 32]' in res.stderr
