import errno

from paddleseg_fastfcn.utils.train_logger import TrainLogger


class _FullDisk:
    """A file object whose writes fail as on a full disk."""

    def write(self, text):
        raise OSError(errno.ENOSPC, 'No space left on device')

    def flush(self):
        pass

    def close(self):
        raise OSError(errno.ENOSPC, 'No space left on device')


def test_a_log_write_failing_warns_once_and_training_goes_on(tmp_path, capsys):
    log = TrainLogger(str(tmp_path))
    log.info('first')
    log._file.close()
    log._file = _FullDisk()
    log.info('second')
    log.info('third')
    log.close()
    captured = capsys.readouterr()
    assert 'second' in captured.out and 'third' in captured.out  # stdout keeps everything
    assert captured.err.count('warning: cannot write train.log') == 1
    assert 'No space left on device (ENOSPC)' in captured.err
    assert 'training goes on without train.log' in captured.err
    assert (tmp_path / 'train.log').read_text().count('[INFO]') == 1


def test_a_full_small_filesystem_under_the_log(small_filesystem, capsys):
    from tests.conftest import fill_filesystem
    fs = small_filesystem('1m')
    log = TrainLogger(fs)
    log.info('fits')
    fill_filesystem(fs, leave=0)
    for _ in range(200):  # beyond the buffer: the flush reaches the full disk
        log.info('x' * 100)
    log.close()
    assert 'warning: cannot write train.log' in capsys.readouterr().err
