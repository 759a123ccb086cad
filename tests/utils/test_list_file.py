"""utils.list_file: the one list reader (predict / infer image lists, PaddleSeg file lists)."""
import pytest

from paddleseg_fastfcn.utils.list_file import ListFileError, read_list_file


def write(tmp_path, data, name='list.txt'):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_bom_crlf_blank_lines_tabs_and_runs_of_spaces_are_accepted(tmp_path):
    path = write(tmp_path, b'\xef\xbb\xbfa.jpg  a.png\r\n\r\n   \n\tb.jpg\t\tb.png \nc.jpg\n')
    entries = read_list_file(path, 1, 2)
    assert [(e.lineno, e.fields) for e in entries] == [(1, ['a.jpg', 'a.png']), (4, ['b.jpg', 'b.png']),
                                                       (5, ['c.jpg'])]
    assert entries[1].origin == '{}:4'.format(path)
    # a separator other than whitespace keeps spaces inside paths
    entries = read_list_file(write(tmp_path, b'my a.jpg | my a.png\n', 'bar.txt'), 2, 2, separator='|')
    assert entries[0].fields == ['my a.jpg', 'my a.png']


@pytest.mark.parametrize('data, message', [
    (b'a.jpg a.png\nb.jpg b.png extra\n', r'list\.txt:2: expected "image label" \(2 field\(s\) separated by '
                                          r'spaces or tabs\), found 3 field\(s\): \'b\.jpg b\.png extra\''),
    (b'a.jpg a.png\nb.jpg\n', r'list\.txt:2: expected "image label" .*found 1 field'),
    (b'a.jpg a.png\n\xff\xfeb.jpg b.png\n', r'list\.txt:2: not UTF-8 text'),
    (b'a.jpg a\x00.png\n', r'list\.txt:1: holds a NUL byte'),
])
def test_anything_else_is_refused_by_file_and_line(tmp_path, data, message):
    with pytest.raises(ListFileError, match=message):
        read_list_file(write(tmp_path, data), 2, 2, expected='image label')


def test_an_empty_field_with_an_explicit_separator_is_refused(tmp_path):
    with pytest.raises(ListFileError, match=r"list\.txt:1: expected .* separated by ','\), found 2"):
        read_list_file(write(tmp_path, b'a.jpg,\n'), 2, 2, separator=',')
