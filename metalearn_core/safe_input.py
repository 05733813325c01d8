"""Reading what comes from outside: ids in links and on the command line, JSON from links, files
and the store, user-chosen names.

Every reader here has a limit and one clear message when it is crossed, so a hostile or damaged
input costs a line of text, never a traceback, an endless read or gigabytes of memory:

- :func:`parse_id` takes ASCII digits only (``"²"`` passes ``str.isdigit`` but not ``int``) within
  SQLite's integer range;
- :func:`load_json` refuses text over :data:`MAX_JSON_BYTES` or nested deeper than
  :data:`MAX_JSON_DEPTH` before Python's parser sees it (``"[" * 100000`` would raise
  ``RecursionError``);
- :func:`read_text` reads at most ``max_bytes`` (``/dev/zero`` ends in a message, not in 8 GB);
- :func:`inflate` stops a deflated link at :data:`MAX_INFLATED_BYTES`;
- :func:`check_label` refuses control characters (newlines, terminal escape codes) in names and tags.

Example:
    >>> parse_id("12")
    12
    >>> load_json('{"a": [1, 2]}', "link")
    {'a': [1, 2]}
"""

from __future__ import annotations

import json
import re
import unicodedata
import zlib
from pathlib import Path
from typing import Any

MAX_ID = 2**63 - 1  # SQLite's INTEGER and PostgreSQL's BIGINT
MAX_JSON_BYTES = 1_000_000  # a run config is a few KB; a sweep space less
MAX_JSON_DEPTH = 64  # a run config nests 4 deep
MAX_INFLATED_BYTES = 1_000_000  # a config link's JSON once decompressed
_ASCII_ID = re.compile(r"[0-9]{1,19}")
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


class InputError(ValueError):
    """Input from a link, a file or the command line is malformed or too large; the message says which."""


def parse_id(text: object, what: str = "run") -> int:
    """A positive id from text (a link's ``?run=``, a CLI argument): ASCII digits within SQLite's range."""
    value = str(text).strip()
    if not _ASCII_ID.fullmatch(value) or not 0 < int(value) <= MAX_ID:
        shown = value if len(value) <= 30 else value[:27] + "..."
        raise InputError(f"{shown!r} is not a {what} id: ids are whole numbers from 1 to {MAX_ID}")
    return int(value)


def try_parse_id(text: object) -> int | None:
    """:func:`parse_id`, or None for anything that is not an id (links drop bad ids quietly)."""
    if text is None:
        return None
    try:
        return parse_id(text)
    except InputError:
        return None


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in JSON ``text`` (strings are skipped); no recursion."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def load_json(text: str | bytes, source: str, max_bytes: int = MAX_JSON_BYTES,
              max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON ``text`` with a size and a nesting cap; ``source`` names it in the message."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{source}: not valid JSON (not UTF-8 text)") from None
    if len(text) > max_bytes:
        raise InputError(f"{source}: too large ({len(text):,} characters; the limit is {max_bytes:,})")
    if json_depth(text) > max_depth:
        raise InputError(f"{source}: nested too deeply (more than {max_depth} levels)")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, and integers over 4,300 digits
        raise InputError(f"{source}: not valid JSON ({error})") from None


def read_text(path: str | Path, source: str | None = None, max_bytes: int = MAX_JSON_BYTES) -> str:
    """A text file's content, reading at most ``max_bytes`` (so ``/dev/zero`` or a huge file ends
    in a message); missing, unreadable or non-UTF-8 files raise InputError naming ``source``."""
    source = source or str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise InputError(f"{source}: cannot read ({error.strerror or error})") from None
    if len(data) > max_bytes:
        raise InputError(f"{source}: too large (over {max_bytes:,} bytes; a config or space file is a few KB)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{source}: not a text file (not UTF-8)") from None


def read_json_file(path: str | Path, source: str | None = None, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """:func:`read_text` then :func:`load_json`: one capped reader for every JSON file."""
    source = source or str(path)
    return load_json(read_text(path, source, max_bytes), source, max_bytes)


def inflate(packed: bytes, source: str = "link", max_bytes: int = MAX_INFLATED_BYTES) -> bytes:
    """zlib-decompress ``packed``, refusing output over ``max_bytes`` (a 119 KB link can hold 92 MB)."""
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(packed, max_bytes + 1)
    except zlib.error:
        raise InputError(f"the {source} is damaged (not compressed data)") from None
    if len(data) > max_bytes or inflater.unconsumed_tail:
        raise InputError(f"the {source} is too large once unpacked (over {max_bytes:,} bytes)")
    if not inflater.eof:
        raise InputError(f"the {source} is damaged (cut short)")
    return data


def has_control_characters(text: str) -> bool:
    """True when ``text`` holds a control character (newline, tab, ESC, ...) or a line separator."""
    return any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in text)


def check_label(text: str, what: str = "name", max_length: int = 200) -> str:
    """``text`` stripped, if it is 1 to ``max_length`` characters with no control characters."""
    value = text.strip()
    if not value or len(value) > max_length:
        raise InputError(f"a {what} must be 1 to {max_length} characters")
    if has_control_characters(value):
        raise InputError(f"a {what} cannot hold control characters (newlines, tabs, terminal escape codes)")
    return value


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def printable(value: object) -> str:
    r"""``value`` as text that is safe on a terminal: control characters (newlines, terminal escape
    codes, text-direction overrides), which a store written by an older version may hold in a name or
    a tag, are written as ``\xNN`` or ``\uNNNN`` instead of being sent raw.

    Example:
        >>> printable("red\x1b[31m\nrun")
        'red\\x1b[31m\\nrun'
    """
    def escape(match: re.Match) -> str:
        code = ord(match.group())
        return {10: "\\n", 13: "\\r", 9: "\\t"}.get(code) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")

    return _UNPRINTABLE.sub(escape, str(value))
