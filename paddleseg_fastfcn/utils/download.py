"""Verified, cached downloads of weight files (archives are unpacked by :mod:`.weight_archive`).

Paddle's ``get_path_from_url`` can check an md5 only and does not compare the
received size with ``Content-Length``; weight URLs publish sha256 prefixes
(torch-hub names such as ``resnet50-0676ba61.pth``), so this small urllib
downloader checks those instead.

Cache layout: ``<cache_dir>/<sha1(url)[:16]>/<file name>`` (many URLs end in the
same ``model.pdparams``). A file appears in the cache only complete and
verified: it is streamed into a temporary file of the same directory, fsync'ed,
checked, then renamed with ``os.replace`` (atomic, so ranks that download at the
same time each publish a complete copy and never read a partial one).
"""
import hashlib
import http.client
import os
import re
import urllib.error
import urllib.request
from urllib.parse import unquote, urlparse

from .atomic_write import write_atomically

DEFAULT_CACHE_DIR = os.path.join('~', '.cache', 'paddleseg_fastfcn', 'pretrained')
# torch.hub's convention: '<name>-<first hex digits of the sha256>.<ext>'. At least
# 8 digits, so that names such as 'r50-d8.pth' are not read as hashes.
HASH_IN_NAME = re.compile(r'-([0-9a-f]{8,64})\.')
CHUNK = 1 << 20


class DownloadError(ValueError):
    """A download failed, was truncated or does not match its sha256; nothing was cached.

    A ValueError (bad input: the URL in the config), so the scripts report it without a traceback.
    """


def is_url(path_or_url):
    return urlparse(str(path_or_url)).scheme in ('http', 'https')


def cache_root(cache_dir=None):
    """``cache_dir``, else ``$PADDLESEG_FASTFCN_HOME``, else ``~/.cache/paddleseg_fastfcn/pretrained``."""
    return os.path.expanduser(cache_dir or os.environ.get('PADDLESEG_FASTFCN_HOME', DEFAULT_CACHE_DIR))


def expected_sha256(url_or_name, sha256=None):
    """The sha256 (or its leading hex digits) a file must have, or None if unknown.

    Args:
        url_or_name (str): the URL or file name (a torch-hub hash prefix is read from it).
        sha256 (str | None): a full hex digest given by the config; wins over the name.

    Raises:
        ValueError: ``sha256`` is not 64 hex digits.
    """
    if sha256:
        sha256 = str(sha256).strip().lower()
        if not re.fullmatch(r'[0-9a-f]{64}', sha256):
            raise ValueError('pretrained_sha256 must be 64 hex digits, got {!r}'.format(sha256))
        return sha256
    found = HASH_IN_NAME.search(os.path.basename(urlparse(str(url_or_name)).path))
    return found.group(1) if found else None


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_dir(path):
    """fsync a directory, so that a rename inside it survives a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _stream(url, out, timeout):
    """Copy ``url`` into the open file ``out``; returns (sha256 hex, bytes, Content-Length or None)."""
    digest, size = hashlib.sha256(), 0
    with urllib.request.urlopen(url, timeout=timeout) as response:
        length = response.headers.get('Content-Length')
        for chunk in iter(lambda: response.read(CHUNK), b''):
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    out.flush()
    os.fsync(out.fileno())
    return digest.hexdigest(), size, int(length) if length is not None else None


def fetch(url, sha256=None, cache_dir=None, timeout=60):
    """The local path of ``url``'s file: from the cache, else downloaded and verified.

    Args:
        url (str): http(s) URL.
        sha256 (str | None): full sha256 of the file (else a hash prefix in its name
            is checked, else nothing is).
        cache_dir (str | None): see :func:`cache_root`.
        timeout (float): seconds per network operation.

    Returns:
        str: path of the cached file. No network call is made when the cache holds
        it (and it matches the expected hash).

    Raises:
        DownloadError: the request fails, the body is shorter than its
            Content-Length, or its sha256 differs; the cache is left without the file.
    """
    expected = expected_sha256(url, sha256)
    name = os.path.basename(unquote(urlparse(url).path)) or 'download'
    url_dir = os.path.join(cache_root(cache_dir), hashlib.sha1(url.encode('utf-8')).hexdigest()[:16])
    target = os.path.join(url_dir, name)
    if os.path.isfile(target):
        if expected is None or file_sha256(target).startswith(expected):
            return target
        os.remove(target)  # stale or damaged cache entry: fetch it again

    def write(tmp):
        try:
            with open(tmp, 'wb') as out:
                digest, size, length = _stream(url, out, timeout)
        except (urllib.error.URLError, http.client.HTTPException) as e:
            # Not an OSError to the writer: the network failed, not the disk.
            raise DownloadError('cannot download {} into {}: {}'.format(url, url_dir, e)) from e
        if length is not None and size != length:
            raise DownloadError('{}: truncated download: got {} of {} bytes'.format(url, size, length))
        if expected is not None and not digest.startswith(expected):
            raise DownloadError('{}: sha256 mismatch: expected {}..., got {}'.format(url, expected, digest))

    # The one atomic writer: a temporary file next to the target, removed on any failure.
    write_atomically(target, write, what='download of {}'.format(url))
    fsync_dir(url_dir)
    return target
