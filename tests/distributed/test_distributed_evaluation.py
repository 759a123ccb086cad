"""val.py under paddle.distributed.launch == val.py in one process.

5 validation images on 2 ranks: rank 0 evaluates 3, rank 1 evaluates 2 (uneven
shards). The per-class areas are integer pixel counts summed with all_reduce,
so they must be equal exactly, and every metric to 1e-6.
"""
import json
import os

import cv2
import numpy as np
import paddle
import pytest

from paddleseg_fastfcn.core.builder import build_model, load_config
from paddleseg_fastfcn.core.evaluate import evaluate_checkpoint

from tests.core.train_helpers import write_config
from tests.distributed.launch_helpers import REPO, explain, launch, worker_logs

pytestmark = pytest.mark.distributed

NUM_VAL = 5


def _fixed_checkpoint(tmp_path):
    """The tiny FastFCN (BN + Encoding's BN1D, eval mode) with seeded weights, and a
    config whose val set is 5 images."""
    config = write_config(tmp_path)
    root = tmp_path / 'data'
    with open(root / 'train.txt') as f:
        lines = f.read().split()
    pairs = [' '.join(lines[i:i + 2]) for i in range(0, 2 * NUM_VAL, 2)]
    (root / 'val5.txt').write_text('\n'.join(pairs) + '\n')
    opts = ['val_dataset.val_path={}'.format(root / 'val5.txt')]
    paddle.seed(11)
    model = build_model(load_config(config))
    path = str(tmp_path / 'fixed.pdparams')
    paddle.save(model.state_dict(), path)
    labelled = 0
    for pair in pairs:
        label = cv2.imread(str(root / pair.split()[1]), cv2.IMREAD_GRAYSCALE)
        labelled += int((label != 255).sum())
    return config, opts, path, labelled


def test_two_ranks_give_the_single_process_metrics(tmp_path):
    config, opts, model_path, labelled = _fixed_checkpoint(tmp_path)
    single = evaluate_checkpoint(config, model_path, save_dir=str(tmp_path / 'single'),
                                 opts=opts, print_detail=False)
    assert single['num_images'] == NUM_VAL
    assert int(single['label_area'].sum()) == labelled
    # Predictions use more than one class, so the comparison covers real IoUs.
    assert int((single['pred_area'] > 0).sum()) >= 2

    out = tmp_path / 'dist'
    log_dir = tmp_path / 'launch_logs'
    result = launch(os.path.join(REPO, 'val.py'),
                    ['--config', config, '--model_path', model_path, '--save_dir', out,
                     '--opts'] + opts, log_dir)
    assert result.returncode == 0, explain(result, log_dir)
    logs = worker_logs(str(log_dir))
    assert '3/3 [' in logs[0] and '2/2 [' in logs[1]  # progress bars: 3 + 2 images
    with open(out / 'metrics.json') as f:
        dist = json.load(f)
    # No pixel counted twice or dropped across the uneven shards.
    for key in ('intersect_area', 'pred_area', 'label_area'):
        assert dist[key] == single[key].tolist(), key
    for key in ('miou', 'acc', 'kappa', 'dice'):
        assert dist[key] == pytest.approx(single[key], abs=1e-6), key
    for key in ('class_iou', 'class_precision', 'class_recall'):
        np.testing.assert_allclose(dist[key], single[key], rtol=0, atol=1e-6, err_msg=key)
    # The confusion matrix is all-reduced too: the same counts as one process.
    assert (out / 'confusion_matrix.csv').read_text() == \
        (tmp_path / 'single' / 'confusion_matrix.csv').read_text()
