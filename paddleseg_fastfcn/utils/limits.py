"""Caps on what an input file may declare, checked before anything is allocated for it.

A few hundred bytes can declare gigabytes: a PNG header with a huge width x height,
a pickle whose byte string claims 2**40 bytes, a tensor view whose shape far exceeds
its storage, an archive member that unpacks to a terabyte. Every reader of this
project compares what a file declares with what it holds and with the cap here
before it allocates, and refuses with :class:`LimitExceeded`, which names the file,
what it declared and the cap.

Each cap has a default meant to pass every legitimate input of this field (the
largest published FastFCN checkpoint is ~0.3 GB, a Cityscapes image 2 Mpixel) and
can be raised (or lowered) per run with an environment variable
``PADDLESEG_FASTFCN_MAX_<NAME>`` (e.g. ``PADDLESEG_FASTFCN_MAX_IMAGE_PIXELS=400000000``);
the variable is read at each check, so it reaches worker processes too.
"""
import os

ENV_PREFIX = 'PADDLESEG_FASTFCN_MAX_'

#: name -> (default, what it bounds). Pixel cap as Pillow's ``Image.MAX_IMAGE_PIXELS``
#: (its decompression-bomb threshold); byte caps well above any real weight file.
DEFAULTS = {
    'IMAGE_PIXELS': (89_478_485, 'pixels of one decoded image (width x height)'),
    'WEIGHT_BYTES': (4 << 30, 'bytes of one weight / checkpoint file, or of what it unpacks to'),
    'PICKLE_OBJECTS': (2_000_000, 'objects a pickle builds, counting every shared reference as a copy'),
    'PICKLE_DEPTH': (100, 'nesting depth of the containers in a pickle'),
    'ARCHIVE_MEMBERS': (10_000, 'members of one archive'),
    'PROGRAM_BYTES': (64 << 20, 'bytes of one exported program (model.json), parsed whole in memory'),
}


class LimitExceeded(ValueError):
    """A file declares more than a cap allows (or more than it holds).

    A ValueError (bad input), so the scripts report it in one line without a traceback.

    Attributes:
        path (str): the file.
        name (str): the cap's name (``IMAGE_PIXELS``, ...), or None when the file
            declares more than it holds.
    """

    def __init__(self, message, path=None, name=None):
        super().__init__(message)
        self.path, self.name = path, name


def cap(name):
    """The cap ``name`` (a key of :data:`DEFAULTS`): the environment's value, else the default.

    Raises:
        ValueError: the environment variable is set but not a positive integer.
    """
    default, _ = DEFAULTS[name]
    raw = os.environ.get(ENV_PREFIX + name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.replace('_', ''))
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError('{}{}={!r}: expected a positive integer'.format(ENV_PREFIX, name, raw))
    return value


def check(name, declared, path, what):
    """Raise :class:`LimitExceeded` if ``declared`` exceeds the cap ``name``.

    Args:
        name (str): a key of :data:`DEFAULTS`.
        declared (int): what the file declares (pixels, bytes, objects, ...).
        path (str): the file, for the message.
        what (str): what was declared, e.g. ``'an image of 100000 x 100000'``.
    """
    limit = cap(name)
    if declared > limit:
        raise LimitExceeded('{}: refused: {} ({:,}) exceeds the cap of {:,} {}; if the file is genuine, '
                            'raise it with {}{}=<n>'.format(path, what, declared, limit, DEFAULTS[name][1],
                                                            ENV_PREFIX, name), path, name)


def check_holds(declared, held, path, what):
    """Raise :class:`LimitExceeded` if a file declares more bytes (or elements) than it holds."""
    if declared > held:
        raise LimitExceeded('{}: refused: {} declares {:,} but the file holds only {:,}'.format(
            path, what, declared, held), path)
