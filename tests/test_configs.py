"""Every YAML under configs/ builds through PaddleSeg's Config + SegBuilder and runs.

Bad configs fail with errors that name the offending type, key, file and line.
"""
import gc
import glob
import os
import re
from urllib.parse import urlparse

import paddle
import pytest
from paddleseg.cvlibs import Config, SegBuilder

import paddleseg_fastfcn  # noqa: F401  (registers components)
from paddleseg_fastfcn.core.builder import _base_chain, build_model, builder, load_config
from paddleseg_fastfcn.utils.weights import is_scratch

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG_DIR = os.path.join(REPO_ROOT, 'configs')
CONFIGS = sorted(p for p in glob.glob(os.path.join(CONFIG_DIR, '**', '*.yml'), recursive=True)
                 if '_base_' not in os.path.relpath(p, CONFIG_DIR).split(os.sep))
TIPC_CONFIGS = sorted(glob.glob(os.path.join(REPO_ROOT, 'test_tipc', 'configs', '*', '*.yml')))
# The full-size training configs: each names its ImageNet weights and their expected accuracy.
TRAINING_CONFIGS = sorted(p for head in ('encnet', 'psp', 'deeplabv3')
                          for p in glob.glob(os.path.join(CONFIG_DIR, head, '*.yml')))
SMALL_CONFIGS = sorted(glob.glob(os.path.join(CONFIG_DIR, 'mini', '*.yml')) +
                       glob.glob(os.path.join(CONFIG_DIR, 'fastscnn', '*.yml'))) + TIPC_CONFIGS
EXAMPLE = os.path.join(CONFIG_DIR, 'encnet', 'encnet_jpu_r50_ade20k_480x480_120e.yml')
SIZE = 64


def drop_weights(cfg):
    """Building reads no weight file: every `pretrained` URL or local file becomes None.

    PaddleSeg's SegBuilder hands `pretrained` to the components, which would download a URL or
    stop on a missing local file (the weights are tested in tests/utils/); `scratch` stays: the
    components (and PaddleSeg's loader, replaced by utils.load_guard) read it as random weights.
    """
    for section in (cfg.dic['model'], cfg.dic['model'].get('backbone') or {}):
        if section.get('pretrained') is not None and not is_scratch(section['pretrained']):
            section['pretrained'] = None


def test_configs_are_found():
    names = {os.path.basename(p) for p in CONFIGS}
    for head in ('encnet', 'psp', 'deeplabv3'):
        for neck in ('jpu', 'os8'):
            for backbone in ('r50', 'r101'):
                for data in ('ade20k_480x480_120e', 'pcontext_480x480_80e', 'cityscapes_480x480_240e'):
                    assert '{}_{}_{}_{}.yml'.format(head, neck, backbone, data) in names
        assert '{}_jpu_r50vd_ade20k_480x480_120e.yml'.format(head) in names
    for data in ('ade20k_480x480_120e', 'pcontext_480x480_80e'):
        assert 'encnet_jpux_r50_{}.yml'.format(data) in names


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: os.path.relpath(p, CONFIG_DIR))
def test_config_builds_and_predicts(path):
    cfg = Config(path)
    drop_weights(cfg)
    builder = SegBuilder(cfg)
    model = builder.model
    num_classes = cfg.model_cfg.get('num_classes') or builder.train_dataset_class.NUM_CLASSES
    model.eval()
    with paddle.no_grad():
        out = model(paddle.rand([1, 3, SIZE, SIZE]))
    # PaddleSeg's convention: the first output holds the logits (its FastSCNN also returns the
    # aux logits in eval); this project's segmentor returns exactly [logits] in eval.
    assert isinstance(out, (list, tuple))
    assert out[0].shape == [1, num_classes, SIZE, SIZE]
    if cfg.model_cfg['type'] == 'FastFCNSegmentor':
        assert len(out) == 1
        assert model.head.num_classes == num_classes
        assert model.aux_head is None or model.aux_head.num_classes == num_classes
    del model, out
    gc.collect()


