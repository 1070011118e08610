"""What native decoders print, caught and given to the photo it is about.

libjpeg (inside Pillow and jpeglib) reports damaged data it worked around ("Corrupt JPEG data:
premature end of data segment") by writing a line to file descriptor 2 itself: no exception, no
file name, and in a service the line would land in the log with nothing to say which photo it
was. :func:`native_warnings` points descriptor 2 at a private temporary file for the duration of
a native call and returns the lines, so they become that photo's ``warnings`` (the CLI prints
them under its name, the daemon puts them in its log record).

Descriptor 2 belongs to the whole process, so the capture holds a lock: native decoding runs one
call at a time while captured (a decode is a small part of a photo's time; the model and the
encoder still run in parallel).

Python's own warnings are not native lines: a Pillow ``UserWarning`` about a damaged EXIF block
(``Tag data larger than file``), raised while a JPEG's header is parsed, went to descriptor 2 as
two lines (the library's file path and its source line) and came back as two "notes". They are
silenced for the capture, as the loader silences them (a damaged EXIF block is simply not used).
"""

from __future__ import annotations

import ctypes
import os
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.RLock()
_libc = None


def _flush_c_streams() -> None:
    """fflush(NULL): every C stdio stream, so what a library wrote lands before descriptor 2 moves."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(None)
        _libc.fflush(None)
    except (OSError, AttributeError):
        pass


@contextmanager
def native_warnings(into: list[str]) -> Iterator[None]:
    """Collect what native code writes to descriptor 2 meanwhile into ``into`` (unique lines, in order)."""
    with _lock:
        try:
            saved = os.dup(2)
        except OSError:  # no descriptor 2 at all (a detached process): nothing to catch
            yield
            return
        with tempfile.TemporaryFile() as sink:
            _flush_c_streams()
            os.dup2(sink.fileno(), 2)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    yield
            finally:
                _flush_c_streams()  # C's stderr may be buffered when it is not a terminal
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                text = sink.read().decode("utf-8", "backslashreplace")
        for line in text.splitlines():
            line = line.strip()
            if line and line not in into:
                into.append(line)
