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

from dataclasses import dataclass, field, replace

import jpeglib
import numpy as np

from focuspress.engine.compositor import Encoded, Route
from focuspress.engine.compositor.block.encoder import BlockSettings, luma_weights, quantization_tables
from focuspress.engine.compositor.block.masking import block_importance, upsample_blocks
from focuspress.engine.compositor.block.probe import (
    Mosaics,
    Tile,
    code_windows,
    cut_tiles,
    decode_mosaics,
    decode_rgb,
    margin_for,
    plane_slice,
)
from focuspress.engine.compositor.block.quantize import quantize_rdo, stripe_rows
from focuspress.engine.compositor.block.resample import chroma_subsampling, chroma_to_420, factors_to_420
from focuspress.engine.compositor.block.tables import TableTuning
from focuspress.engine.io.jpeg import JpegInfo, annex_k_tables
from focuspress.engine.io.load import LoadedImage
from focuspress.engine.io.native import native_warnings
from focuspress.engine.jpeg_input import to_stored_orientation
from focuspress.engine.jpegfile.levels import clip_to_baseline
from focuspress.engine.jpegfile.reader import read_dct
from focuspress.engine.jpegfile.writer import write_dct

#: Table multipliers, lambda and masking for JPEG sources: the output of
#: ``python -m focuspress.training.tune_tables --camera ../shared/data/camera-native --rounds 2``
#: (objective -25.11 on the 11 training crops: mean SSIMULACRA2 60..90 BD-rate against libjpeg-turbo).
TRANSCODE_TUNING = TableTuning(dc=0.5824, chroma=1.0563, chroma_dc=0.599, high=1.1556, chroma_420=0.2622)
TRANSCODE_LAMBDA = 0.0693
TRANSCODE_MASKING = 0.3846
#: Luma steps relative to a lossless source at the same ``-q`` (calibrated with the tables).
TRANSCODE_DISTANCE_SCALE = 1.1


#: The tuning for software re-saves (:func:`is_software_resave`): round 2's fit, ``python -m
#: focuspress.training.tune_tables --source-jpeg 92 --images 24`` (BSDS500 photos re-saved by
#: libjpeg-turbo at q92 4:2:0; -23.53% on its tuning photos). The camera fit above coarsens such
#: sources' already coarse steps too far (Kodak re-saved at q92: -12.8% instead of -17.9%).
RESAVE_TUNING = TableTuning(dc=0.448, chroma=0.8125, chroma_dc=0.2098, high=0.8889, chroma_420=0.2622)
RESAVE_LAMBDA = 0.041
#: the highest libjpeg quality a re-save of the kind above is taken for
RESAVE_MAX_QUALITY = 92.0


def transcode_settings(base: BlockSettings) -> BlockSettings:
    """``base`` with the tuning fitted on camera files (JPEG sources other than software re-saves)."""
    return replace(base, tuning=TRANSCODE_TUNING, rdo_lambda=TRANSCODE_LAMBDA, masking_strength=TRANSCODE_MASKING)


def resave_settings(base: BlockSettings) -> BlockSettings:
    """``base`` with the tuning fitted on software re-saves (the lossless-source masking)."""
    return replace(base, tuning=RESAVE_TUNING, rdo_lambda=RESAVE_LAMBDA)


def is_software_resave(info: JpegInfo | None) -> bool:
    """Whether a JPEG source is the kind the re-save tuning was fitted on: libjpeg's own Annex K
    tables exactly, at quality 92 or below, 4:2:0 (what Pillow, libjpeg and photo sites write when
    they re-encode). Cameras write their own tables, or Annex K at 93-99, or 4:2:2: none of the 22
    camera-native files is one; the two fits meet at this boundary."""
    if info is None or info.components != 3 or info.subsampling != "420" or info.quality > RESAVE_MAX_QUALITY:
        return False
    return bool(np.array_equal(info.tables, annex_k_tables(info.quality)))


class CoefficientsUnreadable(Exception):
    """libjpeg could not read a JPEG's coefficients (the file still decodes to pixels)."""


def _same_coefficients(levels: np.ndarray, steps: np.ndarray, source: np.ndarray, source_steps: np.ndarray) -> bool:
    """Whether requantized ``levels`` dequantize to exactly the source's coefficients (the same pixels:
    a table may differ where every level of its frequency is zero)."""
    if np.array_equal(steps, source_steps):
        return bool(np.array_equal(levels, source))
    step, source_step = steps.astype(np.int32), source_steps.astype(np.int32)
    stripe = stripe_rows(levels.shape[1])
    for top in range(0, levels.shape[0], stripe):
        rows = slice(top, top + stripe)
        if not np.array_equal(levels[rows].astype(np.int32) * step, source[rows].astype(np.int32) * source_step):
            return False
    return True


