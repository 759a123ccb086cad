import errno
import os

import pytest

from paddleseg_fastfcn.utils.atomic_write import DiskWriteError, format_bytes, write_atomically, write_text
from tests.conftest import fill_filesystem


def _files(path):
    return sorted(n for _, _, names in os.walk(path) for n in names)


def test_writes_whole_file_and_keeps_the_extension_of_the_temporary(tmp_path):
    seen = []

    def write(tmp):
        seen.append(tmp)
        with open(tmp, 'w') as f:
            f.write('ok')
    target = tmp_path / 'sub' / 'mask.png'
    write_atomically(str(target), write)
    assert target.read_text() == 'ok' and seen[0].endswith('.png')
    assert _files(tmp_path) == ['mask.png']


def test_injected_enospc_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / 'list.txt'
    target.write_text('old\n')

    def write(tmp):
        with open(tmp, 'w') as f:
            f.write('half')
        raise OSError(errno.ENOSPC, 'No space left on device')
    with pytest.raises(DiskWriteError, match=r'cannot write train list to .*list\.txt: No space left on device '
                                             r'\(ENOSPC\); free on that file system: .*; 4 B had been written'):
        write_atomically(str(target), write, 'train list')
    assert target.read_text() == 'old\n' and _files(tmp_path) == ['list.txt']


def test_a_full_small_filesystem(small_filesystem):
    fs = small_filesystem('1m')
    write_text(os.path.join(fs, 'a.txt'), 'complete')
    fill_filesystem(fs, leave=0)
    with pytest.raises(DiskWriteError, match=r'No space left on device \(ENOSPC\); free on that file system: 0 B'):
        write_text(os.path.join(fs, 'a.txt'), 'x' * 200000)
    assert open(os.path.join(fs, 'a.txt')).read() == 'complete'
    assert _files(fs) == ['a.txt', 'filler']


def test_a_read_only_filesystem(small_filesystem):
    fs = small_filesystem('1m')
    write_text(os.path.join(fs, 'a.txt'), 'complete')
    small_filesystem.read_only(fs)
    with pytest.raises(DiskWriteError, match=r'Read-only file system \(EROFS\).*mounted read-only'):
        write_text(os.path.join(fs, 'a.txt'), 'new')
    with pytest.raises(DiskWriteError, match='cannot write .* to .*new/b.txt'):
        write_text(os.path.join(fs, 'new', 'b.txt'), 'new')
    assert open(os.path.join(fs, 'a.txt')).read() == 'complete'


def test_format_bytes():
    assert [format_bytes(n) for n in (0, 1536, 5 * 2 ** 20, None)] == ['0 B', '1.5 KB', '5.0 MB', 'unknown']


@pytest.mark.parametrize('umask', [0o022, 0o077])
def test_the_output_gets_the_mode_of_a_plain_write(tmp_path, umask):
    # mkstemp's private 0o600 must not leak into weights others on the machine read.
    previous = os.umask(umask)
    try:
        plain = tmp_path / 'plain.txt'
        plain.write_text('x')
        write_text(str(tmp_path / 'atomic.txt'), 'x')
    finally:
        os.umask(previous)
    assert os.stat(tmp_path / 'atomic.txt').st_mode & 0o777 == os.stat(plain).st_mode & 0o777 == 0o666 & ~umask
