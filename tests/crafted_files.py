"""Crafted weight / state files for the safe-loader tests.

Each payload creates ``marker`` when a plain ``pickle.load`` (``paddle.load``)
reads the file; the safe reader must refuse the file before that can happen.
Other files declare far more than they hold; :func:`assert_refused_in_bounds`
checks how a child process (``bounded_call`` in conftest) refused them.
"""
import io
import os
import pickle
import subprocess
import tarfile

import numpy as np


class _Call(object):
    """Pickles as a call of ``func(*args)`` (what a malicious file does)."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def payloads(marker):
    """{name of the global the pickle names: object whose unpickling creates marker}."""
    return {
        'posix.system': _Call(os.system, 'touch "{}"'.format(marker)),
        'builtins.exec': _Call(exec, 'open({!r}, "w").close()'.format(marker)),
        'subprocess.check_call': _Call(subprocess.check_call, ['touch', marker]),
    }


def write_crafted(path, marker, payload='posix.system', base=None, protocol=4):
    """Write ``base`` (a dict, default a one-array state dict) plus a payload entry to ``path``."""
    state = dict(base if base is not None else {'conv.weight': np.zeros([2, 3], 'float32')})
    state['payload'] = payloads(marker)[payload]
    with open(path, 'wb') as f:
        pickle.dump(state, f, protocol=protocol)
    return path


def tar_gz(members, declared=None):
    """A .tar.gz holding ``members`` ({name: bytes}); ``declared`` ({name: size}) adds
    headers that declare ``size`` bytes and are followed by no data."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz', format=tarfile.GNU_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, size in (declared or {}).items():
            info = tarfile.TarInfo(name)
            info.size = size
            tar.fileobj.write(info.tobuf(tarfile.GNU_FORMAT))
    return buf.getvalue()


#: What a refusal may cost: peak RSS of the child (Python + numpy is ~40-100 MB), its
#: growth during the call, and wall time (generous: any CPU, a shared machine).
MAX_PEAK_MB, MAX_GROWTH_MB, MAX_SECONDS = 500, 400, 20


def assert_refused_in_bounds(outcome, error, *fragments):
    """``outcome`` (from ``bounded_call``) is a refusal of type ``error`` whose message holds
    every fragment, reached within the memory and time bounds above, without paddle."""
    assert outcome['error'] == error, outcome
    for fragment in fragments:
        assert fragment in outcome['message'], (fragment, outcome['message'])
    assert outcome['peak_mb'] < MAX_PEAK_MB and outcome['growth_mb'] < MAX_GROWTH_MB, outcome
    assert outcome['seconds'] < MAX_SECONDS and not outcome['paddle'], outcome


def write_png_bomb(path, width=14000, height=14000):
    """A small 8-bit gray PNG of ``width x height`` zeros (a decompression bomb: deflate packs
    1000 zero bytes into ~1, so the default 196 Mpixel image takes ~190 KB and decodes to
    588 MB of BGR). Returns the path (str)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))

    packer, rows = zlib.compressobj(9), bytes((width + 1) * 100)  # a row: filter byte 0, the pixels
    data = b''.join(packer.compress(rows[:(width + 1) * min(100, height - i)]) for i in range(0, height, 100))
    data += packer.flush()
    header = struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0)
    with open(str(path), 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) + chunk(b'IDAT', data) + chunk(b'IEND', b''))
    return str(path)
