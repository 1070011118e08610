"""The output folder: validated once, and no saved name can leave it or silently replace a file."""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from focuspress.engine.errors import OutputError
from focuspress.engine.io.names import unique_path

_UNSAFE = re.compile(r"[^\w.\- ]+")


def validate_folder(text: str) -> Path:
    """An existing, writable directory given as an absolute path (``~`` allowed)."""
    text = (text or "").strip()
    if not text:
        raise OutputError("give a folder path")
    if "\x00" in text:
        raise OutputError("the folder path contains a NUL character")
    path = Path(os.path.expanduser(text))
    if not path.is_absolute():
        raise OutputError(f"{text}: give an absolute path (e.g. {Path.home() / 'Pictures'})")
    path = Path(os.path.realpath(path))
    if not path.exists():
        raise OutputError(f"{path}: no such folder")
    if not path.is_dir():
        raise OutputError(f"{path}: not a folder")
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: not writable")
    return path


def safe_stem(upload_name: str) -> str:
    """The upload's base name without extension, reduced to a safe file name."""
    base = upload_name.replace("\\", "/").rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base.strip(".") else base
    stem = unicodedata.normalize("NFKC", stem)
    stem = _UNSAFE.sub("_", stem).strip(" ._")
    return stem[:120] or "photo"


def output_path(folder: Path, upload_name: str, on_conflict: str) -> tuple[Path, bool]:
    """Where ``upload_name``'s JPEG goes in ``folder``: (path, exists).

    ``on_conflict``: ``ask`` (return the taken path, exists=True), ``rename`` (``name-1.jpg``...)
    or ``overwrite``. The result is always directly inside ``folder``.
    """
    stem = safe_stem(upload_name)
    target = folder / f"{stem}.jpg"
    if on_conflict == "rename":
        target = unique_path(target)
    if Path(os.path.realpath(target)).parent != Path(os.path.realpath(folder)):
        raise OutputError(f"{upload_name}: refusing a name that leaves the output folder")
    return target, target.exists()
