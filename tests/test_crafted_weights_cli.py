"""A weight / checkpoint file that would run code is refused through every entry point,
and the marker it would create never appears; missing backbone weights stop a run
before training, a run from random weights says so first in its log."""
import os
import shutil

import pytest

import export as export_cli
import predict as predict_cli
import train as train_cli
import val as val_cli
from paddleseg_fastfcn.core.train import train
from tests.core.train_helpers import write_config
from tests.crafted_files import write_crafted


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    """(tmp dir, tiny config, a real iter_1 checkpoint dir)."""
    tmp = tmp_path_factory.mktemp('crafted')
    config = write_config(tmp)
    train(config, save_dir=str(tmp / 'run'), iters=1, save_interval=1, log_iters=1, seed=0)
    return tmp, config, str(tmp / 'run' / 'iter_1')


def _refused(capsys, marker, path, code):
    err = capsys.readouterr().err
    assert code == 1, err
    lines = [line for line in err.splitlines() if 'refused to load' in line]
    assert 'Traceback' not in err and len(lines) == 1, err
    assert lines[0].startswith('error: UnsafePickleError: {}: refused to load: its pickle calls posix.system, '
                               'which is not something a Paddle '.format(path)), err
    assert not os.path.exists(marker)


@pytest.mark.parametrize('name', ['model.pdparams', 'model.pdopt', 'train_state.pkl'])
def test_resume_model_refuses_each_crafted_checkpoint_file(run, tmp_path, capsys, name):
    _, config, checkpoint = run
    crafted_dir = str(tmp_path / 'iter_1')
    shutil.copytree(checkpoint, crafted_dir)
    marker = str(tmp_path / 'marker')
    path = write_crafted(os.path.join(crafted_dir, name), marker)
    code = train_cli.main(['--config', config, '--save_dir', str(tmp_path / 'out'), '--iters', '2',
                           '--resume_model', crafted_dir])
    _refused(capsys, marker, path, code)


def test_val_and_predict_model_path_refuse_a_crafted_file(run, tmp_path, capsys):
    tmp, config, _ = run
    marker = str(tmp_path / 'marker')
    path = write_crafted(str(tmp_path / 'model.pdparams'), marker)
    _refused(capsys, marker, path, val_cli.main(['--config', config, '--model_path', path]))
    code = predict_cli.main(['--config', config, '--model_path', path, '--image_path',
                             str(tmp / 'data' / 'images' / 'im0.png'), '--save_dir', str(tmp_path / 'out')])
    _refused(capsys, marker, path, code)


def test_export_model_path_refuses_a_crafted_file(run, tmp_path, capsys):
    _, config, _ = run
    marker = str(tmp_path / 'marker')
    path = write_crafted(str(tmp_path / 'model.pdparams'), marker)
    code = export_cli.main(['--config', config, '--model_path', path, '--save_dir', str(tmp_path / 'out')])
    _refused(capsys, marker, path, code)
    assert not os.path.exists(str(tmp_path / 'out'))


def test_backbone_pretrained_path_and_url_refuse_a_crafted_file(run, tmp_path, capsys, monkeypatch,
                                                                 loopback_files):
    _, config, _ = run
    monkeypatch.setenv('PADDLESEG_FASTFCN_HOME', str(tmp_path / 'cache'))
    marker = str(tmp_path / 'marker')
    path = write_crafted(str(tmp_path / 'resnet18.pdparams'), marker)
    url = loopback_files.put('resnet18.pdparams', open(path, 'rb').read())
    for pretrained in (path, url):
        code = train_cli.main(['--config', config, '--save_dir', str(tmp_path / 'out'),
                               '--opts', 'model.backbone.pretrained={}'.format(pretrained)])
        err = capsys.readouterr().err
        assert code == 1 and 'refused to load' in err and 'posix.system' in err, err
        assert not os.path.exists(marker)
    assert loopback_files.hits == ['/resnet18.pdparams']


def _nested(config, tmp_path, pretrained):
    """A config over ``config`` whose neck is PaddleSeg's ResNet18_vd with its own `pretrained`:
    a weight file deeper than model[.backbone].pretrained, read by the component itself."""
    path = tmp_path / 'nested.yml'
    path.write_text('_base_: {}\nmodel:\n  neck:\n    _inherited_: False\n    type: ResNet18_vd\n'
                    '    pretrained: {}\n'.format(config, pretrained))
    return str(path)


def test_a_crafted_file_at_any_depth_is_refused_by_train_val_and_predict(run, tmp_path, capsys):
    tmp, config, checkpoint = run
    trained = os.path.join(checkpoint, 'model.pdparams')  # a legitimate --model_path: the neck is refused
    marker = str(tmp_path / 'marker')
    path = write_crafted(str(tmp_path / 'neck.pdparams'), marker)
    # train: the file named in a config over a `_base_`
    code = train_cli.main(['--config', _nested(config, tmp_path, path), '--save_dir', str(tmp_path / 'out'),
                           '--iters', '1'])
    _refused(capsys, marker, path, code)
    # val: the file given on the command line (--opts) over the config's `scratch`
    code = val_cli.main(['--config', _nested(config, tmp_path, 'scratch'), '--model_path', trained,
                         '--opts', 'model.neck.pretrained={}'.format(path)])
    _refused(capsys, marker, path, code)
    code = predict_cli.main(['--config', _nested(config, tmp_path, path), '--model_path', trained,
                             '--image_path', str(tmp / 'data' / 'images' / 'im0.png'),
                             '--save_dir', str(tmp_path / 'out')])
    _refused(capsys, marker, path, code)


def test_missing_backbone_weights_stop_before_training(run, tmp_path, capsys):
    _, config, _ = run
    out = tmp_path / 'out'
    code = train_cli.main(['--config', config, '--save_dir', str(out),
                           '--opts', 'model.backbone.pretrained=absent/resnet18_vd.pdparams'])
    err = capsys.readouterr().err
    assert code == 1 and 'backbone weights not found: absent/resnet18_vd.pdparams' in err
    assert 'model.backbone.pretrained=scratch' in err
    assert not any(name.startswith('iter_') for name in os.listdir(out))  # no training step ran


def test_a_run_from_random_weights_says_so_first(run, tmp_path):
    _, config, _ = run
    out = tmp_path / 'out'
    assert train_cli.main(['--config', config, '--save_dir', str(out), '--iters', '1',
                           '--opts', 'model.backbone.pretrained=scratch']) == 0
    first = (out / 'train.log').read_text().splitlines()[0]
    assert 'WARNING: ResNet_vd starts from random weights (model.backbone.pretrained is scratch)' in first
