"""Every script turns a bad config into one line, `error: ConfigError: <file>:<line>: <key>: ...`, exit 1.

The scripts' ``main`` run in-process; the config's only bad value is YAML's ``.nan``.
"""
import os

import pytest

from tests.test_script_arguments import load_script

DEPLOY_YAML = 'Deploy:\n  model: model.json\n  params: model.pdiparams\n  transforms: [{type: Normalize}]\n'


@pytest.fixture
def bad_config(tmp_path, write_model_config):
    base = write_model_config(name='base.yml')
    child = tmp_path / 'child.yml'
    child.write_text('_base_: base.yml\nlr_scheduler:\n  learning_rate: .nan\n')
    (tmp_path / 'deploy.yaml').write_text(DEPLOY_YAML)
    return {'cfg': str(child), 'base': base, 'dir': str(tmp_path), 'deploy': str(tmp_path / 'deploy.yaml')}


SCRIPTS = [
    ('train.py', ['--config', '{cfg}', '--save_dir', '{dir}/out']),
    ('val.py', ['--config', '{cfg}', '--model_path', '{base}']),
    ('predict.py', ['--config', '{cfg}', '--model_path', '{base}', '--image_path', '{dir}',
                    '--save_dir', '{dir}/out']),
    ('export.py', ['--config', '{cfg}', '--model_path', '{base}', '--save_dir', '{dir}/out']),
    ('paddleseg_fastfcn/deploy/evaluate.py', ['--config', '{deploy}', '--dataset_config', '{cfg}']),
]


@pytest.mark.parametrize('script, argv', SCRIPTS, ids=[s[0] for s in SCRIPTS])
def test_a_bad_config_value_is_one_named_line(bad_config, capsys, monkeypatch, script, argv):
    module = load_script(script, monkeypatch)
    assert module.main([a.format(**bad_config) for a in argv]) == 1
    err = capsys.readouterr().err.strip()
    assert err == ('error: ConfigError: invalid config value: {}:3: lr_scheduler.learning_rate: found nan, '
                   'expected a finite number > 0'.format(bad_config['cfg'])), err
    assert not os.path.exists(os.path.join(bad_config['dir'], 'out'))


def test_a_model_the_registry_cannot_build_is_one_line_naming_the_file(bad_config, capsys, monkeypatch):
    module = load_script('predict.py', monkeypatch)
    argv = ['--config', bad_config['base'], '--model_path', bad_config['base'], '--image_path', bad_config['dir'],
            '--save_dir', bad_config['dir'] + '/out', '--opts', 'model.backbone.layers=7']
    assert module.main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert '\n' not in err and 'Traceback' not in err
    assert err.startswith('error: ConfigError: {}: cannot build `model`: '.format(bad_config['base'])), err
    assert "multiple values for keyword argument 'layers'" in err
