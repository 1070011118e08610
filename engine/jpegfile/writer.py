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

Which libjpeg build codes the baselines: ``libjpeg.py``.
"""

from __future__ import annotations

from typing import get_args

import jpeglib
import numpy as np

from focuspress.engine.jpegfile import rescan, turbojpeg
from focuspress.engine.jpegfile.libjpeg import write_with_jpeglib
from focuspress.engine.options import Progressive

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
        return write_with_jpeglib(jpeg, optimize)
    direct = _one_pass(jpeg, progressive=True)
    if direct is not None:
        if len(direct) * 8 < rescan.MOZJPEG_BELOW_BPP * pixels:
            # a sparse file: mozjpeg's scan search pays there (the same coefficients either way)
            direct = min(direct, rescan.mozjpeg_progressive(direct), key=len)
        if progressive == "auto" and optimize and len(direct) < SMALL_FILE_BYTES:
            # a small file's scan headers weigh more: its optimized baseline may be the smaller
            direct = min(direct, write_with_jpeglib(jpeg, optimize=True), key=len)
        return direct
    # the re-scan codes its own optimized tables whatever its input's: a baseline with libjpeg's
    # standard tables (one pass instead of two) gives the same progressive file
    standard = write_with_jpeglib(jpeg, optimize=False)
    progressive_bytes = rescan.progressive(standard, pixels=pixels)
    if progressive == "always" or len(progressive_bytes) <= CLEARLY_SMALLER * len(standard):
        return progressive_bytes
    baseline = write_with_jpeglib(jpeg, optimize) if optimize else standard
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
