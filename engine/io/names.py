"""File names as the filesystem has them, and as people and logs may safely see them.

A POSIX name is any bytes but ``/`` and NUL: cameras uploading over FTP write Latin-1 names
that are not UTF-8, and anyone can make a name with a newline or a right-to-left mark in it.
Python hands such names around as ``str`` with surrogate escapes (PEP 383); those strings
cannot be encoded to UTF-8, so SQLite, JSON logs and text files refuse them. The rules here:

* store names losslessly as bytes (:func:`to_bytes` / :func:`from_bytes`), never as text;
* show them with :func:`display_name`: printable, one line, every odd byte or character
  escaped (``cam\\xe9ra.png``), so a name can neither break a log line nor fake one;
* fit new names into the 255-byte limit of one path component (:func:`fit_name`), and find a
  free ``name-N.jpg`` with one helper (:func:`unique_path`) wherever outputs are named.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable
from pathlib import Path

#: Longest file name (one path component) in bytes on Linux filesystems (ext4, xfs, tmpfs).
NAME_MAX = 255


def to_bytes(path: str | os.PathLike[str] | bytes) -> bytes:
    """The exact bytes of ``path`` as the filesystem has them (lossless for any name)."""
    return path if isinstance(path, bytes) else os.fsencode(path)


def from_bytes(data: bytes | str) -> Path:
    """Inverse of :func:`to_bytes` (``str`` is accepted for rows written before names were bytes)."""
    return Path(os.fsdecode(data) if isinstance(data, bytes) else data)


def _escape_char(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogate escape)
        return f"\\x{code - 0xDC00:02x}"
    if char == "\\":
        return "\\\\"
    category = unicodedata.category(char)
    # Cc: control characters (newline, escape...), Cf: format (bidi overrides, zero-width),
    # Cs: other lone surrogates, Zl/Zp: line and paragraph separators.
    if category in ("Cc", "Cf", "Cs", "Zl", "Zp"):
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char


def display_name(path: str | os.PathLike[str] | bytes) -> str:
    """A printable, single-line rendering of ``path`` that is safe in logs, JSON and UIs.

    Valid UTF-8 names print as themselves; anything else is escaped Python-style.
    """
    text = os.fsdecode(path) if isinstance(path, bytes) else os.fspath(path)
    return "".join(_escape_char(char) for char in text)


def safe_text(text: str) -> str:
    """``text`` (e.g. an error message that quotes a path) with lone surrogates escaped, so it
    encodes to UTF-8; newlines and other controls are escaped too (one message, one line)."""
    return display_name(text)


def fit_name(stem: str, suffix: str, limit: int = NAME_MAX) -> str:
    """``stem + suffix``, with ``stem`` cut (at a character boundary) so the name fits ``limit`` bytes."""
    budget = limit - len(to_bytes(suffix))
    raw = to_bytes(stem)
    if len(raw) <= budget:
        return stem + suffix
    cut = raw[: max(1, budget)]
    while cut:
        try:
            text = os.fsdecode(cut)
            if len(to_bytes(text)) <= budget:
                return text + suffix
        except UnicodeError:  # pragma: no cover - fsdecode never raises with surrogateescape
            pass
        cut = cut[:-1]
    return "_" + suffix


def unique_path(preferred: Path, taken: Callable[[Path], bool] | None = None, *, limit: int = NAME_MAX) -> Path:
    """``preferred``, or ``stem-1.ext``, ``stem-2.ext``... : the first name that is not ``taken``.

    ``taken`` defaults to "exists on disk" (as a symlink too); the journal passes its own test
    (a name reserved by another entry). Every candidate fits the file-name byte limit.
    """
    is_taken = taken or (lambda path: path.exists() or path.is_symlink())
    stem, suffix = preferred.stem, preferred.suffix
    candidate = preferred.with_name(fit_name(stem, suffix, limit))
    n = 1
    while is_taken(candidate):
        candidate = preferred.with_name(fit_name(stem, f"-{n}{suffix}", limit))
        n += 1
    return candidate
