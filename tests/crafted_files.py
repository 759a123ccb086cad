"""Weight / state files whose unpickling would run a command, for the safe-loader tests.

Each payload creates ``marker`` when a plain ``pickle.load`` (``paddle.load``)
reads the file; the safe reader must refuse the file before that can happen.
"""
import os
import pickle
import subprocess

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
