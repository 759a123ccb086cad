"""Writing output files safely: complete or absent, and a clear error when the disk refuses.

Every file the project writes for a user (label PNGs and list files of the dataset
tools, predicted masks and overlays, converted weights, deploy.yaml) goes through
``write_atomically``: the data goes to a hidden temporary file next to the target,
which is then renamed over it. The rename is atomic on one file system, so readers
see the old file or the new one, never half of one. Checkpoint directories use the
same idea one level up (``core.checkpoint``).

``DiskWriteError`` is what a failed write becomes (a full disk, a read-only folder):
the message says what was being written, roughly how much space it needs and how
much is left, so the user knows what to free.
"""
import errno
import os
import shutil
import tempfile


class DiskWriteError(OSError):
    """Writing an output failed (no space, read-only, no permission); the message says what and why.

    ``errno`` is the original error's; ``str()`` is the message alone (no ``[Errno N]``).
    """

    def __str__(self):
        return self.strerror or super().__str__()


def free_bytes(path):
    """Free bytes on the file system holding ``path`` (or its nearest existing parent); None if unknown."""
    path = os.path.abspath(path)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def format_bytes(n):
    """``1536`` -> ``'1.5 KB'`` (powers of 1024)."""
    if n is None:
        return 'unknown'
    for unit in ('B', 'KB', 'MB', 'GB'):
        if abs(n) < 1024 or unit == 'GB':
            return '{:.0f} {}'.format(n, unit) if unit == 'B' else '{:.1f} {}'.format(n, unit)
        n /= 1024.0
    return '{:.1f} TB'.format(n)


def write_failure(what, path, error, needed_bytes=None, note=None):
    """The ``DiskWriteError`` for ``error`` (an OSError) raised while writing ``what`` to ``path``.

    Args:
        what (str): what was being written (``'checkpoint iter_20'``, ``'train.log'``).
        path (str): the file or directory that was being written.
        error (OSError): the original error (kept as ``__cause__`` by the caller's ``from``).
        needed_bytes (int | None): an estimate of the space the write needs.
        note (str | None): appended, e.g. which previous output is still intact.

    Returns:
        DiskWriteError: errno set from ``error``; raise it ``from error``.
    """
    reason = error.strerror or str(error)
    code = errno.errorcode.get(error.errno, '') if error.errno else ''
    parts = ['cannot write {} to {}: {}{}'.format(what, path, reason, ' ({})'.format(code) if code else '')]
    space = 'needs about {}'.format(format_bytes(needed_bytes)) if needed_bytes is not None else None
    free = 'free on that file system: {}'.format(format_bytes(free_bytes(path)))
    parts.append('; '.join(p for p in (space, free) if p))
    if error.errno == errno.EROFS:
        parts.append('the file system is mounted read-only')
    elif error.errno in (errno.EACCES, errno.EPERM):
        parts.append('no permission to write there')
    if note:
        parts.append(note)
    result = DiskWriteError(error.errno, '; '.join(parts))
    result.filename = path
    return result


def _new_file_mode():
    """The mode ``open(path, 'w')`` gives a new file: 0o666 less the process's umask."""
    umask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(umask)
    return 0o666 & ~umask


def _temp_path(path):
    """A new hidden file next to ``path`` that keeps its extension (cv2 picks the codec from it).

    mkstemp creates it private (0o600); it gets the mode a plain write would give, so
    the renamed output is as readable as every other file the user writes.
    """
    folder = os.path.dirname(os.path.abspath(path))
    stem, ext = os.path.splitext(os.path.basename(path))
    fd, tmp = tempfile.mkstemp(prefix='.{}.'.format(stem), suffix='.tmp' + ext, dir=folder)
    try:
        os.fchmod(fd, _new_file_mode())
    finally:
        os.close(fd)
    return tmp


def write_atomically(path, write, what=None):
    """Call ``write(tmp_path)`` on a temporary file next to ``path``, then rename it over ``path``.

    A failure removes the temporary file and leaves ``path`` as it was.

    Args:
        path (str): the file to write (its folders are created).
        write (callable): writes the whole content to the path it is given.
        what (str | None): names the output in the error (default: the file name).

    Raises:
        DiskWriteError: the folder cannot be created or the write / rename failed
            with an OSError (no space, read-only...), with free space in the message.
    """
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = _temp_path(path)
    except OSError as e:
        raise write_failure(what or os.path.basename(path), path, e) from e
    try:
        write(tmp)
        os.replace(tmp, path)
    except DiskWriteError:
        _remove(tmp)
        raise
    except OSError as e:
        done = os.path.getsize(tmp) if os.path.exists(tmp) else 0
        _remove(tmp)
        raise write_failure(what or os.path.basename(path), path, e,
                            note='{} had been written when it failed'.format(format_bytes(done))) from e
    except BaseException:
        _remove(tmp)
        raise


def write_text(path, text, what=None):
    """Write ``text`` (utf-8) to ``path`` atomically."""
    def write(tmp):
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)
    write_atomically(path, write, what)


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
