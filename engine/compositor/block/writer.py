"""Entropy coding: quantized coefficients to a standard baseline or progressive JPEG file.

``jpeglib`` drives libjpeg's ``jpeg_write_coefficients`` with optimized Huffman tables, so the
bitstream is libjpeg's own. Progressive output saves 2-6% on small photos and 3-8% on camera
photos, so ``auto`` writes it for every photo up to :data:`PROGRESSIVE_AUTO_PIXELS`; ``always``
and ``never`` do what they say. Two ways to it (``rescan.py``):

* where TurboJPEG is installed: written progressive in one pass (TurboJPEG's transform of a blank
  carrier filled with the levels; a file under 0.5 bpp then gets mozjpeg's scan search too). No
  baseline is written beside it, so none is compared: on the contract's 22 camera-native outputs
  the progressive file was the smaller on 21, and 0.2% larger on the other. A small file's scan
  headers (a Huffman table per scan) weigh more: under :data:`SMALL_FILE_BYTES` ``auto`` also
  writes the optimized baseline and keeps the smaller. On a camera photo the one pass takes the
  final write from about 60 to 35 ms per megapixel here (the same file, byte for byte but for the
  components' ids).
* without TurboJPEG (or a file it cannot carry: CMYK, a sampling no single scan holds): a
  baseline with libjpeg's standard tables, re-scanned losslessly, and ``auto`` keeps the smaller
  of that and the optimized baseline (written only where the progressive file is not clearly
  the smaller).

Metadata segments are added afterwards by :func:`focuspress.engine.io.metadata.with_metadata`.

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
from typing import get_args

import jpeglib
import numpy as np
from jpeglib import Colorspace

from focuspress.engine.compositor.block import rescan, turbojpeg
from focuspress.engine.options import Progressive

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

PROGRESSIVE_CHOICES: tuple[str, ...] = get_args(Progressive)  # the options schema's choices
#: ``progressive: auto`` tries the progressive re-scan up to this many pixels (see the docstring).
PROGRESSIVE_AUTO_PIXELS = 64_000_000
#: ``auto`` keeps the progressive file without writing the optimized baseline when it is at most
#: this share of the standard-table baseline. On the contract's 22 camera-native outputs optimized
#: tables took 3.7-23% off the standard baseline, and the progressive file was the smaller on 21;
#: on the other it was 0.2% larger, at 0.918 of the standard baseline. Above the line both are
#: written and the smaller is kept. So most photos are written twice, not three times (there the
#: optimized baseline cost about 20 ms per megapixel, the standard one 10). The re-scan's choice
#: of implementation (``rescan.py``'s bits-per-pixel line) then reads the standard baseline's size,
#: 4-23% above the optimized one's.
CLEARLY_SMALLER = 0.93
#: ``auto`` weighs the optimized baseline beside a one-pass progressive file under this many bytes.
#: The progressive file's extra scan headers are a few hundred bytes: on a smooth 96x128 photo the
#: baseline was 6.7% smaller; on the contract's outputs of the 22 camera-native photos cropped to
#: 1280x720 (60-300 KB) it was smaller on one (by 1.8%), on Kodak's 24 and on 59 ECSSD photos on
#: none, and writing it cost 20 ms of a 720p snapshot's 500.
SMALL_FILE_BYTES = 32 * 1024


def write_jpeg(
    planes: list[np.ndarray],
    tables: np.ndarray,
    width: int,
    height: int,
    *,
    progressive: str = "auto",
    subsampled: bool = False,
) -> bytes:
    """Code ``planes`` (Y[, Cb, Cr] int16 blocks) with ``tables`` into JPEG bytes (no metadata).

    The sampling is stated, not inferred from the arrays' shapes (an 8x8 photo has one luma
    and one chroma block either way)."""
    if len(planes) == 1:
        jpeg = jpeglib.from_dct(planes[0], qt=tables[:1].astype(np.uint16))
    elif np.array_equal(tables[1], tables[2]):
        # One shared chroma table, as libjpeg writes: saves a 65-byte DQT entry.
        jpeg = jpeglib.from_dct(
            planes[0], planes[1], planes[2], qt=tables[:2].astype(np.uint16), quant_tbl_no=[0, 1, 1]
        )
    else:
        jpeg = jpeglib.from_dct(planes[0], planes[1], planes[2], qt=tables.astype(np.uint16), quant_tbl_no=[0, 1, 2])
    jpeg.height = height
    jpeg.width = width
    if len(planes) == 3:
        jpeg.samp_factor = np.array([[2, 2], [1, 1], [1, 1]] if subsampled else [[1, 1], [1, 1], [1, 1]])
    return write_dct(jpeg, progressive=progressive)


def write_dct(jpeg: jpeglib.DCTJPEG, *, progressive: str = "auto", optimize: bool = True) -> bytes:
    """Write a coefficient image (its own sampling, tables and size) without its markers.

    ``optimize=False``: libjpeg's standard Huffman tables (one pass; for a file only decoded, never kept)."""
    if progressive not in PROGRESSIVE_CHOICES:
        raise ValueError(f"progressive must be one of {PROGRESSIVE_CHOICES}")
    jpeg.markers = []
    pixels = jpeg.width * jpeg.height
    if progressive == "never" or (progressive == "auto" and pixels > PROGRESSIVE_AUTO_PIXELS):
        if not optimize:  # a file only decoded (the contract's whole-photo probe): TurboJPEG's one pass
            one_pass = _one_pass(jpeg, progressive=False)
            if one_pass is not None:
                return one_pass
        return _write_via_tempfile(jpeg, optimize)
    direct = _one_pass(jpeg, progressive=True)
    if direct is not None:
        if len(direct) * 8 < rescan.MOZJPEG_BELOW_BPP * pixels:
            # a sparse file: mozjpeg's scan search pays there (the same coefficients either way)
            direct = min(direct, rescan.mozjpeg_progressive(direct), key=len)
        if progressive == "auto" and optimize and len(direct) < SMALL_FILE_BYTES:
            # a small file's scan headers weigh more: its optimized baseline may be the smaller
            direct = min(direct, _write_via_tempfile(jpeg, optimize=True), key=len)
        return direct
    # the re-scan codes its own optimized tables whatever its input's: a baseline with libjpeg's
    # standard tables (one pass instead of two) gives the same progressive file
    standard = _write_via_tempfile(jpeg, optimize=False)
    progressive_bytes = rescan.progressive(standard, pixels=pixels)
    if progressive == "always" or len(progressive_bytes) <= CLEARLY_SMALLER * len(standard):
        return progressive_bytes
    baseline = _write_via_tempfile(jpeg, optimize) if optimize else standard
    return progressive_bytes if len(progressive_bytes) < len(baseline) else baseline


