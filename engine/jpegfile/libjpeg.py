"""jpeglib, the engine's one way to libjpeg's coefficient reads and writes that TurboJPEG does not
cover (``reader.py``, ``writer.py``): which libjpeg build it loads, and its file-path calls.

Which libjpeg: jpeglib ships several builds and loads 6b unless told otherwise; this module
loads libjpeg-turbo 2.1's (:data:`LIBJPEG`) once, for every coefficient read and write of the
process. Its SIMD Huffman coder reads an 8 MP camera photo's coefficients in 0.09 s instead
of 0.12 s and writes them in 0.09 s instead of 0.14 s; the coefficients are the same (a
coefficient read or write is lossless in every build). jpeglib's version is process-wide state,
so nothing in the engine switches it per call (the bench's mozjpeg codec does, in its own process).
"""

from __future__ import annotations

import os
import tempfile

import jpeglib

#: the jpeglib build the engine uses (see the module's docstring); jpeglib's default where absent
LIBJPEG = "turbo210"


def _load_libjpeg() -> str:
    """Load :data:`LIBJPEG` into jpeglib; the build it then uses."""
    try:
        jpeglib.version.set(LIBJPEG)
    except (RuntimeError, NotImplementedError):  # a jpeglib built without it: its default serves
        pass
    return str(jpeglib.version.get())


LOADED_LIBJPEG = _load_libjpeg()


def write_with_jpeglib(jpeg: jpeglib.DCTJPEG, optimize: bool = True) -> bytes:
    """``jpeg``'s levels coded by libjpeg as a baseline file (``optimize``: optimized Huffman tables,
    else the standard ones)."""
    # jpeglib writes to a path only; a private temp file keeps concurrent encodes apart.
    fd, name = tempfile.mkstemp(prefix="focuspress-", suffix=".jpg")
    os.close(fd)
    try:
        jpeg.write_dct(name, flags=["+OPTIMIZE_CODING"] if optimize else ["-OPTIMIZE_CODING"])
        with open(name, "rb") as handle:
            return handle.read()
    finally:
        os.unlink(name)


def read_with_jpeglib(data: bytes) -> jpeglib.DCTJPEG:
    """jpeglib's whole route (its information pass, the markers copied out, the levels read)."""
    fd, name = tempfile.mkstemp(prefix="focuspress-", suffix=".jpg")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        jpeg = jpeglib.read_dct(name)
        jpeg.load()
        return jpeg
    finally:
        os.unlink(name)
