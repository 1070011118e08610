"""The DCT route: a JPEG input recompressed in its own coefficients, on its own 8x8 grid.

Decoding to pixels and transforming again adds rounding noise on top of the source's own
quantization (generation loss) and costs two transforms. Here the source's quantized levels
are read as they are (``jpeglib``), each is worth exactly ``level x step``, and the importance-
steered rate-distortion quantizer picks new levels against those exact values, with steps
never finer than the source's (:func:`focuspress.engine.compositor.block.encoder.quantization_tables`).
The output keeps the source's size, sampling (4:2:0 stays 4:2:0) and orientation tag.

At "no change" settings (steps equal to the source's, lambda 0) every level is reproduced
exactly; the tests check it.

Tuning (``python -m focuspress.training.tune_tables --source-jpeg 92``, BSDS500 photos 0..23
re-saved by libjpeg-turbo at q92 4:2:0, SSIMULACRA2 60..90 against the decoded source): for a
4:2:0 source the chroma steps want to be about a quarter of what 4:4:4 chroma gets (a 4:2:0
chroma coefficient covers 16x16 pixels), chroma DC finer still, luma DC and the highest
frequencies a little finer, and a lower lambda than for lossless sources.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import jpeglib
import numpy as np

from focuspress.engine.compositor.block.encoder import BlockSettings, luma_weights, quantization_tables
from focuspress.engine.compositor.block.masking import upsample_blocks
from focuspress.engine.compositor.block.quantize import STRIPE_ROWS, quantize_rdo
from focuspress.engine.compositor.block.tables import TableTuning
from focuspress.engine.compositor.block.writer import read_dct, write_dct

#: Table multipliers for JPEG sources: the output of
#: ``python -m focuspress.training.tune_tables --source-jpeg 92 --images 24`` (-23.53% on its
#: BSDS500 tuning photos, SSIMULACRA2 60..90 against libjpeg-turbo re-encoding the decoded source).
TRANSCODE_TUNING = TableTuning(dc=0.448, chroma=0.8125, chroma_dc=0.2098, high=0.8889, chroma_420=0.2622)
TRANSCODE_LAMBDA = 0.041
#: Luma steps relative to a lossless source at the same ``-q`` (calibrated with the tables).
TRANSCODE_DISTANCE_SCALE = 1.1


def transcode_settings(base: BlockSettings) -> BlockSettings:
    """``base`` with the tuning fitted for JPEG sources."""
    return replace(base, tuning=TRANSCODE_TUNING, rdo_lambda=TRANSCODE_LAMBDA)


#: the largest quantized AC coefficient a baseline JPEG's Huffman code holds (10 bits of magnitude)
MAX_AC_LEVEL = 1023
#: DC levels whose differences fit its 11 bits (an 8-bit black block at step 1 is -1024)
DC_LEVELS = (-1024, 1023)


def clip_to_baseline(levels: np.ndarray) -> None:
    """Clip a damaged source's levels, in place, to what a baseline JPEG can code.

    Damaged entropy data can decode to levels libjpeg then refuses to write ("DCT coefficient
    out of range"); an intact 8-bit source never exceeds these bounds. Once per source is
    enough: requantizing never takes a step finer than the source's (the tables' floor), so it
    never makes a level larger.
    """
    dc = np.clip(levels[..., 0, 0], *DC_LEVELS)  # a copy, 1/64 of the plane
    np.clip(levels, -MAX_AC_LEVEL, MAX_AC_LEVEL, out=levels)
    levels[..., 0, 0] = dc


class CoefficientsUnreadable(Exception):
    """libjpeg could not read a JPEG's coefficients (the file still decodes to pixels)."""


def why_not_transcode(image, options) -> str | None:
    """Why ``image`` must take the pixel route under ``options`` (None: the DCT route applies)."""
    info = image.jpeg
    if info is None or image.data is None:
        return "not a JPEG"
    if not info.is_ycbcr:
        return "CMYK or RGB JPEG"
    if options.route == "pixel":
        return "pixel route asked for"
    if options.subsampling != "auto" and options.subsampling != info.subsampling:
        return f"subsampling {options.subsampling} asked for (source is {info.subsampling})"
    if options.metadata == "strip" and image.orientation != 1:
        return "pixels must be turned upright (metadata strip drops the orientation tag)"
    return None


