"""Where a batch tool writes what it makes of each input: one rule for every tool.

predict.py (masks, overlays, ADE20K submission PNGs), deploy/python/infer.py
(masks, ``--save_npy`` scores) and the dataset tools that name an output after an
input (converted masks of ``prepare_custom.py``, labels of
``prepare_pascal_context.py``) all name outputs with :func:`plan_outputs` and
place them with :func:`output_file`.
"""
import os
from typing import List, NamedTuple, Optional, Tuple


class OutputNameError(ValueError):
    """An output would land outside its folder; the message names the input or the output."""


class OutputPlan(NamedTuple):
    """What to write for a batch of inputs.

    Attributes:
        items (list[tuple[str, str | None, str]]): ``(input, origin, name)`` per input to
            process, in input order; ``name`` is the output name without extension,
            relative to the output folder (``sub/a`` for ``base/sub/a.jpg``).
        failures (list[tuple[str, str]]): ``(input, reason)`` per refused input.
    """
    items: List[Tuple[str, Optional[str], str]]
    failures: List[Tuple[str, str]]


def _listed_at(origin):
    return ' (listed at {})'.format(origin) if origin else ''


def common_folder(paths):
    """The deepest folder holding every one of ``paths``: the base of a list's output names.

    A list may name images anywhere (absolute entries, ``..``); relative to this
    folder every output name stays inside the output folder and two different
    files keep different names. Paths are compared as written, not resolved.

    Args:
        paths (list[str]): at least one file path.
    """
    return os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in paths])


def plan_outputs(paths, base, origins=None):
    """Name the output of each input: its path relative to ``base``, folders mirrored,
    extension dropped (the writer adds its own: ``.png``, ``.npy``).

    The rule, so that nothing resolves outside the output folder and no input
    overwrites another's output:

    - ``base`` is the input folder, the folder of a single image, or for a list
      :func:`common_folder` of its entries, so absolute entries and entries with
      ``..`` get mirrored names too. An input outside ``base`` (a label whose
      annotation names ``../x.jpg``, a mask outside the list root) is refused by
      name: its output would land outside the output folder, and mapping it to its
      bare file name would let it collide with other inputs. Paths are compared as
      written, not resolved, so a symlinked sub-folder inside ``base`` is mirrored
      under its link name.
    - Two different inputs whose names agree (``a.jpg`` and ``a.png`` side by side)
      are both refused by name: neither output would be the one the user expects.
      The same file listed twice is processed once.
    - An output left in the folder by an earlier run is replaced (atomically, by the
      writer): re-running into the same folder updates it.

    Args:
        paths (list[str]): the inputs, in order.
        base (str): the folder their names are relative to (an image folder, the
            folder of a list file or of a single image).
        origins (list[str | None] | None): per input, ``list_file:line`` (for messages).

    Returns:
        OutputPlan: the inputs to process with their names, and the refused ones.
    """
    origins = origins or [None] * len(paths)
    root = os.path.abspath(base)
    named, failures, seen = [], [], set()
    for path, origin in zip(paths, origins):
        full = os.path.abspath(path)
        if full in seen:
            continue
        seen.add(full)
        rel = os.path.relpath(full, root)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            failures.append((path, '{}{} is outside {}, the folder output names are relative to; refused so '
                             'that no output lands outside the output folder'.format(path, _listed_at(origin), root)))
        else:
            named.append((path, origin, os.path.splitext(rel)[0]))
    inputs_of = {}
    for path, _, name in named:
        inputs_of.setdefault(name, []).append(path)
    items = []
    for path, origin, name in named:
        others = [p for p in inputs_of[name] if p != path]
        if not others:
            items.append((path, origin, name))
        else:
            failures.append((path, '{}{} and {} map to one output name {!r}; both refused, so that neither '
                             'overwrites the other (rename one)'.format(path, _listed_at(origin),
                                                                       ', '.join(others), name)))
    return OutputPlan(items, failures)


def output_file(folder, name, ext):
    """``folder/name + ext``, refused if it resolves outside ``folder``.

    ``name`` comes from :func:`plan_outputs`, so only a symlink already inside
    ``folder`` (an earlier output replaced by a link pointing elsewhere) can lead out.

    Raises:
        OutputNameError: naming the output, where it resolves to and the folder.
    """
    path = os.path.join(folder, name + ext)
    real_folder = os.path.realpath(folder)
    real = os.path.realpath(path)
    if os.path.commonpath([real_folder, real]) != real_folder:
        raise OutputNameError('output {} resolves to {}, outside {} (a symlink under it points out); '
                              'refused'.format(path, real, folder))
    return path
