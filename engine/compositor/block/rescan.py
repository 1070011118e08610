"""The progressive re-scan of a finished baseline JPEG: the same coefficients, a smaller file.

A progressive JPEG codes the same levels in several scans (DC first, then bands of AC
frequencies), which Huffman-codes them 3-8% smaller on camera photos. Two implementations of
that one lossless transform (``jpegtran -progressive``):

* **libjpeg-turbo's TurboJPEG** (``tjTransform`` with ``TJXOPT_PROGRESSIVE``), loaded with ctypes
  from the system's ``libturbojpeg`` (Debian: ``libturbojpeg0``, which ``libjpeg-turbo-progs``
  pulls in): libjpeg's standard progression script, coded in one pass with optimized tables;
  about 20 ms per megapixel.
* **mozjpeg's** (``mozjpeg-lossless-optimization``, always installed): it also searches the scan
  script (``optimize_scans``), which saves about 1% more and costs about three times as long.

Which one, per file, by its baseline's bits per pixel (:data:`MOZJPEG_BELOW_BPP`) and its size
(:data:`MOZJPEG_BELOW_PIXELS`). Measured on
the 22 camera-native photos at q30-95 (110 files): under 0.5 bpp TurboJPEG's file is 4.6%
larger than mozjpeg's (median; 28% on a flat Leica frame at 0.08 bpp), from 0.5 to 1 bpp 1.8%,
above 1 bpp 0.8-1.0%; mozjpeg's extra time is 11, 18 and 28-58 ms per megapixel. So small files
(where the scan search pays most and costs least) get mozjpeg's, the rest TurboJPEG's: the
re-scan is the largest single cost of a camera photo's encode, and the default must keep at
least mozjpeg's own speed (``focuspress bench latency --sizes``). Until round 4 the line was 1 bpp;
the contract's camera outputs mostly fall between 0.5 and 1.5 bpp, where mozjpeg's re-scan was a
quarter of the whole photo's time (the daemon did 1.46 camera photos a second with it, 1.69
without) for 1.8% of bytes: the line is 0.5 bpp since. Without TurboJPEG every file gets
mozjpeg's. A photo under a megapixel (a web image, Kodak's 0.4 MP, ECSSD's; not a camera's, nor
the benchmarks' 1.2 MP camera crops) gets mozjpeg's at any size: the scan search costs it under
60 ms in all, and TurboJPEG's file would be 0.4-1.4% larger (Kodak at q50-94; on Kodak's BD-rate
against libjpeg-turbo that was 0.6 points).
Why ctypes and not a binding package: PyTurboJPEG, the maintained one, exposes crops and scaling
but not the progressive transform; the four C functions used here are TurboJPEG's stable API
since libjpeg-turbo 1.2 (3.x keeps them), and so is the transform's custom filter.

The one-pass write (:func:`turbojpeg_from_levels`, since 2026-12-06): a re-scan needs a baseline
to read, and writing that baseline (jpeglib's Huffman coding, through a temporary file) and
decoding it again cost as much as the progressive coding itself. TurboJPEG's transform calls a
custom filter with each row of coefficient blocks after it has read its source and before it
codes anything; given a blank carrier of the same size, sampling and tables (``blank.py``: a few
hundred header bytes and a run of zero bytes), the filter writes the levels in and TurboJPEG
codes the same progressive file a re-scan of their baseline would. On a 6 MP camera photo here:
about 200 ms instead of 340 (byte for byte the same file but for the components' ids, 1-3 as
JFIF has them instead of jpeglib's 0-2). The mozjpeg line then reads the progressive file's
bits per pixel (about 8% under its baseline's).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

import mozjpeg_lossless_optimization as mozjpeg_opt
import numpy as np

from focuspress.engine.compositor.block.blank import blank_baseline

#: tjTransform options (turbojpeg.h): progressive output, no markers copied (the writer adds them)
_TJXOPT_PROGRESSIVE = 32
_TJXOPT_COPYNONE = 64


class _Region(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("w", ctypes.c_int), ("h", ctypes.c_int)]


class _Transform(ctypes.Structure):
    _fields_ = [
        ("r", _Region),
        ("op", ctypes.c_int),
        ("options", ctypes.c_int),
        ("data", ctypes.c_void_p),
        ("customFilter", ctypes.c_void_p),
    ]


@cache
def _turbojpeg() -> ctypes.CDLL | None:
    """The system's TurboJPEG library with its signatures declared, or None where it is absent."""
    name = ctypes.util.find_library("turbojpeg") or "libturbojpeg.so.0"
    try:
        lib = ctypes.CDLL(name)
        lib.tjInitTransform.restype = ctypes.c_void_p
        lib.tjInitTransform.argtypes = []
        lib.tjTransform.restype = ctypes.c_int
        lib.tjTransform.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.c_ulong,
            ctypes.c_int,
            ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte)),
            ctypes.POINTER(ctypes.c_ulong),
            ctypes.POINTER(_Transform),
            ctypes.c_int,
        ]
        lib.tjFree.restype = None
        lib.tjFree.argtypes = [ctypes.POINTER(ctypes.c_ubyte)]
        lib.tjDestroy.restype = ctypes.c_int
        lib.tjDestroy.argtypes = [ctypes.c_void_p]
        lib.tjGetErrorStr2.restype = ctypes.c_char_p
        lib.tjGetErrorStr2.argtypes = [ctypes.c_void_p]
    except (OSError, AttributeError):
        return None
    return lib


def backend() -> str:
    """Which implementation :func:`progressive` uses here: ``turbojpeg`` or ``mozjpeg``."""
    return "turbojpeg" if _turbojpeg() is not None else "mozjpeg"


