"""tools/model_summary.py: exact hook counts on a known network, CLI on a YAML."""
import json
import os
import subprocess
import sys

import paddle.nn as nn

from paddleseg_fastfcn.core.builder import build_model, load_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'tools'))
import model_summary  # noqa: E402


class Tiny(nn.Layer):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2D(3, 4, 3, padding=1)
        self.body = nn.Sequential(nn.Conv2D(4, 6, 3, stride=2, padding=2, dilation=2, groups=2), nn.ReLU())
        self.fc = nn.Linear(6, 5)

    def forward(self, x):
        y = self.body(self.stem(x))                  # [1, 6, 4, 4]
        return self.fc(y.mean(axis=[2, 3]))


def test_counts_conv_and_linear_multiply_adds_exactly():
    macs = model_summary.count_macs(Tiny(), [1, 3, 8, 8])
    assert macs == {
        'stem': (8 * 8 * 4) * (3 * 3 * 3),           # outputs x (in x kh x kw)
        'body': (4 * 4 * 6) * ((4 // 2) * 3 * 3),    # grouped: in / groups per output
        'fc': 5 * 6,
    }


def test_hooks_are_removed_after_counting():
    model = Tiny()
    model_summary.count_macs(model, [1, 3, 8, 8])
    assert not model.stem._forward_post_hooks


def test_cli_prints_parameters_and_gmacs_per_part(tmp_path, write_model_config):
    config = write_model_config()  # the tiny FastFCN model
    out_json = tmp_path / 'summary.json'
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'tools', 'model_summary.py'), '--config', str(config),
         '--input_size', '64', '64', '--json', str(out_json)],
        capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(out_json.read_text())

    model = build_model(load_config(str(config)))
    trainable = sum(int(p.numel()) for p in model.parameters() if not p.stop_gradient)
    assert summary['params_trainable'] == trainable
    assert '{:,} trainable'.format(trainable) in result.stdout
    assert 'multiply-adds' in result.stdout and '| part | params | GMACs eval | GMACs train |' in result.stdout
    parts = {row['part']: row for row in summary['parts']}
    assert set(parts) == {'backbone', 'neck', 'head', 'aux_head'}
    assert sum(row['params'] for row in parts.values()) == trainable
    # the aux head runs only in training; everything else runs in both passes
    assert parts['aux_head']['gmacs_eval'] == 0 < parts['aux_head']['gmacs_train']
    for name in ('backbone', 'neck', 'head'):
        assert parts[name]['gmacs_eval'] > 0
    assert abs(parts['backbone']['gmacs_eval'] - parts['backbone']['gmacs_train']) < 1e-12
    assert abs(summary['gmacs_eval'] - sum(r['gmacs_eval'] for r in parts.values())) < 1e-9
    assert summary['input_shape'] == [1, 3, 64, 64]
