"""tools/bn_modes.py: population-statistics mIoU is val.py's; batch statistics leave the checkpoint as it was."""
import os
import re
import subprocess
import sys

import pytest

from paddleseg_fastfcn.core.evaluate import evaluate_checkpoint
from paddleseg_fastfcn.core.train import train

from tests.core.train_helpers import write_config

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_population_mode_equals_val_and_both_modes_are_printed(tmp_path):
    config = write_config(tmp_path)
    out = str(tmp_path / 'run')
    train(config, save_dir=out, iters=2, save_interval=2, log_iters=1, seed=0)
    weights = os.path.join(out, 'iter_2', 'model.pdparams')
    before = open(weights, 'rb').read()
    lines = {}
    for images in ('val', 'train'):
        result = subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'bn_modes.py'), '--config', config,
                                 '--model_path', weights, '--images', images, '--batch_size', '2'],
                                capture_output=True, text=True, cwd=REPO)
        assert result.returncode == 0, result.stderr[-3000:]
        lines[images] = dict(re.findall(r'^(population|batch) statistics.*?mIoU ([\d.]+)', result.stdout, re.M))
        assert set(lines[images]) == {'population', 'batch'}, result.stdout
    reference = evaluate_checkpoint(config, weights, save_dir=str(tmp_path / 'val'), print_detail=False)
    assert float(lines['val']['population']) == pytest.approx(reference['miou'], abs=1e-4)
    assert open(weights, 'rb').read() == before
