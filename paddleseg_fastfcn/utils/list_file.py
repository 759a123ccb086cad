"""The one reader of list files: image lists of predict.py / infer and PaddleSeg file lists.

A list holds one entry per line: ``image`` or ``image label``. Tolerated, because
editors and other tools write them: a UTF-8 byte-order mark, CRLF line ends, blank
lines, and (with the default whitespace separator) tabs and runs of spaces between
fields. Anything else is refused with ``list_file:line``: a line that is not UTF-8,
a NUL byte, an empty field, or a number of fields outside what the caller expects
(e.g. three where PaddleSeg's ``image label`` has two).
"""
from typing import List, NamedTuple

BOM = b'\xef\xbb\xbf'


class ListFileError(ValueError):
    """A list file line is malformed; the message names ``list_file:line``."""


class ListEntry(NamedTuple):
    """One non-blank line of a list file.

    Attributes:
        lineno (int): 1-based line number.
        fields (list[str]): the line's fields (1 or 2 for image lists).
        origin (str): ``list_file:line``, for messages.
    """
    lineno: int
    fields: List[str]
    origin: str


def _splits_on_whitespace(separator):
    return separator is None or not separator.strip()


def _split(text, separator):
    if _splits_on_whitespace(separator):
        return text.split()
    return [field.strip() for field in text.split(separator)]


def _field_count_error(origin, text, fields, min_fields, max_fields, separator, expected):
    count = str(min_fields) if min_fields == max_fields else '{}-{}'.format(min_fields, max_fields)
    between = 'spaces or tabs' if _splits_on_whitespace(separator) else repr(separator)
    return ListFileError('{}: expected "{}" ({} field(s) separated by {}), found {} field(s): {!r}'.format(
        origin, expected, count, between, len(fields), text[:200]))


def read_list_file(path, min_fields=1, max_fields=2, separator=None, expected='image [label]'):
    """The entries of the list file ``path``.

    Args:
        path (str): the list file.
        min_fields, max_fields (int): how many fields a line may hold.
        separator (str | None): the field separator; None or a whitespace string
            (PaddleSeg's default ``' '``) splits on any run of spaces and tabs.
        expected (str): what a line should look like, for the message.

    Returns:
        list[ListEntry]: one per non-blank line, in file order.

    Raises:
        ListFileError: a malformed line (``path:line``, what it holds, what was expected).
        OSError: the file cannot be read.
    """
    entries = []
    with open(path, 'rb') as f:
        for lineno, raw in enumerate(f, 1):
            if lineno == 1 and raw.startswith(BOM):
                raw = raw[len(BOM):]
            origin = '{}:{}'.format(path, lineno)
            try:
                text = raw.decode('utf-8').rstrip('\r\n')
            except UnicodeDecodeError as e:
                raise ListFileError('{}: not UTF-8 text ({}); save the list as UTF-8'.format(origin, e)) from None
            if not text.strip():
                continue
            if '\x00' in text:
                raise ListFileError('{}: holds a NUL byte; a list holds text paths'.format(origin))
            fields = _split(text, separator)
            if not min_fields <= len(fields) <= max_fields or not all(fields):
                raise _field_count_error(origin, text, fields, min_fields, max_fields, separator, expected)
            entries.append(ListEntry(lineno, fields, origin))
    return entries