def _activity(levels: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Each luma block's pixel standard deviation, from its dequantized AC energy (Parseval)."""
    weights = np.square(steps.astype(np.float32))
    weights[0, 0] = 0.0
    out = np.empty(levels.shape[:2], dtype=np.float32)
    stripe = stripe_rows(levels.shape[1])
    for top in range(0, levels.shape[0], stripe):
        block = levels[top : top + stripe].astype(np.float32)
        out[top : top + stripe] = np.sqrt(np.einsum("abij,ij->ab", np.square(block), weights) / 64.0)
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
    #: the source's own chroma levels (the probe's reference when ``chroma`` was resampled)
    source_chroma: list[np.ndarray]
    #: (vertical, horizontal) luma blocks per block of each plane, output and source
    factors: list[tuple[int, int]]
    source_factors: list[tuple[int, int]]
    #: per plane, each block's importance (0..1): ``background`` raises lambda where it is low
    importance: list[np.ndarray] | None = None
    #: the source's warnings list: libjpeg re-reads the source when the coefficients are written
    warnings: list[str] = field(default_factory=list)

    @property
    def route(self) -> Route:
        return "dct"

    @property
    def subsampled(self) -> bool:
        return bool(self.chroma) and self.chroma[0].size < self.luma.size

    def tables(self, quality: float) -> tuple[np.ndarray, np.ndarray]:
        """(used, asked) tables at ``quality``: never finer than the source's where the grid is its own."""
        floor = np.stack([self.source_tables[min(i, len(self.source_tables) - 1)] for i in range(3)])
        if self.resampled:
            floor[1:] = 1.0  # a resampled chroma block has no source step to respect
        return quantization_tables(
            quality, self.settings, subsampled=self.subsampled, gain=self.gain / TRANSCODE_DISTANCE_SCALE, floor=floor
        )

    def encode(self, quality: float, background: float = 1.0) -> Encoded:
        """Requantize at ``quality``; ``background`` > 1 multiplies lambda where importance is low
        (by ``background ** (1 - importance)``): the subject keeps its steps, the rest gets cheaper."""
        components = 1 + len(self.chroma)
        tables, asked = self.tables(quality)
        planes = self._levels(tables, asked, background)
        exact = not self.resampled and all(
            _same_coefficients(planes[i], tables[i], level, self.source_tables[i])
            for i, level in enumerate([self.luma, *self.chroma])
        )
        return Encoded(self._write(planes, tables[:components]), exact=exact)

    def _levels(self, tables: np.ndarray, asked: np.ndarray, background: float) -> list[np.ndarray]:
        """Every plane's levels at the (used, asked) tables of a quality."""
        planes = [self._quantize(self.luma, 0, tables, asked, background)]
        for index, plane in enumerate(self.chroma, start=1):
            planes.append(self._quantize(plane, index, tables, asked, background))
        return planes

    def _quantize(self, plane, index, tables, asked, background, tile: Tile | None = None) -> np.ndarray:
        factor = self.factors[index]
        weights = self.weights[index] if tile is None else plane_slice(self.weights[index], tile, factor)
        if tile is not None:
            plane = plane_slice(plane, tile, factor)
        lam = None if self.settings.rdo_lambda <= 0 else weights * self.settings.rdo_lambda
        if lam is not None and background != 1.0 and self.importance is not None:
            importance = self.importance[index] if tile is None else plane_slice(self.importance[index], tile, factor)
            lam = lam * np.power(np.float32(background), 1.0 - importance)
        source = None if index > 0 and self.resampled else self.source_tables[index]
        return quantize_rdo(
            plane,
            tables[index],
            lam,
            symbol_bits=self.settings.symbol_bits,
            source_table=source,
            asked_table=asked[index],
        )

    @property
    def tiles(self) -> PreparedTranscode:
        return self

    @property
    def alternative(self) -> PreparedTranscode | None:
        """The source's own chroma sampling, where this one resampled it to 4:2:0."""
        return self.kept_sampling() if self.resampled else None

    def kept_sampling(self) -> PreparedTranscode:
        """The same source with its own chroma sampling (its levels, its steps as the floor)."""
        if not self.resampled:
            return self
        factors = self.source_factors
        weights = [self.weights[0]] + [
            upsample_blocks(self.weights[0], c.shape[:2], factors[i]) for i, c in enumerate(self.source_chroma, 1)
        ]
        importance = None
        if self.importance is not None:
            luma = self.importance[0]
            importance = [luma] + [
                upsample_blocks(luma, c.shape[:2], factors[i]) for i, c in enumerate(self.source_chroma, 1)
            ]
        return replace(
            self,
            chroma=list(self.source_chroma),
            resampled=False,
            weights=weights,
            factors=list(self.source_factors),
            importance=importance,
        )

    @property
    def grid(self) -> tuple[int, int]:
        """Luma blocks that hold the photo (rows, columns): tiles stay inside them."""
        return self.jpeg.height // 8, self.jpeg.width // 8

    @property
    def margin(self) -> int:
        """Blocks around each tile in this sampling's mosaics (``probe.margin_for``)."""
        return margin_for(self.factors)

    def probe(self, quality: float, background: float, tiles: list[Tile]) -> list[np.ndarray]:
        """The tiles as the encode at (``quality``, ``background``) would show them (see ``probe.py``).

        Where the tiles' windows hold as many blocks as the photo (four tiles of a 640x480 snapshot),
        the whole photo is coded and decoded instead, without optimized tables or a re-scan: fewer
        blocks, and the same pixels inside every tile (its window's margin is what makes the
        mosaic's tiles equal the photo's)."""
        window = tiles[0].size + 2 * self.margin if tiles else 0
        rows, cols = self.grid
        if len(tiles) * window * window < rows * cols:
            return decode_mosaics(self.tile_mosaics(quality, background, tiles), tiles, self.grid, self.margin)
        return cut_tiles(self.show(quality, background), tiles)

    def show(self, quality: float, background: float) -> np.ndarray:
        """The whole photo as the encode at (``quality``, ``background``) shows it (RGB, the grid's
        orientation): its levels coded in one pass with standard tables and no re-scan, which decode
        to the same pixels as the file (the contract's exact scoring of photos too small for tiles)."""
        tables, asked = self.tables(quality)
        planes = self._levels(tables, asked, background)
        jpeg = self._coefficient_image(planes, tables[: len(planes)])
        return decode_rgb(write_dct(jpeg, progressive="never", optimize=False))

    def tile_mosaics(
        self, quality: float, background: float, tiles: list[Tile], *, optimize: bool = False, margin: int | None = None
    ) -> Mosaics:
        """The mosaics of ``tiles`` at (``quality``, ``background``); ``optimize``: coded as the real
        file would be (their size then estimates the file's rate there). ``margin``: blocks around
        each tile, a multiple of :attr:`margin` (two samplings compared by their mosaics' sizes must
        code the same blocks)."""
        margin = self.margin if margin is None else margin
        tables, asked = self.tables(quality)
        windows = [tile.window(self.grid, margin)[0] for tile in tiles]
        planes = [[self._quantize(self.luma, 0, tables, asked, background, window) for window in windows]]
        for index, plane in enumerate(self.chroma, start=1):
            planes.append([self._quantize(plane, index, tables, asked, background, window) for window in windows])
        return code_windows(planes, tables[: len(planes)], self.factors, tiles, self.grid, margin, optimize=optimize)

    def reference(self, tiles: list[Tile]) -> list[np.ndarray]:
        """The same tiles of the source, decoded the same way."""
        sources = [self.luma, *self.source_chroma]
        margin = margin_for(self.source_factors)
        windows = [tile.window(self.grid, margin)[0] for tile in tiles]
        planes = [
            [plane_slice(plane, window, self.source_factors[i]) for window in windows]
            for i, plane in enumerate(sources)
        ]
        coded = code_windows(planes, self.source_tables, self.source_factors, tiles, self.grid, margin)
        return decode_mosaics(coded, tiles, self.grid, margin)

    def _write(self, planes: list[np.ndarray], tables: np.ndarray) -> bytes:
        jpeg = self._coefficient_image(planes, tables)
        with native_warnings(self.warnings):
            return write_dct(jpeg, progressive=self.settings.progressive)

    def _coefficient_image(self, planes: list[np.ndarray], tables: np.ndarray) -> jpeglib.DCTJPEG:
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
        return jpeg


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
    assert image.coded is not None
    try:
        with image.native():
            jpeg = read_dct(image.coded)
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
    out_sub = (2, 2) if factors is not None else source_sub
    weights = [weight] + [upsample_blocks(weight, plane.shape[:2], out_sub) for plane in chroma]
    blocks = None
    if importance is not None:
        luma_blocks = block_importance(importance, levels[0].shape[0], levels[0].shape[1], 8, (stored_h, stored_w))
        blocks = [luma_blocks] + [upsample_blocks(luma_blocks, plane.shape[:2], out_sub) for plane in chroma]
    return PreparedTranscode(
        jpeg,
        levels[0],
        chroma,
        factors is not None,
        tables,
        weights,
        gain,
        settings,
        source_chroma=levels[1:],
        factors=[(1, 1)] + [out_sub] * len(chroma),
        source_factors=[(1, 1)] + [source_sub] * len(chroma),
        importance=blocks,
        warnings=image._warnings,
    )
