"""Entropy coding: quantized coefficients to a standard baseline or progressive JPEG file.

``jpeglib`` drives libjpeg's ``jpeg_write_coefficients`` with optimized Huffman tables, so the
bitstream is libjpeg's own. Progressive output goes through ``mozjpeg-lossless-optimization``
(mozjpeg's jpegtran in process: lossless, with mozjpeg's searched scan script, usually 2-6%
smaller); ``auto`` keeps whichever of the two files is smaller.
"""

from __future__ import annotations

import os
import tempfile

import jpeglib
import mozjpeg_lossless_optimization as mozjpeg_opt
import numpy as np

ICC_MARKER_PAYLOAD = 65519  # 65535 - 2 (length) - 14 ("ICC_PROFILE\0" + seq + count)
PROGRESSIVE_CHOICES = ("auto", "always", "never")


def write_jpeg(
    planes: list[np.ndarray],
    tables: np.ndarray,
    width: int,
    height: int,
    *,
    icc_profile: bytes | None = None,
    progressive: str = "auto",
) -> bytes:
    """Code ``planes`` (Y[, Cb, Cr] int16 blocks) with ``tables`` into JPEG bytes."""
    if progressive not in PROGRESSIVE_CHOICES:
        raise ValueError(f"progressive must be one of {PROGRESSIVE_CHOICES}")
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
    if icc_profile:
        jpeg.markers = _icc_markers(icc_profile)
    baseline = _write_via_tempfile(jpeg)
    if progressive == "never":
        return baseline
    copy = mozjpeg_opt.COPY_MARKERS.ALL
    progressive_bytes = mozjpeg_opt.optimize(baseline, copy=copy)
    if progressive == "always" or len(progressive_bytes) < len(baseline):
        return progressive_bytes
    return baseline


def _write_via_tempfile(jpeg: jpeglib.DCTJPEG) -> bytes:
    # jpeglib writes to a path only; a private temp file keeps concurrent encodes apart.
    fd, name = tempfile.mkstemp(prefix="focuspress-", suffix=".jpg")
    os.close(fd)
    try:
        jpeg.write_dct(name, flags=["+OPTIMIZE_CODING"])
        with open(name, "rb") as handle:
            return handle.read()
    finally:
        os.unlink(name)


def _icc_markers(profile: bytes) -> list[jpeglib.Marker]:
    """Split an ICC profile into APP2 ``ICC_PROFILE`` chunks (ICC.1 Annex B.4)."""
    chunks = [profile[i : i + ICC_MARKER_PAYLOAD] for i in range(0, len(profile), ICC_MARKER_PAYLOAD)]
    markers = []
    for index, chunk in enumerate(chunks, start=1):
        content = b"ICC_PROFILE\x00" + bytes([index, len(chunks)]) + chunk
        markers.append(jpeglib.Marker(jpeglib.MarkerType.JPEG_APP2, len(content), content))
    return markers
