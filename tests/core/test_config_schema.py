"""Config values against config_schema and config_components: each rule refuses one bad value by
file, line and key."""
import glob
import os
import re

import pytest
from paddleseg.cvlibs.config import parse_from_yaml

from paddleseg_fastfcn.core import config_schema
from paddleseg_fastfcn.core.config_components import component_violations
from paddleseg_fastfcn.core.builder import ConfigError, build_model, check_loss_terms, load_config, locate_key

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# (what the child file writes after its `_base_` line, the key, the value's repr, expected).
# The bad value is on the child's last line.
CASES = [
    ('batch_size: four', 'batch_size', "'four'", 'an integer >= 1'),
    ('batch_size: 0', 'batch_size', '0', 'an integer >= 1'),
    ('iters: -5', 'iters', '-5', 'an integer >= 1'),
    ('iters: 2.5', 'iters', '2.5', 'an integer >= 1'),
    ('sync_bn: 2', 'sync_bn', '2', 'true or false'),
    ('lr_scheduler:\n  learning_rate: -0.1', 'lr_scheduler.learning_rate', '-0.1', 'a number > 0'),
    ('lr_scheduler:\n  warmup_iters: -1', 'lr_scheduler.warmup_iters', '-1', 'an integer >= 0'),
    ('lr_scheduler:\n  power: 0', 'lr_scheduler.power', '0', 'a number > 0'),
    ('optimizer:\n  momentum: 1.5', 'optimizer.momentum', '1.5', 'a number >= 0 and < 1'),
    ('optimizer:\n  weight_decay: -1.0e-4', 'optimizer.weight_decay', '-0.0001', 'a number >= 0'),
    ('optimizer:\n  custom_cfg:\n    - name: head\n      lr_mult: -2',
     'optimizer.custom_cfg[0].lr_mult', '-2', 'a number >= 0'),
    ('model:\n  num_classes: 0', 'model.num_classes', '0', 'an integer >= 1'),
    ('model:\n  backbone:\n    output_stride: 12', 'model.backbone.output_stride', '12', 'one of 8, 16, 32'),
    ('model:\n  head:\n    type: FCNHead\n    in_index: -1', 'model.head.in_index', '-1', 'an integer >= 0'),
    ('model:\n  neck:\n    type: JointPyramidUpsampling\n    in_channels: [128, 0]',
     'model.neck.in_channels', '[128, 0]', 'an integer >= 1 or a list of them'),
    ('model:\n  type: 7', 'model.type', '7', 'a non-empty string'),
    ('train_dataset:\n  num_classes: 0', 'train_dataset.num_classes', '0', 'an integer >= 1'),
    ('train_dataset:\n  ignore_index: 300', 'train_dataset.ignore_index', '300', 'an integer in [0, 255]'),
    ('train_dataset:\n  transforms:\n    - type: RandomHorizontalFlip\n    - type: RandomPaddingCrop\n'
     '      crop_size: [64, -1]', 'train_dataset.transforms[1].crop_size', '[64, -1]',
     'an integer >= 1 or two of them [w, h]'),
    ('train_dataset:\n  transforms:\n    - type: Resize\n      target_size: [1, 2, 3]',
     'train_dataset.transforms[0].target_size', '[1, 2, 3]', 'two of them [w, h]'),
    ('train_dataset:\n  transforms:\n    - type: ResizeStepScaling\n      min_scale_factor: 0',
     'train_dataset.transforms[0].min_scale_factor', '0', 'a number > 0'),
    ('train_dataset:\n  transforms:\n    - type: RandomBlur\n      prob: 1.5',
     'train_dataset.transforms[0].prob', '1.5', 'a number >= 0 and <= 1'),
    ('train_dataset:\n  transforms:\n    - type: Normalize\n      std: [0.2, 0, 0.2]',
     'train_dataset.transforms[0].std[1]', '0', 'a number > 0'),
    ('train_dataset:\n  transforms:\n    - type: ResizeByShort\n      short_size: 0',
     'train_dataset.transforms[0].short_size', '0', 'an integer >= 1 or a list of them'),
    ('train_dataset:\n  transforms:\n    - prob: 0.5', 'train_dataset.transforms[0]', "{'prob': 0.5}",
     'a key `type`'),
    ('val_dataset:\n  mode: val', 'val_dataset', "{'mode': 'val'}", 'a key `type`'),
    ('loss:\n  types: [{type: SegCrossEntropyLoss}]\n  coef: [1, -1]', 'loss.coef[1]', '-1',
     'a number >= 0'),
    ('loss:\n  coef: [1, 1, 1]\n  types: [{type: A}, {type: B}]', 'loss.types',
     "[{'type': 'A'}, {'type': 'B'}]", '1 or 3 loss types'),
    ('loss:\n  coef: [1]\n  types: [{type: SegCrossEntropyLoss, ignore_index: -1}]',
     'loss.types[0].ignore_index', '-1', 'an integer in [0, 255]'),
    ('test_config:\n  scales: [0.5, 0]', 'test_config.scales', '[0.5, 0]', 'a number > 0 or a list of them'),
    ('test_config:\n  stride: [0, 32]', 'test_config.stride', '[0, 32]', 'two of them [w, h]'),
    ('test_config:\n  aug_eval: maybe', 'test_config.aug_eval', "'maybe'", 'true or false'),
    ('test_config:\n  flip_vertical: true', 'test_config.flip_vertical', 'True',
     'one of the keys aug_eval, crop_size, flip_horizontal, is_slide, scales, stride'),
    ('export:\n  transforms: Normalize', 'export.transforms', "'Normalize'", 'a list of transforms'),
    # config_components: the named class must exist and take the key.
    ('train_dataset:\n  transforms:\n    - type: RandomPaddingCrop\n      crop_sise: [64, 64]',
     'train_dataset.transforms[0].crop_sise', '[64, 64]', 'an argument of RandomPaddingCrop (crop_size, '),
    ('model:\n  backbone:\n    type: ResNet18_vdd', 'model.backbone.type', "'ResNet18_vdd'",
     'the name of a registered component; did you mean ResNet18_vd'),
    ('model:\n  aux_head:\n    chanels: 8', 'model.aux_head.chanels', '8', 'an argument of FCNAuxHead ('),
    ('loss:\n  coef: [1]\n  types: [{type: CrossEntropyLos}]', 'loss.types[0].type', "'CrossEntropyLos'",
     'did you mean CrossEntropyLoss'),
    ('lr_scheduler:\n  type: PolynomialDecay\n  warmup_iter: 10', 'lr_scheduler.warmup_iter', '10',
     'an argument of PolynomialDecay ('),
    ('lr_scheduler:\n  type: Poly', 'lr_scheduler.type', "'Poly'", 'a registered paddle.optimizer.lr scheduler'),
    # The optimizer as SegBuilder builds it: SGD with a momentum is Momentum, which has no `nesterov`.
    ('optimizer:\n  type: Adam\n  momentum: 0.9', 'optimizer.momentum', '0.9', 'an argument of Adam (beta1, '),
    ('optimizer:\n  nesterov: true', 'optimizer.nesterov', 'True',
     'an argument of Momentum (momentum, use_nesterov, '),
    ('optimizer:\n  type: SGD\n  momentun: 0.9', 'optimizer.momentun', '0.9',
     'an argument of Momentum (momentum, use_nesterov, '),  # the base's momentum: 0.9 makes it Momentum
    ('optimizer:\n  type: Adamw', 'optimizer.type', "'Adamw'", 'a registered optimizer; did you mean Adam or AdamW'),
    # NaN / infinity (YAML .nan, .inf, -.inf) pass every bound check; no config value can use one.
    ('lr_scheduler:\n  learning_rate: .nan', 'lr_scheduler.learning_rate', 'nan', 'a finite number > 0'),
    ('lr_scheduler:\n  end_lr: .inf', 'lr_scheduler.end_lr', 'inf', 'a finite number >= 0'),
    ('optimizer:\n  weight_decay: -.inf', 'optimizer.weight_decay', '-inf', 'a finite number >= 0'),
    ('optimizer:\n  momentum: .nan', 'optimizer.momentum', 'nan', 'a finite number >= 0 and < 1'),
    ('train_dataset:\n  transforms:\n    - type: Normalize\n      mean: [0.5, .nan, 0.5]',
     'train_dataset.transforms[0].mean[1]', 'nan', 'a finite number'),
    ('train_dataset:\n  transforms:\n    - type: Normalize\n      std: [0.5, 0.5, .inf]',
     'train_dataset.transforms[0].std[2]', 'inf', 'a finite number > 0'),
    ('train_dataset:\n  transforms:\n    - type: RandomDistort\n      brightness_range: .nan',
     'train_dataset.transforms[0].brightness_range', 'nan', 'a finite number'),
    ('loss:\n  types: [{type: SegCrossEntropyLoss}]\n  coef: [1, .nan]', 'loss.coef[1]', 'nan',
     'a finite number >= 0'),
    ('test_config:\n  scales: [0.5, .inf]', 'test_config.scales', '[0.5, inf]',
     'a finite number > 0 or a list of them'),
    ('iters: .inf', 'iters', 'inf', 'an integer >= 1'),
]


