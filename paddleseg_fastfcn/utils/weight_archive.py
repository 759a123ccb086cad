"""The ``.pdparams`` inside a weight archive (PaddleSeg's ``resnet50_vd_ssld_v2.tar.gz``), unpacked bounded.

A few kilobytes of gzip can unpack to gigabytes, and a tar header can declare any
size. Before anything is written, every member header is walked (stopping as
soon as the member count passes ``ARCHIVE_MEMBERS`` or their summed sizes pass
``WEIGHT_BYTES``) and checked with tarfile's ``'data'`` filter (Python's guard
against absolute paths, ``..``, links leaving the folder, device files); an
archive without a ``.pdparams`` member is refused there. Then only that member
is streamed, in chunks, into a temporary folder published with ``os.replace``:
on any refusal or failure the cache holds nothing of it.
"""
import gzip
import os
import shutil
import tarfile
import tempfile
import zlib

from . import limits

ARCHIVE_SUFFIXES = ('.tar.gz', '.tgz', '.tar')
CHUNK = 1 << 20
# tarfile itself reads a long name or pax header whole; none is near this size.
MAX_HEADER_READ = 1 << 24


class _BoundedReader:
    """The archive's (decompressed) stream, refusing any single read larger than tarfile's
    own header reads could legitimately be (a read allocates its requested size first)."""

    def __init__(self, raw, path):
        self._raw, self._path = raw, path

    def read(self, size=-1):
        if size is None or size < 0 or size > MAX_HEADER_READ:
            raise limits.LimitExceeded('{}: refused: a tar header declares {} bytes of metadata (at most {:,} '
                                       'are read)'.format(self._path, size, MAX_HEADER_READ), self._path)
        return self._raw.read(size)

    def seek(self, *args):
        return self._raw.seek(*args)

    def tell(self):
        return self._raw.tell()


def is_archive(path):
    return str(path).endswith(ARCHIVE_SUFFIXES)


def _open(path):
    with open(path, 'rb') as f:
        gzipped = f.read(2) == b'\x1f\x8b'
    raw = gzip.GzipFile(path) if gzipped else open(path, 'rb')
    try:
        return raw, tarfile.open(fileobj=_BoundedReader(raw, path), mode='r:')
    except BaseException:
        raw.close()
        raise


def _weights_member(tar, archive, dest):
    """Walk every header (bounded, 'data'-filtered) and return the ``.pdparams`` member to unpack."""
    count = total = 0
    found = []
    while True:
        member = tar.next()
        if member is None:
            break
        count += 1
        limits.check('ARCHIVE_MEMBERS', count, archive, 'its members (counted so far)')
        total += member.size
        limits.check('WEIGHT_BYTES', total, archive, "its members' sizes in bytes (summed so far)")
        tarfile.data_filter(member, dest)
        if member.isfile() and member.name.endswith('.pdparams'):
            found.append(member)
    preferred = [m for m in found if os.path.basename(m.name) == 'model.pdparams']
    if len(preferred) == 1 or len(found) == 1:
        return (preferred or found)[0]
    raise ValueError('{}: expected one model.pdparams in the archive, found: {}; nothing was unpacked'.format(
        archive, [m.name for m in found] or 'no .pdparams file'))


def _copy(tar, member, out_path, archive):
    written = 0
    with tar.extractfile(member) as src, open(out_path, 'wb') as out:
        for chunk in iter(lambda: src.read(CHUNK), b''):
            written += len(chunk)
            limits.check_holds(written, member.size, archive, 'member {}'.format(member.name))
            out.write(chunk)
    if written != member.size:
        raise ValueError('{}: member {} is truncated ({} of {} bytes)'.format(archive, member.name, written,
                                                                          member.size))


def extract_weights(archive, dest_root=None):
    """The ``.pdparams`` of a ``.tar[.gz]`` weight archive, unpacked once into ``dest_root``.

    Args:
        archive (str): the archive file.
        dest_root (str | None): where to unpack (default: the archive's folder); the file
            lands in ``<dest_root>/<archive name>.extracted/<member's file name>``.

    Returns:
        str: path of the unpacked ``.pdparams`` (``model.pdparams`` preferred).

    Raises:
        LimitExceeded: too many members, or their sizes sum past ``WEIGHT_BYTES``.
        ValueError: the archive cannot be read, a member is refused by the 'data'
            filter, or there is not exactly one (``model.``)``.pdparams``; nothing is
            left in ``dest_root``.
    """
    base = os.path.basename(archive)
    for suffix in ARCHIVE_SUFFIXES:
        if base.endswith(suffix):
            base = base[:-len(suffix)]
            break
    dest_root = dest_root or os.path.dirname(os.path.abspath(archive))
    target = os.path.join(dest_root, base + '.extracted')
    if os.path.isdir(target):
        published = sorted(f for f in os.listdir(target) if f.endswith('.pdparams'))
        if len(published) == 1 and os.path.getmtime(target) >= os.path.getmtime(archive):
            return os.path.join(target, published[0])
        shutil.rmtree(target, ignore_errors=True)  # unpacked from an older archive
    tmp = None
    try:
        raw, tar = _open(archive)
        with raw, tar:
            member = _weights_member(tar, archive, target)
            os.makedirs(dest_root, exist_ok=True)
            tmp = tempfile.mkdtemp(dir=dest_root, prefix='.part_')
            _copy(tar, member, os.path.join(tmp, os.path.basename(member.name)), archive)
        try:
            os.replace(tmp, target)
        except OSError:
            if not os.path.isdir(target):
                raise
            # another process (rank) published the same folder first: use it
        return os.path.join(target, os.path.basename(member.name))
    except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
        raise ValueError('{}: cannot unpack the archive safely: {}'.format(archive, e)) from e
    finally:
        if tmp is not None and os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
