"""What a JPEG input tells the encoder before any pixel is decoded: its grid, tables and quality.

When the input is a JPEG, it is the reference: its quantization tables say how finely each
frequency survived (bits spent below those steps would only encode its artifacts), its
chroma subsampling is kept, and its quality is estimated the way libjpeg defines quality
(the Annex K tables scaled by ``5000/q`` or ``200 - 2q``). Everything here is read from the
header Pillow has already parsed; nothing is decoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

# ITU-T T.81 Annex K example tables (luma, chroma), which libjpeg scales by its quality knob.
# fmt: off
_ANNEX_K = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
], dtype=np.float64).reshape(2, 8, 8)
# fmt: on


def annex_k_tables(quality: float) -> np.ndarray:
    """(3, 8, 8) steps as libjpeg computes them for ``quality`` (Cb and Cr share one table)."""
    q = int(np.clip(round(quality), 1, 100))
    scale = 5000 / q if q < 50 else 200 - 2 * q
    tables = np.floor((_ANNEX_K * scale + 50) / 100)
    tables = np.clip(tables, 1, 255)
    return np.stack([tables[0], tables[1], tables[1]])


@dataclass(frozen=True)
class JpegInfo:
    """A JPEG source's coding parameters (tables in natural order, one per component)."""

    components: int
    #: (h, v) sampling factors per component, e.g. ((2, 2), (1, 1), (1, 1)) for 4:2:0
    sampling: tuple[tuple[int, int], ...]
    #: the quantization step of every coefficient, per component: (components, 8, 8)
    tables: np.ndarray
    progressive: bool
    #: Adobe APP14 transform (0: RGB/CMYK, 1: YCbCr, 2: YCCK) or None
    adobe_transform: int | None
    quality: float

    @property
    def subsampling(self) -> str:
        """'444', '420', or another ratio like '422' (what libjpeg calls the chroma sampling)."""
        if self.components < 3:
            return "grey"
        (hy, vy), (hc, vc) = self.sampling[0], self.sampling[1]
        if (hy, vy) == (hc, vc):
            return "444"
        if (hy // hc, vy // vc) == (2, 2):
            return "420"
        if (hy // hc, vy // vc) == (2, 1):
            return "422"
        return f"{hy}x{vy}:{hc}x{vc}"

    @property
    def chroma_follows_luma(self) -> bool:
        """Whether both chroma components share one sampling that divides luma's: every camera's
        layout, and every one ``cjpeg -sample HxV`` writes. The DCT route resamples, tiles and writes
        Cb and Cr as one pair on luma's grid; a valid file sampled otherwise (Cb and Cr unlike each
        other, or chroma finer than luma: ``cjpeg -sample 2x1,1x1,1x2``) takes the pixel route, where
        it once ended as an internal error (round 4)."""
        if self.components < 3:
            return True
        (hy, vy), cb, cr = self.sampling[:3]
        return cb == cr and min(cb) > 0 and hy % cb[0] == 0 and vy % cb[1] == 0

    @property
    def is_ycbcr(self) -> bool:
        """A 1- or 3-component JPEG in YCbCr/grey (not CMYK, YCCK or Adobe RGB)."""
        if self.components == 1:
            return True
        return self.components == 3 and self.adobe_transform in (None, 1)


#: Start-of-frame markers of arithmetic-coded frames (T.81 Table B.1: SOF9-SOF11, SOF13-SOF15) and of
#: Huffman-coded ones (SOF0-SOF3, SOF5-SOF7)
_ARITHMETIC_FRAMES = frozenset({0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_HUFFMAN_FRAMES = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7})


def header_segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker, position, length) of each segment of a JPEG's header after its SOI, fill bytes
    skipped, up to and including the first SOS (or EOI); it stops at a byte that is not a marker.
    A length is as the file says it: a caller that reads a payload checks that it fits."""
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1
            continue
        length = (data[position + 2] << 8) | data[position + 3]
        yield marker, position, length
        if marker in (0xDA, 0xD9):
            return
        position += 2 + length


def arithmetic_coded(data: bytes) -> bool:
    """Whether ``data`` is a JPEG whose (first) frame is arithmetic-coded, read from its markers up
    to the frame header (nothing decoded; False for anything else, damaged headers included)."""
    if data[:2] != b"\xff\xd8":
        return False
    for marker, _, _ in header_segments(data):
        if marker in _ARITHMETIC_FRAMES or marker in _HUFFMAN_FRAMES:
            return marker in _ARITHMETIC_FRAMES
    return False


def inspect_jpeg(image: Image.Image) -> JpegInfo | None:
    """The coding parameters of an opened (not yet decoded) JPEG, or None if it is not one."""
    if image.format not in ("JPEG", "MPO"):
        return None
    layers = getattr(image, "layer", None) or []
    quantization = getattr(image, "quantization", None) or {}
    if not layers or not quantization:
        return None
    tables = []
    for _component_id, _h, _v, table_index in layers:
        values = quantization.get(table_index)
        if values is None or len(values) != 64:
            return None
        tables.append(np.asarray(values, dtype=np.uint16).reshape(8, 8))  # Pillow gives natural order
    stacked = np.stack(tables)
    return JpegInfo(
        components=len(layers),
        sampling=tuple((h, v) for _, h, v, _ in layers),
        tables=stacked,
        progressive=bool(image.info.get("progressive") or image.info.get("progression")),
        adobe_transform=image.info.get("adobe_transform") if "adobe" in image.info else None,
        quality=estimate_quality(stacked),
    )


def estimate_quality(tables: np.ndarray) -> float:
    """The libjpeg quality (1..100) whose Annex K tables best match ``tables`` (luma, then chroma).

    Exact for files libjpeg wrote (same tables at the same quality); for a camera's own tables,
    the quality whose steps are closest on a log scale (an "equivalent" libjpeg quality).
    """
    tables = np.asarray(tables, dtype=np.float64)
    reference = _log_annex_k()
    error = np.mean(np.square(np.log(np.maximum(tables[0], 1.0)) - reference[:, 0]), axis=(1, 2))
    if len(tables) > 1:
        error = error + np.mean(np.square(np.log(np.maximum(tables[1], 1.0)) - reference[:, 1]), axis=(1, 2))
    return float(np.argmin(error) + 1)  # (the first of equal errors: the lowest such quality)


@cache
def _log_annex_k() -> np.ndarray:
    """log of the (luma, chroma) Annex K tables at every quality 1..100: (100, 2, 8, 8), made once
    (every JPEG load estimates its quality; a loop over the qualities cost 8 ms a photo)."""
    return np.log(np.stack([annex_k_tables(quality)[:2] for quality in range(1, 101)]))
