"""utils/cli.py: argparse types that refuse out-of-range values and missing files at parse time."""
import argparse

import pytest

from paddleseg_fastfcn.utils import cli


def parse(type_, text):
    """Parse ``--value text`` with ``type_``; returns (value, None) or (None, argparse's message)."""
    parser = argparse.ArgumentParser(prog='tool')
    parser.add_argument('--value', type=type_)
    try:
        return parser.parse_args(['--value', text]).value, None
    except SystemExit as e:
        assert e.code == 2
        return None, 'exited'


@pytest.mark.parametrize('type_, good, bad, message', [
    (cli.positive_int, ('1', 1), '0', 'must be >= 1, got 0'),
    (cli.positive_int, ('7', 7), '-5', 'must be >= 1, got -5'),
    (cli.positive_int, ('7', 7), 'five', "expected an integer, got 'five'"),
    (cli.positive_int, ('7', 7), '2.5', "expected an integer, got '2.5'"),
    (cli.non_negative_int, ('0', 0), '-1', 'must be >= 0, got -1'),
    (cli.int_range(0, 255), ('255', 255), '256', 'must be <= 255, got 256'),
    (cli.positive_float, ('0.01', 0.01), '0', 'must be > 0, got 0'),
    (cli.positive_float, ('1e-3', 1e-3), 'inf', 'must be > 0, got inf'),
    (cli.positive_float, ('1', 1.0), 'nan', 'must be > 0, got nan'),
    (cli.positive_float, ('1', 1.0), 'x', "expected a number, got 'x'"),
    (cli.fraction, ('0', 0.0), '1', 'must be in [0, 1), got 1'),
    (cli.str2bool, ('False', False), 'maybe', "expected True or False, got 'maybe'"),
])
def test_number_types(capsys, type_, good, bad, message):
    assert parse(type_, good[0]) == (good[1], None)
    assert parse(type_, bad) == (None, 'exited')
    assert 'tool: error: argument --value: {}'.format(message) in capsys.readouterr().err


def test_path_types(tmp_path, capsys):
    folder, file = tmp_path / 'dir', tmp_path / 'file.yml'
    folder.mkdir()
    file.write_text('')
    cases = [(cli.existing_file, file, folder, 'is a folder, not a file: {}'.format(folder)),
             (cli.existing_file, file, tmp_path / 'no.yml', 'file not found: {}'.format(tmp_path / 'no.yml')),
             (cli.existing_dir, folder, file, 'is a file, not a folder: {}'.format(file)),
             (cli.existing_dir, folder, tmp_path / 'no', 'folder not found: {}'.format(tmp_path / 'no')),
             (cli.existing_path, file, tmp_path / 'no', 'no such file or folder: {}'.format(tmp_path / 'no')),
             (cli.output_dir, tmp_path / 'new', file, 'is a file, not a folder: {}'.format(file)),
             (cli.output_dir, folder, file, 'is a file, not a folder: {}'.format(file))]
    for type_, good, bad, message in cases:
        assert parse(type_, str(good)) == (str(good), None)
        assert parse(type_, str(bad)) == (None, 'exited')
        assert 'argument --value: ' + message in capsys.readouterr().err


def test_or_keyword_passes_the_keyword_and_checks_the_rest(tmp_path, capsys):
    resume = cli.or_keyword('auto', cli.existing_dir)
    assert parse(resume, 'auto') == ('auto', None)
    assert parse(resume, str(tmp_path)) == (str(tmp_path), None)
    assert parse(resume, 'autox') == (None, 'exited')
    assert 'argument --value: folder not found: autox' in capsys.readouterr().err