@pytest.mark.parametrize('path', SMALL_CONFIGS, ids=lambda p: os.path.relpath(p, REPO_ROOT))
def test_configs_from_scratch_build_as_written(path):
    # `pretrained: scratch` reaches the components as written (PaddleSeg's loader once read it as a path).
    cfg = Config(path)
    assert 'scratch' in str(cfg.dic['model'])
    assert isinstance(SegBuilder(cfg).model, paddle.nn.Layer)


@pytest.mark.parametrize('path, classes', [
    (EXAMPLE, 150),
    (os.path.join(CONFIG_DIR, 'psp', 'psp_os8_r101_pcontext_480x480_80e.yml'), 59),
    (os.path.join(CONFIG_DIR, 'deeplabv3', 'deeplabv3_jpu_r50_cityscapes_480x480_240e.yml'), 19)])
def test_recipe_values(path, classes):
    cfg = Config(path)
    dic = cfg.dic
    assert dic['batch_size'] == 4
    assert dic['model']['num_classes'] == classes
    # Written once: the segmentor gives the class count to its heads.
    assert 'num_classes' not in dic['model']['head'] and 'num_classes' not in dic['model']['aux_head']
    assert dic['optimizer']['momentum'] == 0.9 and dic['optimizer']['weight_decay'] == 1e-4
    assert [(c['name'], c['lr_mult']) for c in dic['optimizer']['custom_cfg']] == [
        ('backbone', 1.0), ('neck', 10.0), ('head', 10.0)]
    assert dic['lr_scheduler']['power'] == 0.9
    epochs, images, lr = {150: (120, 20210, 0.01), 59: (80, 4998, 0.001), 19: (240, 2975, 0.01)}[classes]
    assert dic['iters'] == images // 16 * epochs
    assert dic['lr_scheduler']['learning_rate'] == lr
    assert cfg.test_config == {'is_slide': True, 'crop_size': [480, 480], 'stride': [320, 320]}
    losses = [t['type'] for t in dic['loss']['types']]
    if dic['model']['head']['type'] == 'EncHead':
        assert losses == ['SegCrossEntropyLoss', 'SegCrossEntropyLoss', 'SemanticEncodingLoss']
        assert dic['loss']['coef'] == [1, 0.2, 0.2]
    else:
        assert losses == ['SegCrossEntropyLoss', 'SegCrossEntropyLoss']
        assert dic['loss']['coef'] == [1, 0.2]


def test_os8_and_jpu_configs_differ_only_where_they_should():
    jpu = Config(EXAMPLE).dic['model']
    os8 = Config(EXAMPLE.replace('_jpu_', '_os8_')).dic['model']
    assert jpu['backbone']['output_stride'] == 32 and jpu['neck']['type'] == 'JointPyramidUpsampling'
    assert os8['backbone']['output_stride'] == 8 and 'neck' not in os8
    assert jpu['head']['conv5_kernel_size'] == 1 and os8['head']['conv5_kernel_size'] == 3


def test_jpux_configs_differ_from_jpu_only_in_the_neck():
    for data in ('ade20k_480x480_120e', 'pcontext_480x480_80e'):
        jpu = Config(os.path.join(CONFIG_DIR, 'encnet', 'encnet_jpu_r50_{}.yml'.format(data))).dic
        jpux = Config(os.path.join(CONFIG_DIR, 'encnet', 'encnet_jpux_r50_{}.yml'.format(data))).dic
        assert jpux['model']['neck'] == dict(jpu['model']['neck'], type='JPUX')
        jpux['model']['neck'] = jpu['model']['neck']
        assert jpux == jpu


@pytest.mark.parametrize('path', CONFIGS + TIPC_CONFIGS, ids=lambda p: os.path.relpath(p, REPO_ROOT))
def test_class_count_is_written_once(path):
    # A number after `num_classes:` in the config and all its bases (aliases such as
    # `*num_classes` refer to it and do not count).
    written = []
    for p in _base_chain(path):
        with open(p, encoding='utf-8') as f:
            written += ['{}:{}'.format(os.path.relpath(p, REPO_ROOT), n) for n, line in enumerate(f, 1)
                        if re.match(r'\s*num_classes:\s*(&\w+\s+)?\d', line)]
    assert len(written) == 1, written


