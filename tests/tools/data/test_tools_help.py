"""Every tools/data/prepare_*.py explains itself with an example command."""
import pytest

from tests.tools.data.replicas import load_tool


@pytest.mark.parametrize('name', ['prepare_ade20k', 'prepare_pascal_context', 'prepare_cityscapes',
                                  'prepare_custom'])
def test_help_shows_an_example(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_tool(name).main(['--help'])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert 'example' in out and 'python tools/data/{}.py --'.format(name) in out