def _one_pass(jpeg: jpeglib.DCTJPEG, *, progressive: bool) -> bytes | None:
    """TurboJPEG's file of ``jpeg``'s levels in one pass (``turbojpeg.from_levels``: progressive,
    or a baseline with standard tables), or None where it cannot make it (no TurboJPEG, a CMYK
    file, a sampling no single scan carries)."""
    if jpeg.has_black:
        return None
    planes = [jpeg.Y] + ([jpeg.Cb, jpeg.Cr] if jpeg.has_chrominance else [])
    sampling = [(int(v), int(h)) for v, h in np.atleast_2d(jpeg.samp_factor)[: len(planes)]]
    table_of = [int(i) for i in np.atleast_1d(jpeg.quant_tbl_no)[: len(planes)]]
    try:
        return turbojpeg.from_levels(
            planes, np.asarray(jpeg.qt), table_of, sampling, jpeg.height, jpeg.width, progressive=progressive
        )
    except RuntimeError:
        return None


def _write_via_tempfile(jpeg: jpeglib.DCTJPEG, optimize: bool = True) -> bytes:
    # jpeglib writes to a path only; a private temp file keeps concurrent encodes apart.
    fd, name = tempfile.mkstemp(prefix="focuspress-", suffix=".jpg")
    os.close(fd)
    try:
        jpeg.write_dct(name, flags=["+OPTIMIZE_CODING"] if optimize else ["-OPTIMIZE_CODING"])
        with open(name, "rb") as handle:
            return handle.read()
    finally:
        os.unlink(name)


def huffman_coded(data: bytes) -> bytes:
    """An arithmetic-coded JPEG (T.81's other entropy coder, SOF9-SOF15) as the same frame, tables,
    markers and levels Huffman-coded: a lossless copy that every decoder reads. Pillow feeds
    libjpeg-turbo a file 64 KB at a time, and libjpeg's arithmetic decoder cannot wait for more
    input ("broken data stream" past the first 64 KB); many viewers have no arithmetic decoder at
    all. jpeglib's libjpeg (:data:`LIBJPEG`) reads the whole file, so the engine reads such a
    photo's pixels and levels from this copy (the same pixels as its Huffman-coded twin, and the
    same output: ``tests/test_io.py``). jpeglib's whole route, markers and all: the copy's EXIF is
    what turns its pixels upright."""
    return _write_via_tempfile(_read_whole(data))


def read_dct(data: bytes) -> jpeglib.DCTJPEG:
    """A JPEG's coefficients, tables and sampling (jpeglib reads from a path: a private temp file).

    jpeglib's own ``read_dct`` first runs an information pass that decodes every scan (to count
    them) and copies the markers out: a third of the read's time on a camera photo (50-85 ms of
    8-10 MP here), for nothing the engine uses. Where the header is the ordinary kind
    (:func:`_coefficient_image`) the coefficient image is described from the header instead and
    jpeglib's coefficient read fills it; any other file takes jpeglib's whole route.

    Photos up to :data:`TURBO_READ_PIXELS` have their levels read by TurboJPEG's transform instead
    (``turbojpeg.read_levels``: no file, no output coded), where it is installed and reads the
    file without a warning; a damaged file falls through to jpeglib, whose libjpeg reports what it
    worked around."""
    jpeg = _coefficient_image(data)
    if jpeg is not None:
        if jpeg.height * jpeg.width > TURBO_READ_PIXELS or not _read_with_turbojpeg(jpeg, data):
            jpeg.load()  # jpeglib writes the content to its own temporary file and reads the levels
        return jpeg
    return _read_whole(data)


