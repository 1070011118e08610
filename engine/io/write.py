"""Atomic, durable output: a reader never sees half a file, and a crash never leaves one."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from focuspress.engine.errors import OutputError
from focuspress.engine.io.names import display_name

#: Failures of the destination filesystem that may clear by themselves (or by an operator).
TRANSIENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG, errno.ENOMEM})


def refuse_overwrite(output: Path, inputs: list[Path]) -> None:
    """Raise when ``output`` is one of the ``inputs`` (same file by inode or by path)."""
    for src in inputs:
        try:
            if output.exists() and src.exists() and os.path.samefile(output, src):
                raise OutputError(f"{display_name(output)}: refusing to overwrite the input {display_name(src)}")
        except OSError:
            pass
        # os.path.realpath, unlike Path.resolve, does not raise on a symlink loop among the inputs
        if os.path.realpath(output) == os.path.realpath(src):
            raise OutputError(f"{display_name(output)}: refusing to overwrite the input {display_name(src)}")


def atomic_write(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync it, then rename over ``path``.

    The temp name starts with a dot and ends in ``.tmp`` so that watchers (ours included)
    ignore it; it is short whatever ``path`` is called (a 250-byte name plus a prefix would not
    fit the 255-byte limit). The directory is fsynced too, so the rename itself survives a power cut.
    """
    path = Path(path)
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".focuspress-", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputError(
            f"{display_name(path)}: cannot create output ({_reason(exc)})", transient=_transient(exc)
        ) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
        if fsync:
            fsync_dir(directory)
    except OSError as exc:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise OutputError(
            f"{display_name(path)}: cannot write output ({_reason(exc)})", transient=_transient(exc)
        ) from exc


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable (best effort where unsupported)."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _transient(exc: OSError) -> bool:
    return exc.errno in TRANSIENT_ERRNOS


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror or type(exc).__name__
