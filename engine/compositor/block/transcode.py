"""The DCT route: a JPEG input recompressed in its own coefficients, on its own 8x8 grid.

Decoding to pixels and transforming again adds rounding noise on top of the source's own
quantization (generation loss) and costs two transforms. Here the source's quantized levels
are read as they are (``jpeglib``), each is worth exactly ``level x step``, and the importance-
steered rate-distortion quantizer picks new levels against those exact values, with steps
never finer than the source's (:func:`focuspress.engine.compositor.block.encoder.quantization_tables`).
The output keeps the source's size and stored orientation. Chroma sampled finer than 4:2:0
(4:2:2, 4:4:0, 4:4:4: what cameras write) is resampled to 4:2:0 from its exact coefficients
(``resample.py``) unless ``subsampling`` asks to keep it; 4:2:0 and 4:1:1 keep their grid.

At "no change" settings (steps equal to the source's, lambda 0, sampling kept) every level is
reproduced exactly; the tests check it, and such an output is :attr:`Encoded.exact`.

Tuning (:data:`TRANSCODE_TUNING`, :data:`TRANSCODE_LAMBDA`): ``python -m focuspress.training.tune_tables
--camera`` on the fixed training split of ``../shared/data/camera-native`` (lossless 1280x960
crops of the cameras' own files), SSIMULACRA2 60..90 against libjpeg-turbo re-encoding the
decoded source (see that module for the split and the command).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import jpeglib
import numpy as np

from focuspress.engine.compositor import Encoded, Route
from focuspress.engine.compositor.block.encoder import BlockSettings, luma_weights, quantization_tables
from focuspress.engine.compositor.block.masking import upsample_blocks
from focuspress.engine.compositor.block.quantize import STRIPE_ROWS, quantize_rdo
from focuspress.engine.compositor.block.resample import chroma_subsampling, chroma_to_420, factors_to_420
from focuspress.engine.compositor.block.tables import TableTuning
from focuspress.engine.compositor.block.writer import read_dct, write_dct
from focuspress.engine.io.load import LoadedImage
from focuspress.engine.jpeg_input import to_stored_orientation

#: Table multipliers and lambda for JPEG sources, fitted by ``python -m focuspress.training.tune_tables --camera``.
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
    """A JPEG source's levels and block weights, ready to be requantized at any quality.

    ``chroma``: the source's chroma levels (sampling kept), or 4:2:0 float coefficients
    (``resampled``) from :func:`~focuspress.engine.compositor.block.resample.chroma_to_420`.
    """

    jpeg: jpeglib.DCTJPEG
    luma: np.ndarray
    chroma: list[np.ndarray]
    resampled: bool
    source_tables: np.ndarray  # (components, 8, 8)
    weights: list[np.ndarray]
    gain: float
    settings: BlockSettings

    @property
    def route(self) -> Route:
        return "dct"

    @property
    def subsampled(self) -> bool:
        return bool(self.chroma) and self.chroma[0].size < self.luma.size

    def encode(self, quality: float) -> Encoded:
        components = 1 + len(self.chroma)
        floor = np.stack([self.source_tables[min(i, len(self.source_tables) - 1)] for i in range(3)])
        if self.resampled:
            floor[1:] = 1.0  # a resampled chroma block has no source step to respect
        tables, asked = quantization_tables(
            quality, self.settings, subsampled=self.subsampled, gain=self.gain / TRANSCODE_DISTANCE_SCALE, floor=floor
        )
        planes = [self._quantize(self.luma, 0, tables, asked, self.source_tables[0])]
        for index, plane in enumerate(self.chroma, start=1):
            source = None if self.resampled else self.source_tables[index]
            planes.append(self._quantize(plane, index, tables, asked, source))
        exact = not self.resampled and all(
            np.array_equal(tables[i], self.source_tables[i]) and np.array_equal(planes[i], level)
            for i, level in enumerate([self.luma, *self.chroma])
        )
        return Encoded(self._write(planes, tables[:components]), exact=exact)

    def _quantize(self, plane, index, tables, asked, source_table) -> np.ndarray:
        lam = None if self.settings.rdo_lambda <= 0 else self.weights[index] * self.settings.rdo_lambda
        return quantize_rdo(
            plane,
            tables[index],
            lam,
            symbol_bits=self.settings.symbol_bits,
            source_table=source_table,
            asked_table=asked[index],
        )

    def _write(self, planes: list[np.ndarray], tables: np.ndarray) -> bytes:
        if self.resampled:
            jpeg = jpeglib.from_dct(
                planes[0], planes[1], planes[2], qt=tables.astype(np.uint16), quant_tbl_no=[0, 1, 2]
            )
            jpeg.height, jpeg.width = self.jpeg.height, self.jpeg.width
            jpeg.samp_factor = np.array([[2, 2], [1, 1], [1, 1]])
        else:
            jpeg = self.jpeg
            jpeg.Y = planes[0]
            if len(planes) == 3:
                jpeg.Cb, jpeg.Cr = planes[1], planes[2]
            jpeg.qt = tables.astype(np.uint16)
            jpeg.quant_tbl_no = np.arange(len(planes))
        return write_dct(jpeg, progressive=self.settings.progressive)


def prepare_transcode(
    image: LoadedImage,
    importance: np.ndarray | None,
    roi_strength: float,
    settings: BlockSettings,
    *,
    to_420: bool = True,
) -> PreparedTranscode:
    """Read the source's coefficients, resample its chroma to 4:2:0 (``to_420``, where it is finer),
    and weigh every block (masking x importance).

    Raises :class:`CoefficientsUnreadable` where libjpeg cannot read the coefficients of a file
    Pillow decoded (a damaged header, a missing Huffman table): the pixel route still can.
    """
    assert image.data is not None
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
    chroma = levels[1:]
    source_sub = chroma_subsampling(jpeg.samp_factor) if len(levels) == 3 else (1, 1)
    factors = factors_to_420(source_sub) if len(levels) == 3 and to_420 else None
    if factors is not None:
        chroma = [
            chroma_to_420(plane, tables[index], factors, (stored_h, stored_w), source_sub)
            for index, plane in enumerate(levels[1:], start=1)
        ]
    weights = [weight] + [upsample_blocks(weight, plane.shape[:2]) for plane in chroma]
    return PreparedTranscode(jpeg, levels[0], chroma, factors is not None, tables, weights, gain, settings)