def child_config(tmp_path, text, name='child.yml'):
    path = tmp_path / name
    path.write_text('_base_: {}\n{}'.format(EXAMPLE, text))
    return str(path)


def test_misspelled_model_type_is_named(tmp_path):
    path = child_config(tmp_path, 'model:\n  backbone:\n    type: DeepStemResNet5O\n')
    with pytest.raises(Exception, match='DeepStemResNet5O'):
        build_model(load_config(path))
    with pytest.raises(RuntimeError, match='DeepStemResNet5O'):
        SegBuilder(Config(path)).model


def test_unknown_component_argument_is_named(tmp_path):
    path = child_config(tmp_path, 'model:\n  backbone:\n    outptu_stride: 8\n')
    with pytest.raises(Exception, match='outptu_stride'):
        build_model(load_config(path))


def test_unknown_top_level_key_names_key_file_and_line(tmp_path):
    path = child_config(tmp_path, 'batch_size: 2\niter: 10\n')
    # Line 3: the _base_ line, batch_size, then the typo.
    with pytest.raises(Exception, match=r"iter \(at {}:3\)".format(path.replace('.', r'\.'))):
        load_config(path)


@pytest.mark.parametrize('path', TRAINING_CONFIGS, ids=lambda p: os.path.relpath(p, CONFIG_DIR))
def test_training_config_names_imagenet_weights_and_expected_accuracy(path):
    backbone = Config(path).dic['model']['backbone']
    pretrained = backbone.get('pretrained')
    assert isinstance(pretrained, str), 'model.backbone.pretrained must name the ImageNet weights'
    assert urlparse(pretrained).scheme == 'https' or pretrained.startswith('pretrained/'), pretrained
    # The published accuracy (or the statement that none exists) is cited in the file itself.
    with open(path, encoding='utf-8') as f:
        assert re.search(r'^# .*Expected accuracy: ', f.read(), re.M), path


def test_every_backbone_names_its_weights_in_one_base_file():
    named = {}
    for path in TRAINING_CONFIGS:
        backbone = Config(path).dic['model']['backbone']
        named.setdefault(backbone['type'], set()).add(backbone['pretrained'])
    assert all(len(files) == 1 for files in named.values()), named
    assert named['DeepStemResNet50'] == {'pretrained/resnet50-ebb6acbb.pth'}
    assert named['DeepStemResNet101'] == {'pretrained/resnet101-2a57e44d.pth'}
    # Written once, in configs/_base_/models/backbones/, never in a config or a model base.
    for path in CONFIGS + TIPC_CONFIGS + glob.glob(os.path.join(CONFIG_DIR, '_base_', 'models', '*.yml')):
        with open(path, encoding='utf-8') as f:
            for line in f:
                assert not re.match(r'\s+pretrained: (?!scratch)', line), (path, line)


def test_missing_official_weights_stop_the_build_saying_where_to_get_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the relative pretrained/ path resolves to nothing here
    with pytest.raises(FileNotFoundError) as info:
        build_model(load_config(EXAMPLE))
    message = str(info.value)
    assert 'backbone weights not found: pretrained/resnet50-ebb6acbb.pth' in message
    assert "README's pretrained-weights table" in message
    assert 'model.backbone.pretrained=scratch' in message


@pytest.mark.parametrize('path', SMALL_CONFIGS, ids=lambda p: os.path.relpath(p, REPO_ROOT))
def test_small_configs_train_from_scratch_on_purpose(path):
    model = Config(path).dic['model']
    section = model['backbone'] if 'backbone' in model else model
    assert section['pretrained'] == 'scratch'


def test_scratch_is_said_for_a_model_without_backbone():
    seg = builder(load_config(os.path.join(CONFIG_DIR, 'fastscnn', 'fastscnn_mini_64x64_300.yml')))
    assert type(seg.model).__name__ == 'ExportableFastSCNN'
    assert seg.random_init_warning == 'ExportableFastSCNN starts from random weights on purpose ' \
                                      '(model.pretrained is scratch)'
