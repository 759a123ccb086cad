"""utils.deploy_yaml: deploy.yaml is written, read back and checked by one class."""
import os
import re

import numpy as np
import pytest
import yaml

from paddleseg_fastfcn.utils.deploy_yaml import DeployConfig, DeployConfigError
from paddleseg_fastfcn.utils.limits import LimitExceeded

SECTION = {'model': 'model.json', 'params': 'model.pdiparams',
           'transforms': [{'type': 'Resize', 'target_size': [32, 32]}, {'type': 'Normalize'}],
           'input_shape': [-1, 3, -1, -1], 'output_op': 'argmax', 'output_dtype': 'int32'}


def write_raw(tmp_path, section, name='deploy.yaml'):
    path = tmp_path / name
    path.write_text(yaml.safe_dump({'Deploy': section}))
    return str(path)


def test_round_trip_write_read_update(tmp_path):
    written = DeployConfig.write(str(tmp_path), dict(SECTION))
    read = DeployConfig(str(tmp_path / 'deploy.yaml'))
    assert read.section == SECTION == written.section
    assert read.model_file == str(tmp_path / 'model.json')
    assert read.params_file == str(tmp_path / 'model.pdiparams')
    assert (read.onnx_file, read.output_op, read.input_shape) == (None, 'argmax', [-1, 3, -1, -1])
    data = read.transforms({'img': np.zeros((8, 10, 3), np.float32)})
    assert data['img'].shape == (3, 32, 32) and data['trans_info'] == [('resize', (8, 10))]
    read.update(onnx_model='model.onnx', onnx_opset=13)
    again = DeployConfig(read.path)
    assert again.onnx_file == str(tmp_path / 'model.onnx') and again.section['onnx_opset'] == 13
    # the key order of the written file is the schema's, not alphabetical
    assert list(yaml.safe_load(open(read.path))['Deploy'])[:3] == ['model', 'params', 'transforms']


@pytest.mark.parametrize('change,message', [
    ({'model': None}, r'`Deploy.model` must name the program file'),
    ({'transforms': 'Normalize'}, r'`Deploy.transforms` must be a list'),
    ({'transforms': [{'type': 'Normalize'}, {'type': 'Nope'}]}, r"`Deploy.transforms\[1\]` has unknown .*'Nope'"),
    ({'transforms': [{'type': 'Resize', 'bad_arg': 1}]}, r'`Deploy.transforms\[0\]` \(Resize\)'),
    ({'output_op': 'sigmoid'}, r'`Deploy.output_op` must be one of'),
    ({'input_shape': [1, 3, 64]}, r'`Deploy.input_shape` must be 4 integers'),
    ({'onnx_model': 3}, r'`Deploy.onnx_model` must be a file name'),
])
def test_invalid_keys_are_named_with_the_file(tmp_path, change, message):
    path = write_raw(tmp_path, dict(SECTION, **change))
    with pytest.raises(DeployConfigError, match=r'deploy\.yaml: ' + message):
        DeployConfig(path)
    with pytest.raises(DeployConfigError, match=message):
        DeployConfig.write(str(tmp_path / 'out'), dict(SECTION, **change))
    assert not os.path.exists(tmp_path / 'out' / 'deploy.yaml')


def test_a_python_tag_is_refused_naming_the_file_and_nothing_runs(tmp_path):
    marker = tmp_path / 'marker'
    path = tmp_path / 'deploy.yaml'
    path.write_text("Deploy:\n  model: !!python/object/apply:os.system ['touch {}']\n".format(marker))
    with pytest.raises(DeployConfigError, match=r"deploy\.yaml: YAML syntax error: could not determine a "
                                                r"constructor for the tag .*python/object/apply:os\.system"):
        DeployConfig(str(path))
    assert not marker.exists()