def _read_whole(data: bytes) -> jpeglib.DCTJPEG:
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


#: the most pixels whose levels :func:`read_dct` reads through TurboJPEG. It is faster at every size
#: (camera-native's 22 photos cropped to 640x480, 1920x1080 and 2560x1440: 3.1, 17.9 and 33.9 ms a
#: photo against jpeglib's 4.3, 25.3 and 45.0; ten whole 8-12 MP photos 75-94 against 90-104), but
#: it holds libjpeg's coefficient arrays beside the copies it fills: on those ten photos the daemon
#: (`bench daemon --count 40`, two workers) peaked at 1,463 MB with it against 1,249 MB without,
#: for 3.08 against 2.76 photos/s. Snapshots, where the copies are small, take it.
TURBO_READ_PIXELS = 4_000_000


def _read_with_turbojpeg(jpeg: jpeglib.DCTJPEG, data: bytes) -> bool:
    """Fill ``jpeg`` (described from its header, tables included) with its levels read by TurboJPEG;
    False, and ``jpeg`` untouched, where TurboJPEG is absent or does not read it cleanly."""
    try:
        planes = turbojpeg.read_levels(data, [(int(rows), int(cols)) for rows, cols in jpeg.block_dims])
    except RuntimeError:
        return False
    jpeg.Y = planes[0]
    if len(planes) == 3:
        jpeg.Cb, jpeg.Cr = planes[1], planes[2]
    return True


#: component ids that make libjpeg read a 3-component file without JFIF or Adobe markers as RGB
_RGB_IDS = (82, 71, 66)


def _coefficient_image(data: bytes) -> jpeglib.DCTJPEG | None:
    """``data``'s coefficient image, unread, described from its frame header (Pillow's parse, no
    entropy data decoded), or None where the header is not the ordinary kind: 8-bit, one component
    or three that libjpeg takes for YCbCr (JFIF; Adobe's transform 1; neither marker and ids other
    than R, G, B). The sizes in blocks are libjpeg's (``jdinput.c``: each component's
    ceil(width x h / (8 x max h)), likewise down), so jpeglib's read fills arrays of exactly the
    size libjpeg walks; the tables are the header's (Pillow's, in natural order) in libjpeg's slots.
    The tests compare every field with jpeglib's own information pass and read."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            layers = list(getattr(image, "layer", None) or [])
            width, height = image.size
            bits = getattr(image, "bits", 8)
            info = dict(image.info)
            quantization = dict(getattr(image, "quantization", None) or {})
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return None
    if bits != 8 or len(layers) not in (1, 3) or width < 1 or height < 1:
        return None
    if len(layers) == 3:
        adobe = "adobe" in info and "jfif" not in info
        ids = tuple(layer[0] for layer in layers)
        if (adobe and info.get("adobe_transform") != 1) or (not adobe and "jfif" not in info and ids == _RGB_IDS):
            return None
    factors = [(int(layer[2]), int(layer[1])) for layer in layers]  # (v, h), jpeglib's order
    if any(not 1 <= f <= 4 for pair in factors for f in pair):
        return None
    table_of = [int(layer[3]) for layer in layers]
    if any(len(quantization.get(index, ())) != 64 for index in table_of):
        return None
    # libjpeg's table slots up to the last one used, in natural order (Pillow's), as jpeglib reads them
    tables = np.zeros((max(table_of) + 1, 8, 8), dtype=np.uint16)
    for index in set(table_of):
        tables[index] = np.asarray(quantization[index], dtype=np.uint16).reshape(8, 8)
    v_max, h_max = max(v for v, _ in factors), max(h for _, h in factors)
    blocks = [(-(-height * v // (8 * v_max)), -(-width * h // (8 * h_max))) for v, h in factors]
    space = "JCS_YCbCr" if len(layers) == 3 else "JCS_GRAYSCALE"
    return jpeglib.DCTJPEG(
        path="<memory>",
        content=data,
        height=height,
        width=width,
        block_dims=np.array(blocks, dtype=np.int32),
        samp_factor=np.array(factors, dtype=np.int32),
        markers=[],
        huffmans=[],
        jpeg_color_space=Colorspace[space],
        progressive_mode=bool(info.get("progressive") or info.get("progression")),
        num_scans=1,
        Y=None,
        Cb=None,
        Cr=None,
        K=None,
        qt=tables,
        quant_tbl_no=np.array(table_of, dtype=np.int64),
    )
