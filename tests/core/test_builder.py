"""load_config: PaddleSeg's Config plus the checks PaddleSeg lacks."""
import pytest

from paddleseg_fastfcn.core.builder import ConfigError, load_config

MINIMAL = """\
batch_size: 2
iters: 10
train_dataset:
  type: Dataset
  dataset_root: {root}
  train_path: {root}/train.txt
  num_classes: 3
  mode: train
  transforms: []
optimizer:
  type: SGD
lr_scheduler:
  type: PolynomialDecay
  learning_rate: 0.01
loss:
  types:
    - type: SegCrossEntropyLoss
  coef: [1]
model:
  type: FastFCNSegmentor
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text.format(root=tmp_path))
    return str(path)


def test_unknown_top_level_key_names_key_file_and_line(tmp_path):
    path = write(tmp_path, 'bad.yml', MINIMAL + 'iter: 5\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert 'iter ' in msg and '{}:{}'.format(path, MINIMAL.count('\n') + 1) in msg


def test_unknown_key_in_base_file_points_to_base(tmp_path):
    base = write(tmp_path, 'base.yml', MINIMAL + 'lr_schedular: 1\n')
    child = write(tmp_path, 'child.yml', '_base_: base.yml\nbatch_size: 4\n')
    with pytest.raises(ConfigError) as err:
        load_config(child)
    assert 'lr_schedular' in str(err.value) and base in str(err.value)


def test_missing_file_and_missing_base(tmp_path):
    with pytest.raises(ConfigError, match='not found'):
        load_config(str(tmp_path / 'nope.yml'))
    child = write(tmp_path, 'child.yml', '_base_: gone.yml\nbatch_size: 4\n')
    with pytest.raises(ConfigError, match='gone.yml'):
        load_config(child)


def test_paddleseg_rule_failure_becomes_config_error(tmp_path):
    path = write(tmp_path, 'noopt.yml', MINIMAL.replace('optimizer:\n  type: SGD\n', ''))
    with pytest.raises(ConfigError, match='optimizer'):
        load_config(path)


def test_overrides_apply(tmp_path):
    path = write(tmp_path, 'ok.yml', MINIMAL)
    cfg = load_config(path, batch_size=8, iters=3, opts=['model.num_classes=3'])
    assert cfg.batch_size == 8 and cfg.iters == 3
    assert cfg.dic['model']['num_classes'] == 3


def test_unknown_opts_key_is_rejected(tmp_path):
    path = write(tmp_path, 'ok.yml', MINIMAL)
    with pytest.raises(ConfigError, match="'itres'"):
        load_config(path, opts=['itres=5'])