def test_missing_file_section_key_and_model_files(tmp_path):
    with pytest.raises(DeployConfigError, match='deploy.yaml not found'):
        DeployConfig(str(tmp_path / 'deploy.yaml'))
    (tmp_path / 'bad.yaml').write_text('Deploy: [unclosed\n')
    with pytest.raises(DeployConfigError, match='bad.yaml: YAML syntax error'):
        DeployConfig(str(tmp_path / 'bad.yaml'))
    (tmp_path / 'train.yaml').write_text('model: {type: EncNet}\n')
    with pytest.raises(DeployConfigError, match='train.yaml: no `Deploy:` section'):
        DeployConfig(str(tmp_path / 'train.yaml'))
    no_params = {k: v for k, v in SECTION.items() if k != 'params'}
    with pytest.raises(DeployConfigError, match='`Deploy.params` is missing'):
        DeployConfig(write_raw(tmp_path, no_params, 'no_params.yaml'))
    cfg = DeployConfig(write_raw(tmp_path, SECTION))
    with pytest.raises(DeployConfigError, match=r'deploy.yaml: `Deploy.model` names .*model.json which does not exist'):
        cfg.check_files('paddle')
    with pytest.raises(DeployConfigError, match='no `Deploy.onnx_model`'):
        cfg.check_files('onnxruntime')


@pytest.mark.parametrize('key', ['model', 'params', 'onnx_model'])
@pytest.mark.parametrize('name,why', [
    ('../outside.json', 'outside the export folder'),
    ('sub/../../outside.json', 'outside the export folder'),
    ('/etc/passwd', 'outside the export folder'),
    ('link.json', 'a symbolic link to .*outside.json, outside the export folder'),
])
def test_file_names_leading_out_of_the_folder_are_refused(tmp_path, key, name, why):
    export = tmp_path / 'export'
    export.mkdir()
    (tmp_path / 'outside.json').write_text('{}')
    os.symlink(str(tmp_path / 'outside.json'), str(export / 'link.json'))
    path = write_raw(export, dict(SECTION, **{key: name}))
    message = r'deploy\.yaml: `Deploy\.{}` names {}, {}'.format(key, re.escape(repr(name)), why)
    with pytest.raises(DeployConfigError, match=message):
        DeployConfig(path)
    before = open(path).read()
    with pytest.raises(DeployConfigError, match=message):
        DeployConfig.write(str(export), dict(SECTION, **{key: name}))
    assert open(path).read() == before  # refused before anything is written


def test_a_symbolic_link_inside_the_folder_and_a_subfolder_are_accepted(tmp_path):
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / 'model.json').write_text('{}')
    os.symlink('sub/model.json', str(tmp_path / 'alias.json'))
    cfg = DeployConfig(write_raw(tmp_path, dict(SECTION, model='alias.json', params='sub/model.pdiparams')))
    assert cfg.model_file == str(tmp_path / 'alias.json')
    assert cfg.params_file == str(tmp_path / 'sub' / 'model.pdiparams')


def test_binary_file_and_alias_expanded_values_give_a_short_message(tmp_path):
    path = tmp_path / 'deploy.yaml'
    path.write_bytes(b'Deploy:\n  model: caf\xe9.json\n')
    with pytest.raises(DeployConfigError, match=r'deploy\.yaml: not a text file \(byte 20 is not UTF-8\)'):
        DeployConfig(str(path))
    # 9**8 strings once expanded: the message quotes a few.
    levels = ['a: &a [{}]'.format(', '.join(['x'] * 9))]
    for i in range(1, 8):
        levels.append('l{}: &l{} [{}]'.format(i, i, ', '.join(['*' + ('a' if i == 1 else 'l{}'.format(i - 1))] * 9)))
    path.write_text('\n'.join(levels) + '\nDeploy: {model: m.json, params: p, transforms: [], output_op: *l7}\n')
    with pytest.raises(DeployConfigError) as info:
        DeployConfig(str(path))
    assert '`Deploy.output_op` must be one of' in str(info.value) and len(str(info.value)) < 600


@pytest.mark.parametrize('transform', [
    {'type': 'Resize', 'target_size': [100000, 100000]},
    {'type': 'ResizeByLong', 'long_size': 100000},
    {'type': 'ResizeByShort', 'short_size': 100000},
])
def test_a_resize_beyond_the_pixel_cap_is_refused_before_any_image(tmp_path, transform):
    path = write_raw(tmp_path, dict(SECTION, transforms=[transform, {'type': 'Normalize'}]))
    message = r'deploy\.yaml: refused: `Deploy\.transforms\[0\]` \({}\) resizes every image to .* ' \
              r'\(10,000,000,000\) exceeds the cap'.format(transform['type'])
    with pytest.raises(LimitExceeded, match=message):
        DeployConfig(path)