def to_stored_orientation(upright: np.ndarray, orientation: int) -> np.ndarray:
    """Undo Pillow's ``exif_transpose`` for an EXIF ``orientation``: the map on the stored grid."""
    inverse = {
        1: lambda a: a,
        2: np.fliplr,
        3: lambda a: np.rot90(a, 2),
        4: np.flipud,
        5: np.transpose,
        6: lambda a: np.rot90(a, 1),
        7: lambda a: np.rot90(a, 2).T,
        8: lambda a: np.rot90(a, -1),
    }
    return np.ascontiguousarray(inverse.get(orientation, inverse[1])(upright))


def _activity(levels: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Each luma block's pixel standard deviation, from its dequantized AC energy (Parseval)."""
    weights = np.square(steps.astype(np.float32))
    weights[0, 0] = 0.0
    out = np.empty(levels.shape[:2], dtype=np.float32)
    for top in range(0, levels.shape[0], STRIPE_ROWS):
        block = levels[top : top + STRIPE_ROWS].astype(np.float32)
        out[top : top + STRIPE_ROWS] = np.sqrt(np.einsum("abij,ij->ab", np.square(block), weights) / 64.0)
    return out


@dataclass
class PreparedTranscode:
    """A JPEG source's levels and block weights, ready to be requantized at any quality."""

    route = "dct"

    jpeg: jpeglib.DCTJPEG
    levels: list[np.ndarray]
    source_tables: np.ndarray  # (components, 8, 8)
    weights: list[np.ndarray]
    subsampled: bool
    gain: float
    settings: BlockSettings
    #: outputs (by hash) whose levels and tables are exactly the source's: lossless in effect
    exact: set[int] = field(default_factory=set)

    def is_exact(self, data: bytes) -> bool:
        """Whether ``data`` (an output of :meth:`encode`) holds exactly the source's coefficients."""
        return hash(data) in self.exact

    def encode(self, quality: float) -> bytes:
        floor = np.stack([self.source_tables[min(i, len(self.source_tables) - 1)] for i in range(3)])
        tables, asked = quantization_tables(
            quality,
            self.settings,
            subsampled=self.subsampled,
            gain=self.gain / TRANSCODE_DISTANCE_SCALE,
            floor=floor,
        )
        planes = []
        for index, (levels, weight) in enumerate(zip(self.levels, self.weights)):
            lam = None if self.settings.rdo_lambda <= 0 else weight * self.settings.rdo_lambda
            planes.append(
                quantize_rdo(
                    levels,
                    tables[index],
                    lam,
                    symbol_bits=self.settings.symbol_bits,
                    source_table=self.source_tables[index],
                    asked_table=asked[index],
                )
            )
        jpeg = self.jpeg
        jpeg.Y = planes[0]
        if len(planes) == 3:
            jpeg.Cb, jpeg.Cr = planes[1], planes[2]
        jpeg.qt = tables[: len(planes)].astype(np.uint16)
        jpeg.quant_tbl_no = np.arange(len(planes))
        data = write_dct(jpeg, progressive=self.settings.progressive)
        same_tables = all(np.array_equal(tables[i], self.source_tables[i]) for i in range(len(planes)))
        if same_tables and all(np.array_equal(a, b) for a, b in zip(planes, self.levels)):
            self.exact.add(hash(data))
        return data


def prepare_transcode(
    image, importance: np.ndarray | None, roi_strength: float, settings: BlockSettings
) -> PreparedTranscode:
    """Read the source's coefficients and weigh every block (masking x importance).

    Raises :class:`CoefficientsUnreadable` where libjpeg cannot read the coefficients of a file
    Pillow decoded (a damaged header, a missing Huffman table): the pixel route still can.
    """
    try:
        jpeg = read_dct(image.data)
    except (OSError, ValueError, IndexError) as exc:  # libjpeg's refusal, or jpeglib sizing a damaged header
        raise CoefficientsUnreadable("libjpeg refused the file's headers or Huffman tables") from exc
    levels = [jpeg.Y] + ([jpeg.Cb, jpeg.Cr] if jpeg.has_chrominance else [])
    for plane in levels:
        clip_to_baseline(plane)
    tables = np.stack([jpeg.qt[jpeg.quant_tbl_no[i]] for i in range(len(levels))]).astype(np.float32)
    stored_h, stored_w = jpeg.height, jpeg.width
    if importance is not None and image.orientation != 1:
        importance = to_stored_orientation(importance, image.orientation)
    weight, gain = luma_weights(
        _activity(levels[0], tables[0]), importance, roi_strength, settings, (stored_h, stored_w)
    )
    weights = [weight] + [upsample_blocks(weight, plane.shape[:2]) for plane in levels[1:]]
    subsampled = len(levels) == 3 and levels[1].size < levels[0].size
    return PreparedTranscode(jpeg, levels, tables, weights, subsampled, gain, settings)