#: a baseline under this many bits per pixel, or of a photo under this many pixels, is re-scanned
#: by mozjpeg (see the module's docstring)
MOZJPEG_BELOW_BPP = 0.5
MOZJPEG_BELOW_PIXELS = 1_000_000


def progressive(baseline: bytes, *, pixels: int) -> bytes:
    """``baseline`` (a JPEG without markers, ``pixels`` in the image) re-scanned progressive,
    losslessly, by the implementation its size calls for (see the module's docstring)."""
    big = pixels >= MOZJPEG_BELOW_PIXELS and len(baseline) * 8 >= MOZJPEG_BELOW_BPP * pixels
    if big and _turbojpeg() is not None:
        try:
            return turbojpeg_progressive(baseline)
        except RuntimeError:
            pass  # a file TurboJPEG will not transform: mozjpeg's transform is the same kind
    return mozjpeg_progressive(baseline)


#: TurboJPEG's custom filter: (coefficients of one block row, its region in the component's
#: coefficient array, the component's whole plane, component index, transform index, transform)
_FILTER = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), _Region, _Region, ctypes.c_int, ctypes.c_int, ctypes.c_void_p
)


def turbojpeg_from_levels(
    planes: list[np.ndarray],
    tables: np.ndarray,
    table_of: list[int],
    sampling: list[tuple[int, int]],
    height: int,
    width: int,
    *,
    progressive: bool = True,
) -> bytes:
    """A progressive JPEG of quantized ``planes`` ((rows, cols, 8, 8) levels per component, natural
    order) in one pass: TurboJPEG's progressive transform of a blank carrier (``blank.py``) whose
    coefficient arrays its custom filter fills with the levels, row by row, before any is coded.
    The file is the one :func:`turbojpeg_progressive` makes of a baseline of the same levels, byte
    for byte, without writing that baseline and decoding it again (a third of a camera photo's
    final encode). ``RuntimeError`` where TurboJPEG is absent, the carrier cannot be made, or a
    plane does not have the size the JPEG's header gives it. ``progressive=False``: a baseline with
    libjpeg's standard Huffman tables instead (one pass; the contract's probe mosaics, only decoded)."""
    lib = _turbojpeg()
    if lib is None:
        raise RuntimeError("libturbojpeg is not installed")
    carrier = blank_baseline(height, width, sampling, tables, table_of)
    if carrier is None:
        raise RuntimeError("no single-scan carrier for this sampling")
    rows = [np.ascontiguousarray(plane, dtype=np.int16).reshape(plane.shape[0], -1) for plane in planes]
    failed: list[str] = []

    def fill(coefficients, array_region, plane_region, component, _transform_index, _transform) -> int:
        try:
            plane = rows[component]
            if plane_region.w != plane.shape[1] // 64 * 8 or plane_region.h != plane.shape[0] * 8:
                failed.append(f"component {component} is {plane.shape[:2]} blocks, its header says otherwise")
                return -1
            row = array_region.y // 8
            if row < plane.shape[0]:  # (the array's rows are padded to the sampling factor)
                ctypes.memmove(coefficients, plane[row].ctypes.data, plane.shape[1] * 2)
            return 0
        except Exception as exc:  # an exception cannot cross back into C: report it as a failure
            failed.append(repr(exc))
            return -1

    callback = _FILTER(fill)
    handle = lib.tjInitTransform()
    if not handle:
        raise RuntimeError("tjInitTransform failed")
    output = ctypes.POINTER(ctypes.c_ubyte)()
    size = ctypes.c_ulong(0)
    transform = _Transform(
        options=(_TJXOPT_PROGRESSIVE if progressive else 0) | _TJXOPT_COPYNONE,
        customFilter=ctypes.cast(callback, ctypes.c_void_p),
    )
    try:
        status = lib.tjTransform(
            handle, carrier, len(carrier), 1, ctypes.byref(output), ctypes.byref(size), ctypes.byref(transform), 0
        )
        if status != 0 or failed:
            message = "; ".join(failed) or (lib.tjGetErrorStr2(handle) or b"unknown error").decode("utf-8", "replace")
            raise RuntimeError(message)
        return ctypes.string_at(output, size.value)
    finally:
        if output:
            lib.tjFree(output)
        lib.tjDestroy(handle)


def mozjpeg_progressive(baseline: bytes) -> bytes:
    """mozjpeg's progressive re-scan with its scan search."""
    return mozjpeg_opt.optimize(baseline, copy=mozjpeg_opt.COPY_MARKERS.NONE)


def turbojpeg_progressive(baseline: bytes) -> bytes:
    """libjpeg-turbo's progressive re-scan (``RuntimeError`` with TurboJPEG's message when it fails)."""
    lib = _turbojpeg()
    if lib is None:
        raise RuntimeError("libturbojpeg is not installed")
    handle = lib.tjInitTransform()
    if not handle:
        raise RuntimeError("tjInitTransform failed")
    output = ctypes.POINTER(ctypes.c_ubyte)()
    size = ctypes.c_ulong(0)
    transform = _Transform(options=_TJXOPT_PROGRESSIVE | _TJXOPT_COPYNONE)
    try:
        status = lib.tjTransform(
            handle, baseline, len(baseline), 1, ctypes.byref(output), ctypes.byref(size), ctypes.byref(transform), 0
        )
        if status != 0:
            message = lib.tjGetErrorStr2(handle) or b"unknown error"
            raise RuntimeError(message.decode("utf-8", "replace"))
        return ctypes.string_at(output, size.value)
    finally:
        if output:
            lib.tjFree(output)
        lib.tjDestroy(handle)