@pytest.fixture
def base(write_model_config):
    """A valid config (tests/conftest.py's frame, the tiny FastFCN model) with a test_config."""
    path = write_model_config(name='base.yml')
    with open(path, 'a') as f:
        f.write('test_config:\n  is_slide: False\n')
    return path


def write_child(tmp_path, text, name='child.yml'):
    path = tmp_path / name
    path.write_text('_base_: base.yml\n' + text + '\n')
    return str(path)


def test_the_base_config_is_valid(base):
    assert load_config(base).batch_size == 1


@pytest.mark.parametrize('text, key, value, expected', CASES, ids=[c[1] for c in CASES])
def test_bad_value_is_named_by_file_line_key_value_and_expectation(tmp_path, base, text, key, value,
                                                                    expected):
    child = write_child(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(child)
    msg = str(err.value)
    bad_line = text.count('\n') + 2
    if key in ('val_dataset', 'train_dataset.transforms[0]'):  # a missing key: the mapping's line
        bad_line = 2 if key == 'val_dataset' else 4
    assert '{}:{}: {}: found {}, expected {}'.format(child, bad_line, key, value, '') in msg
    assert expected in msg.split('found {}, expected '.format(value), 1)[1].splitlines()[0]


def test_bad_value_in_a_base_file_names_the_base(tmp_path, base):
    text = open(base).read().replace('learning_rate: 0.01', 'learning_rate: 0')
    (tmp_path / 'base.yml').write_text(text)
    child = write_child(tmp_path, 'batch_size: 4')
    with pytest.raises(ConfigError, match=r'base\.yml:11: lr_scheduler\.learning_rate: found 0, '
                                          r'expected a number > 0'):
        load_config(child)


def test_every_bad_value_is_listed_at_once(tmp_path, base):
    child = write_child(tmp_path, 'batch_size: four\niters: 0')
    msg = str(pytest.raises(ConfigError, load_config, child).value)
    assert 'child.yml:2: batch_size' in msg and 'child.yml:3: iters' in msg


def test_command_line_overrides_are_checked_and_named_as_such(tmp_path, base):
    with pytest.raises(ConfigError, match=r'the command line .*: batch_size: found 0'):
        load_config(base, opts=['batch_size=0'])
    with pytest.raises(ConfigError, match=r'the command line .*: iters: found -3'):
        load_config(base, iters=-3)
    with pytest.raises(ConfigError, match=r'the command line .*: test_config\.scales: found -1'):
        load_config(base, opts=['test_config.scales=-1'])


@pytest.mark.parametrize('opt, key, value', [
    ('lr_scheduler.learning_rate=nan', 'lr_scheduler.learning_rate', "'nan'"),
    ('lr_scheduler.learning_rate=1e999', 'lr_scheduler.learning_rate', 'inf'),
    ('optimizer.weight_decay=-inf', 'optimizer.weight_decay', "'-inf'"),
    ('test_config.scales=1e999', 'test_config.scales', 'inf'),
])
def test_non_finite_overrides_are_refused(base, opt, key, value):
    # PaddleSeg parses an --opts value with ast.literal_eval: `nan` stays a word, 1e999 is inf.
    with pytest.raises(ConfigError, match=r'the command line .*: {}: found {}, expected a finite '
                                          r'number'.format(re.escape(key), re.escape(value))):
        load_config(base, opts=[opt])


def test_dataset_root_is_checked_only_where_the_dataset_is_read(tmp_path, base):
    child = write_child(tmp_path, 'val_dataset:\n  type: Dataset\n  dataset_root: {}/absent\n'
                        '  val_path: x.txt\n  num_classes: 3\n  mode: val'.format(tmp_path))
    load_config(child)  # predict / export never read the datasets
    load_config(child, datasets=('train_dataset',))
    with pytest.raises(ConfigError, match=r"child\.yml:4: val_dataset\.dataset_root: folder "
                                          r"'.*absent' does not exist"):
        load_config(child, datasets=('val_dataset',))
    with pytest.raises(ConfigError, match='`val_dataset` is needed here but the config has none'):
        load_config(base, datasets=('val_dataset',))


def test_loss_coef_count_must_match_the_model_outputs(tmp_path, base):
    child = write_child(tmp_path, 'loss:\n  types: [{type: SegCrossEntropyLoss}]\n  coef: [1, 0.2]')
    cfg = load_config(child)
    model = build_model(cfg)  # predict / export / val never use the loss
    assert model.train_output_names == ('seg', 'aux', 'se')
    with pytest.raises(ConfigError, match=r'child\.yml:4: loss\.coef: found \[1, 0\.2\], expected 3 '
                                          r'coefficients, one per training output of the model '
                                          r'\(seg, aux, se\)'):
        check_loss_terms(cfg, model)
    with pytest.raises(ConfigError, match=r'the command line .*: loss\.coef: found \[1\], expected 3'):
        check_loss_terms(load_config(child, opts=['loss.coef=[1]']), model)
    check_loss_terms(load_config(child, opts=['loss.coef=[1,0.2,0.2]']), model)


def test_locate_key_follows_lists_and_base_order(tmp_path):
    (tmp_path / 'a.yml').write_text('model:\n  backbone:\n    output_stride: 8\n')
    (tmp_path / 'b.yml').write_text('model:\n  backbone:\n    output_stride: 16\n'
                                    'train_dataset:\n  transforms:\n    - type: A\n    - type: B\n')
    child = tmp_path / 'c.yml'
    child.write_text('_base_: [a.yml, b.yml]\ntrain_dataset:\n  transforms:\n    - type: C\n')
    # The earlier base wins over the later one, as PaddleSeg merges them.
    assert locate_key(str(child), ('model', 'backbone', 'output_stride')) == '{}:3'.format(tmp_path / 'a.yml')
    # The child writes the list, so it owns every item (b.yml's second item is not used).
    assert locate_key(str(child), ('train_dataset', 'transforms', 0, 'type')) == '{}:4'.format(child)
    assert locate_key(str(child), ('train_dataset', 'transforms', 1)) == '{}:3'.format(child)
    assert locate_key(str(child), 'train_dataset') == '{}:2'.format(child)


# The _base_ fragments are checked through the configs that merge them.
SHIPPED = sorted(p for p in glob.glob(os.path.join(REPO, 'configs', '**', '*.yml'), recursive=True)
                 + glob.glob(os.path.join(REPO, 'test_tipc', 'configs', '**', '*.yml'), recursive=True)
                 if '_base_' not in p.split(os.sep))


@pytest.mark.parametrize('path', SHIPPED, ids=[os.path.relpath(p, REPO) for p in SHIPPED])
def test_every_shipped_config_passes_the_schema(path):
    dic = parse_from_yaml(path)
    assert config_schema.violations(dic) == [] and component_violations(dic) == []
