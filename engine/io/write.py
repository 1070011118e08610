"""Atomic, durable output: a reader never sees half a file, a crash never leaves one, and a file
that is already there is never replaced unless the caller says so.

Why no-replace at the filesystem level: the daemon's journal reserves output names, but a lost
or reset journal must not turn into another photo's output being overwritten. So the last step
of a write is a *link* of the finished temp file to its name (``link(2)`` fails with EEXIST
instead of replacing), or ``renameat2(RENAME_NOREPLACE)`` where the filesystem has no hard
links; only where neither exists (some network filesystems) is it a check then a rename.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from focuspress.engine.errors import OutputError, Reason
from focuspress.engine.io.names import display_name, unique_path

#: Failures of the destination filesystem that may clear by themselves (or by an operator).
TRANSIENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EFBIG, errno.ENOMEM})
#: Our temp files: a dot (watchers ignore them), a fixed prefix and suffix (cleaned at start).
TEMP_PREFIX = ".focuspress-"
TEMP_SUFFIX = ".tmp"
#: link(2) refusals that mean "this filesystem has no hard links", not "the name is taken".
_NO_LINKS = frozenset({errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS, errno.EXDEV})


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


def atomic_write(path: Path, data: bytes, *, fsync: bool = True, replace: bool = True) -> Path:
    """Write ``data`` to a temp file beside ``path``, fsync it, then put it in place; returns the path.

    ``replace=True``: the new file replaces ``path`` (rename). ``replace=False``: an existing
    ``path`` is never touched: :class:`FileExistsError` is raised instead (see the module's
    docstring), and the caller picks another name (:func:`write_new`).

    The temp name starts with a dot and ends in ``.tmp`` so that watchers (ours included)
    ignore it; it is short whatever ``path`` is called (a 250-byte name plus a prefix would not
    fit the 255-byte limit). The directory is fsynced too, so the rename itself survives a power cut.
    """
    path = Path(path)
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=directory)
    except OSError as exc:
        raise output_error(f"{display_name(path)}: cannot create output", exc) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        if replace:
            os.replace(tmp_name, path)
        else:
            _place_new(tmp_name, path)
        if fsync:
            fsync_dir(directory)
    except FileExistsError:
        _unlink_quietly(tmp_name)
        raise
    except OSError as exc:
        _unlink_quietly(tmp_name)
        raise output_error(f"{display_name(path)}: cannot write output", exc) from exc
    return path


def write_new(preferred: Path, data: bytes, *, taken: Callable[[Path], bool] | None = None) -> Path:
    """Write ``data`` under ``preferred`` or the first free ``stem-N`` name, never replacing a file.

    ``taken`` adds names to skip (reserved elsewhere); existence on disk is always checked, and
    a name that appears between the check and the write is skipped too (the link refuses it).
    """
    refused: set[Path] = set()

    def is_taken(path: Path) -> bool:
        return path in refused or (taken is not None and taken(path)) or os.path.lexists(path)

    for _ in range(10_000):
        candidate = unique_path(preferred, is_taken)
        try:
            return atomic_write(candidate, data, replace=False)
        except FileExistsError:
            refused.add(candidate)
    raise OutputError(f"{display_name(preferred)}: no free output name", reason=Reason.OUTPUT)


def _place_new(tmp_name: str, path: Path) -> None:
    """Give the finished temp file the name ``path`` only if nothing has that name (else EEXIST)."""
    try:
        os.link(tmp_name, path)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        _rename_noreplace(tmp_name, path)
        return
    os.unlink(tmp_name)


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _rename_noreplace(old: str, new: Path) -> None:
    """renameat2(RENAME_NOREPLACE) (Linux 3.15+, glibc 2.28+); else check-then-rename."""
    libc_name = ctypes.util.find_library("c")
    renameat2 = getattr(ctypes.CDLL(libc_name, use_errno=True), "renameat2", None) if libc_name else None
    if renameat2 is not None:
        result = renameat2(_AT_FDCWD, os.fsencode(old), _AT_FDCWD, os.fsencode(new), _RENAME_NOREPLACE)
        if result == 0:
            return
        code = ctypes.get_errno()
        if code == errno.EEXIST:
            raise FileExistsError(code, os.strerror(code), str(new))
        if code not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise OSError(code, os.strerror(code), str(new))
    if os.path.lexists(new):  # the last resort: a filesystem with neither links nor renameat2
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(new))
    os.rename(old, new)


def _unlink_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


def remove_stale_temps(folder: Path, *, recursive: bool = False) -> int:
    """Delete temp files a killed writer left in ``folder`` (only ours: prefix and suffix); returns how many."""
    removed = 0
    walker = os.walk(folder) if recursive else [(str(folder), [], _names(folder))]
    for directory, _dirs, names in walker:
        for name in names:
            if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX):
                try:
                    os.unlink(os.path.join(directory, name))
                    removed += 1
                except OSError:
                    pass
    return removed


def _names(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


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


def output_error(message: str, exc: OSError) -> OutputError:
    """An :class:`OutputError` for an OS failure: its reason code, and whether it may clear."""
    return OutputError(f"{message} ({_reason_text(exc)})", transient=exc.errno in TRANSIENT_ERRNOS, reason=_reason(exc))


def _reason(exc: OSError) -> Reason:
    if exc.errno == errno.ENOSPC or exc.errno == errno.EFBIG:
        return Reason.NO_SPACE
    if exc.errno == errno.EDQUOT:
        return Reason.QUOTA
    if exc.errno == errno.EROFS:
        return Reason.READ_ONLY
    if exc.errno in TRANSIENT_ERRNOS:
        return Reason.IO_ERROR
    return Reason.OUTPUT


def _reason_text(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror or type(exc).__name__
