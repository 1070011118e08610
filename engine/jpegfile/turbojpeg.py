"""libjpeg-turbo's TurboJPEG lossless transform: the engine's fast way from levels to a JPEG file.

Loaded with ctypes from the system's ``libturbojpeg`` (Debian: ``libturbojpeg0``, which
``libjpeg-turbo-progs`` pulls in); where it is absent every caller has a slower path through
jpeglib (``writer.py``) or mozjpeg (``rescan.py``). Two uses of one C function, ``tjTransform``:

* :func:`progressive`: a baseline re-scanned progressive (``jpegtran -progressive``);
* :func:`read_levels`: a JPEG's quantized levels, read by the same filter with no output coded
  (``reader.read_dct`` for snapshots);
* :func:`from_levels`: a JPEG written from quantized levels in one pass. The transform calls a
  custom filter with each row of coefficient blocks after it has read its source and before it
  codes anything; given a blank carrier of the same size, sampling and tables (``blank.py``), the
  filter writes the levels in and TurboJPEG codes the file (progressive, or a baseline with
  standard tables). Writing a baseline through jpeglib (a temporary file) and decoding it again
  for the re-scan cost as much as the progressive coding itself.

The filter is told each component's size in blocks by libjpeg itself, so a plane is never copied
into an array of another size (a plane that does not match is refused).

Why ctypes and not a binding package: PyTurboJPEG, the maintained one, exposes crops and scaling
but not the progressive transform or the custom filter; the functions used here are TurboJPEG's
stable API since libjpeg-turbo 1.2 (3.x keeps them).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache

import numpy as np

from focuspress.engine.jpegfile.blank import blank_baseline

#: tjTransform options (turbojpeg.h): no output image (a filter reads the coefficients), progressive
#: output, no markers copied (the writer adds them)
_TJXOPT_NOOUTPUT = 16
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


#: the custom filter: (coefficients of one block row, its region in the component's coefficient
#: array, the component's whole plane, component index, transform index, transform) -> 0 or -1
_FILTER = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), _Region, _Region, ctypes.c_int, ctypes.c_int, ctypes.c_void_p
)
#: what a filter is given, in Python: (row's coefficients, row index in blocks, the plane's
#: (rows, columns) in blocks, component index)
RowFilter = Callable[[ctypes.c_void_p, int, tuple[int, int], int], None]


@cache
def library() -> ctypes.CDLL | None:
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


def transform(data: bytes, options: int, row_filter: RowFilter | None = None) -> bytes:
    """``tjTransform`` of ``data`` with ``options`` (no geometric operation), ``row_filter`` called
    with every row of coefficient blocks of every component before anything is coded. The output
    file; ``RuntimeError`` with TurboJPEG's message (or the filter's exception) when it fails."""
    lib = library()
    if lib is None:
        raise RuntimeError("libturbojpeg is not installed")
    failed: list[str] = []

    def call(coefficients, array_region, plane_region, component, _index, _transform) -> int:
        try:
            assert row_filter is not None
            row_filter(coefficients, array_region.y // 8, (plane_region.h // 8, plane_region.w // 8), component)
            return 0
        except Exception as exc:  # an exception cannot cross back into C: report it as a failure
            failed.append(str(exc) or repr(exc))
            return -1

    callback = _FILTER(call) if row_filter is not None else None
    handle = lib.tjInitTransform()
    if not handle:
        raise RuntimeError("tjInitTransform failed")
    output = ctypes.POINTER(ctypes.c_ubyte)()
    size = ctypes.c_ulong(0)
    spec = _Transform(options=options, customFilter=ctypes.cast(callback, ctypes.c_void_p) if callback else None)
    try:
        status = lib.tjTransform(
            handle, data, len(data), 1, ctypes.byref(output), ctypes.byref(size), ctypes.byref(spec), 0
        )
        if status != 0 or failed:
            message = "; ".join(failed) or (lib.tjGetErrorStr2(handle) or b"unknown error").decode("utf-8", "replace")
            raise RuntimeError(message)
        return ctypes.string_at(output, size.value) if output else b""
    finally:
        if output:
            lib.tjFree(output)
        lib.tjDestroy(handle)


def progressive(baseline: bytes) -> bytes:
    """``baseline`` re-scanned progressive with libjpeg's standard script and optimized tables."""
    return transform(baseline, _TJXOPT_PROGRESSIVE | _TJXOPT_COPYNONE)


def read_levels(data: bytes, blocks: list[tuple[int, int]]) -> list[np.ndarray]:
    """The quantized levels of ``data``, one (rows, cols, 8, 8) int16 array per component of the
    sizes in ``blocks`` (libjpeg's, from the frame header): TurboJPEG's transform decodes the
    entropy data and its custom filter copies each row of blocks out; nothing is coded. A
    ``RuntimeError`` where TurboJPEG is absent, refuses the file (it refuses on a warning too: a
    damaged file is left to a reader that reports what it worked around), or a component is not
    the size given."""
    planes = [np.empty((rows, cols * 64), dtype=np.int16) for rows, cols in blocks]
    copied = [0] * len(planes)

    def copy(coefficients, row: int, size: tuple[int, int], component: int) -> None:
        if component >= len(planes):
            raise RuntimeError(f"component {component} was not expected")
        plane = planes[component]
        if size != (plane.shape[0], plane.shape[1] // 64):
            raise RuntimeError(f"component {component} is {size[0]}x{size[1]} blocks, not {blocks[component]}")
        if row < plane.shape[0]:  # (libjpeg's arrays are padded to the sampling factor)
            ctypes.memmove(plane[row].ctypes.data, coefficients, plane.shape[1] * 2)
            copied[component] += 1

    transform(data, _TJXOPT_NOOUTPUT, copy)
    if copied != [plane.shape[0] for plane in planes]:
        raise RuntimeError(f"rows of blocks read {copied}, not {[plane.shape[0] for plane in planes]}")
    return [plane.reshape(plane.shape[0], -1, 8, 8) for plane in planes]


def from_levels(
    planes: list[np.ndarray],
    tables: np.ndarray,
    table_of: list[int],
    sampling: list[tuple[int, int]],
    height: int,
    width: int,
    *,
    progressive: bool = True,
) -> bytes:
    """A JPEG of quantized ``planes`` ((rows, cols, 8, 8) levels per component, natural order), with
    ``tables`` (natural order; ``table_of`` per component) and (vertical, horizontal) ``sampling``,
    in one pass (see the module's docstring): progressive, the file :func:`progressive` makes of a
    baseline of the same levels, or with ``progressive=False`` a baseline with standard tables.
    ``RuntimeError`` where TurboJPEG is absent, no carrier can be made, or a plane does not have
    the size the JPEG's header gives it."""
    carrier = blank_baseline(height, width, sampling, tables, table_of)
    if carrier is None:
        raise RuntimeError("no single-scan carrier for this sampling")
    rows = [np.ascontiguousarray(plane, dtype=np.int16).reshape(plane.shape[0], -1) for plane in planes]

    def fill(coefficients, row: int, blocks: tuple[int, int], component: int) -> None:
        plane = rows[component]
        if blocks != (plane.shape[0], plane.shape[1] // 64):
            raise RuntimeError(f"component {component} is {plane.shape[0]}x{plane.shape[1] // 64} blocks, not {blocks}")
        if row < plane.shape[0]:  # (libjpeg's arrays are padded to the sampling factor)
            ctypes.memmove(coefficients, plane[row].ctypes.data, plane.shape[1] * 2)

    return transform(carrier, (_TJXOPT_PROGRESSIVE if progressive else 0) | _TJXOPT_COPYNONE, fill)
