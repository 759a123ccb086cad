"""One training run per save_dir: a lock file that names its owner.

Two runs writing ``iter_N`` into one folder overwrite each other's checkpoints and
both "succeed". The run holds ``save_dir/.lock`` with ``fcntl.flock``: the kernel
releases the lock when the process ends, however it ends (SIGKILL, a crash), so a
lock is never stale while its file can be locked again; the file's text (pid, host,
start time) only names the owner in the refusal. A file left by a process that died
holds its text but no lock: the next run takes it over and says so. Under
``paddle.distributed.launch`` rank 0 holds it for the whole run (the other ranks
write nothing in save_dir). flock works on local file systems and on NFS (Linux
emulates it with byte-range locks there).
"""
import datetime
import errno
import fcntl
import json
import os
import socket

from paddleseg_fastfcn.utils.atomic_write import write_failure

LOCK_FILE = '.lock'


class SaveDirLocked(RuntimeError):
    """Another live run holds the save_dir's lock; the message names it."""


def _owner_text(owner):
    return 'pid {} on host {} since {}'.format(owner.get('pid', '?'), owner.get('host', '?'),
                                              owner.get('since', '?'))


def _read_owner(fd):
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 4096).decode('utf-8', 'replace')
    try:
        owner = json.loads(text)
    except ValueError:
        return {'raw': text} if text.strip() else None
    return owner if isinstance(owner, dict) else {'raw': text}


class RunLock:
    """The lock of one save_dir, held from ``acquire`` to ``release``.

    Args:
        save_dir (str): created if missing.
        info (callable): receives one line when a dead run's lock is taken over.
    """

    def __init__(self, save_dir, info=print):
        self.path = os.path.join(save_dir, LOCK_FILE)
        self.save_dir, self.info, self._fd = save_dir, info, None

    def acquire(self):
        """Take the lock.

        Raises:
            SaveDirLocked: another live process holds it (pid, host, start time named).
            DiskWriteError: the folder or the lock file cannot be written (named, with why).
        """
        fd = None
        try:
            fd = self._locked_fd()
            stale = _read_owner(fd)
            since = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')
            text = json.dumps({'pid': os.getpid(), 'host': socket.gethostname(), 'since': since})
            os.ftruncate(fd, 0)
            os.pwrite(fd, text.encode('utf-8'), 0)
            os.fsync(fd)
        except OSError as e:
            if fd is not None:
                os.close(fd)
            raise write_failure('the save_dir lock', self.path, e) from e
        if stale:
            self.info('save_dir lock {}: taking over from {}, which ended without releasing '
                      'it'.format(self.path, _owner_text(stale)))
        self._fd = fd
        return self

    def _locked_fd(self):
        """An open descriptor of the lock file, locked by this process."""
        os.makedirs(self.save_dir, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                owner = _read_owner(fd) or {}
                os.close(fd)
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                raise SaveDirLocked(
                    'save_dir {} is in use by another training run: {} (lock file {}); wait '
                    'for it to end, stop it, or choose another --save_dir'.format(
                        self.save_dir, _owner_text(owner), self.path)) from None
            # A releasing run unlinks the file before unlocking it: a lock taken on an
            # inode that is no longer at the path guards nothing, so take the new file's.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)

    def release(self):
        """Remove the lock file and unlock (a no-op when not held)."""
        if self._fd is None:
            return
        try:
            os.unlink(self.path)
        except OSError:
            pass  # a read-only or vanished folder: the kernel lock still ends below
        os.close(self._fd)
        self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
