"""load_config: PaddleSeg's Config plus the checks PaddleSeg lacks."""
import pytest

from paddleseg_fastfcn.core.builder import ConfigError, load_config
from tests.core.train_helpers import write_config

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


@pytest.mark.parametrize('key,value', [('to_static_training', 'True'),
                                       ('distill_loss', '\n  types:\n    - type: KLLoss\n  coef: [1]')])
def test_paddleseg_keys_this_trainer_does_not_implement_are_refused(tmp_path, key, value):
    base = write(tmp_path, 'base.yml', MINIMAL + '{}: {}\n'.format(key, value))
    child = write(tmp_path, 'child.yml', '_base_: base.yml\nbatch_size: 4\n')
    for path in (base, child):  # named where it is written, also when inherited
        with pytest.raises(ConfigError) as err:
            load_config(path)
        msg = str(err.value)
        assert "unsupported config key '{}'".format(key) in msg
        assert '{}:{}'.format(base, MINIMAL.count('\n') + 1) in msg
    with pytest.raises(ConfigError, match="unsupported config key '{}'".format(key)):
        load_config(write(tmp_path, 'ok.yml', MINIMAL), opts=['{}=True'.format(key)])


def test_export_section_accepts_only_transforms(tmp_path):
    ok = write(tmp_path, 'ok.yml', MINIMAL + 'export:\n  transforms:\n    - type: Normalize\n')
    assert load_config(ok).dic['export'] == {'transforms': [{'type': 'Normalize'}]}
    line = MINIMAL.count('\n') + 2
    typo = write(tmp_path, 'typo.yml', MINIMAL + 'export:\n  transform:\n    - type: Normalize\n')
    with pytest.raises(ConfigError, match=r'{}:{}: export.transform: .*expected one of the keys transforms'.format(
            typo, line)):
        load_config(typo)
    not_list = write(tmp_path, 'not_list.yml', MINIMAL + 'export:\n  transforms: Normalize\n')
    with pytest.raises(ConfigError, match='export.transforms: found .Normalize., expected a list'):
        load_config(not_list)


def _published_backbone_archive(tmp_path):
    """A PaddleSeg-style ``<name>.tar.gz`` holding ``<name>/model.pdparams`` for the tiny
    config's ResNet18_vd (protocol 2, plain arrays, plus an ImageNet classifier)."""
    import io
    import pickle
    import tarfile

    import numpy as np
    import paddle

    from paddleseg_fastfcn.core.builder import build_model
    paddle.seed(5)
    backbone = build_model(load_config(write_config(tmp_path, name='src.yml'))).backbone
    state = {k: v.numpy() for k, v in backbone.state_dict().items()}
    state.update({'fc.weight': np.ones([512, 10], 'float32'), 'fc.bias': np.zeros([10], 'float32')})
    data = pickle.dumps(state, protocol=2)
    path = tmp_path / 'resnet18_vd_ssld_v2.tar.gz'
    with tarfile.open(str(path), 'w:gz') as tar:
        info = tarfile.TarInfo('resnet18_vd_ssld_v2/model.pdparams')
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return str(path), data, state


def test_backbone_pretrained_archive_loads_into_a_paddleseg_backbone(tmp_path, monkeypatch):
    from paddleseg_fastfcn.core.builder import builder
    monkeypatch.setenv('PADDLESEG_FASTFCN_HOME', str(tmp_path / 'cache'))
    archive, _, state = _published_backbone_archive(tmp_path)
    seg = builder(load_config(write_config(tmp_path), opts=['model.backbone.pretrained=' + archive]))
    loaded = seg.model.backbone.state_dict()
    assert seg.random_init_warning is None and len(loaded) == len(state) - 2
    for key, value in loaded.items():
        assert value.numpy().tobytes() == state[key].tobytes(), key
    # The config is unchanged by the build (PaddleSeg never saw the key).
    assert seg.config.dic['model']['backbone']['pretrained'] == archive


def test_backbone_pretrained_sha256_from_the_config_is_checked(tmp_path, monkeypatch, loopback_files):
    import hashlib

    from paddleseg_fastfcn.core.builder import build_model
    from paddleseg_fastfcn.utils import DownloadError
    monkeypatch.setenv('PADDLESEG_FASTFCN_HOME', str(tmp_path / 'cache'))
    _, data, _ = _published_backbone_archive(tmp_path)
    url = loopback_files.put('resnet18_vd.pdparams', data)
    config = write_config(tmp_path)
    opts = ['model.backbone.pretrained=' + url]
    build_model(load_config(config, opts=opts + [
        'model.backbone.pretrained_sha256=' + hashlib.sha256(data).hexdigest()]))
    with pytest.raises(DownloadError, match='sha256 mismatch'):
        build_model(load_config(config, opts=[
            'model.backbone.pretrained=' + loopback_files.put('copy.pdparams', data),
            'model.backbone.pretrained_sha256=' + 'ab' * 32]))
