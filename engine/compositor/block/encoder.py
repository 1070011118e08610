"""The ``block`` compositor's encoder: quantization that follows the importance map.

pixels -> YCbCr -> (4:2:0) -> 8x8 DCT -> tables -> per-block RDO levels -> Huffman/progressive.
Every decision the map steers happens inside the encoder, so the output is one ordinary JPEG.
The DCT route for JPEG inputs (``transcode.py``) skips the first three steps and shares the
rest: the block weights, the tables and the quantizer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from focuspress.engine.compositor.block.color import downsample_2x2, pad_to_multiple, rgb_to_ycbcr
from focuspress.engine.compositor.block.dct import forward_dct
from focuspress.engine.compositor.block.masking import (
    block_activity,
    block_importance,
    masking_factor,
    roi_factor,
    upsample_blocks,
)
from focuspress.engine.compositor.block.probe import Tile, plane_slice
from focuspress.engine.compositor.block.quantize import quantize_rdo
from focuspress.engine.compositor.block.tables import DEFAULT_TUNING, TableTuning, tables_for
from focuspress.engine.jpegfile.writer import write_jpeg

SUBSAMPLING_CHOICES = ("420", "444")


@dataclass(frozen=True)
class BlockSettings:
    """Encoder knobs; the defaults are the tuned ones (``focuspress.training.tune_tables``)."""

    subsampling: str = "444"
    tables: str = "perceptual"
    tuning: TableTuning = field(default_factory=lambda: DEFAULT_TUNING)
    rdo_lambda: float = 0.0512
    masking_strength: float = 0.5
    roi_spread: float = 3.0
    #: at roi strength 1, the tables get this much finer (distance / (1 + boost)) and the
    #: background's lambda grows by (1 + boost)^2 so it stays as cheap: quality moves to the ROI.
    roi_boost: float = 1.0
    symbol_bits: float = 4.0
    progressive: str = "auto"


@dataclass(frozen=True)
class PreparedImage:
    """Everything about an image that does not depend on quality: computed once per image.

    Rate control re-encodes the same image at many qualities; only quantization and entropy
    coding run again. ``table_floor`` (per component) keeps every step at least as coarse as
    a JPEG source's own: finer steps would only spend bits on its artifacts.
    """

    coefficients: list[np.ndarray]
    block_weight: list[np.ndarray]
    width: int
    height: int
    subsampled: bool
    table_gain: float = 1.0
    table_floor: np.ndarray | None = None
    #: per plane, each block's importance (0..1): an encode's ``background`` raises lambda where it is low
    importance: list[np.ndarray] | None = None

    @property
    def factors(self) -> list[tuple[int, int]]:
        """(vertical, horizontal) luma blocks per block of each plane."""
        chroma = (2, 2) if self.subsampled else (1, 1)
        return [(1, 1)] + [chroma] * (len(self.coefficients) - 1)


def is_greyscale(rgb: np.ndarray) -> bool:
    """True when all three channels are equal: the JPEG then needs one component only."""
    return bool(np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]))


def luma_weights(
    activity: np.ndarray,
    importance: np.ndarray | None,
    roi_strength: float,
    settings: BlockSettings,
    image_size: tuple[int, int],
) -> tuple[np.ndarray, float]:
    """Per-luma-block lambda multipliers (masking x importance) and the tables' ROI gain.

    ``activity`` is each luma block's pixel standard deviation; ``importance`` a map of the
    photo at any resolution (``image_size`` is the photo's (height, width)).
    """
    weight = masking_factor(activity, strength=settings.masking_strength)
    gain = 1.0
    if importance is not None and roi_strength > 0:
        imp = block_importance(importance, activity.shape[0], activity.shape[1], 8, image_size)
        weight = weight * roi_factor(imp, strength=roi_strength, spread=settings.roi_spread)
        gain = 1.0 + settings.roi_boost * roi_strength
        weight = weight * np.power(gain, 2.0 * (1.0 - np.clip(imp, 0.0, 1.0)))
    return weight.astype(np.float32), gain


def prepare(
    rgb: np.ndarray,
    importance: np.ndarray | None,
    roi_strength: float,
    settings: BlockSettings,
    *,
    table_floor: np.ndarray | None = None,
) -> PreparedImage:
    """Colour-convert, transform and weigh every block of ``rgb`` (HxWx3 uint8)."""
    if settings.subsampling not in SUBSAMPLING_CHOICES:
        raise ValueError(f"subsampling must be one of {SUBSAMPLING_CHOICES}")
    height, width = rgb.shape[:2]
    grey = is_greyscale(rgb)
    subsampled = settings.subsampling == "420" and not grey
    mcu = 16 if subsampled else 8
    y, cb, cr = rgb_to_ycbcr(rgb)
    luma = forward_dct(pad_to_multiple(y, mcu, mcu))
    weight, gain = luma_weights(block_activity(luma), importance, roi_strength, settings, (height, width))
    # libjpeg (through jpeglib) takes each component's own block count, ceil(size / 8) for luma,
    # not the MCU-padded one: for sizes that are not multiples of 16 the extra row/column goes.
    luma_blocks = (-(-height // 8), -(-width // 8))
    coefficients = [luma[: luma_blocks[0], : luma_blocks[1]]]
    weights = [weight[: luma_blocks[0], : luma_blocks[1]]]
    if not grey:
        for plane in (cb, cr):
            plane = pad_to_multiple(plane, mcu, mcu)
            if subsampled:
                plane = downsample_2x2(plane)
            coeffs = forward_dct(plane)
            coefficients.append(coeffs)
            weights.append(upsample_blocks(weight, coeffs.shape[:2], (mcu // 8, mcu // 8)))
    blocks = None
    if importance is not None:
        luma_importance = block_importance(importance, luma.shape[0], luma.shape[1], 8, (height, width))
        luma_importance = luma_importance[: luma_blocks[0], : luma_blocks[1]]
        blocks = [luma_importance] + [
            upsample_blocks(luma_importance, c.shape[:2], (mcu // 8, mcu // 8)) for c in coefficients[1:]
        ]
    return PreparedImage(coefficients, weights, width, height, subsampled, gain, table_floor, blocks)


def quantization_tables(
    quality: float, settings: BlockSettings, *, subsampled: bool, gain: float, floor: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(used, asked): integer (3, 8, 8) tables at ``quality``, and the same never finer than
    ``floor`` (a JPEG source's steps, one table per component)."""
    asked = tables_for(settings.tables, quality, settings.tuning, subsampled=subsampled, gain=gain)
    return (np.maximum(asked, floor) if floor is not None else asked), asked


def prepared_tables(prepared: PreparedImage, quality: float, settings: BlockSettings) -> tuple[np.ndarray, np.ndarray]:
    return quantization_tables(
        quality, settings, subsampled=prepared.subsampled, gain=prepared.table_gain, floor=prepared.table_floor
    )


def quantize_plane(
    prepared: PreparedImage,
    index: int,
    tables: tuple[np.ndarray, np.ndarray],
    settings: BlockSettings,
    background: float = 1.0,
    tile: Tile | None = None,
) -> np.ndarray:
    """Levels of plane ``index`` (or of its blocks under ``tile``) at the given (used, asked) tables."""
    used, asked = tables
    factor = prepared.factors[index]
    coeffs, weight = prepared.coefficients[index], prepared.block_weight[index]
    importance = prepared.importance[index] if prepared.importance is not None else None
    if tile is not None:
        coeffs, weight = plane_slice(coeffs, tile, factor), plane_slice(weight, tile, factor)
        importance = plane_slice(importance, tile, factor) if importance is not None else None
    lam = None if settings.rdo_lambda <= 0 else weight * settings.rdo_lambda
    if lam is not None and background != 1.0 and importance is not None:
        lam = lam * np.power(np.float32(background), 1.0 - importance)
    return quantize_rdo(coeffs, used[index], lam, symbol_bits=settings.symbol_bits, asked_table=asked[index])


def encode_prepared(prepared: PreparedImage, quality: float, settings: BlockSettings, background: float = 1.0) -> bytes:
    """Quantize and entropy-code a :class:`PreparedImage` at ``quality`` (1..100, float)."""
    tables = prepared_tables(prepared, quality, settings)
    planes = [quantize_plane(prepared, i, tables, settings, background) for i in range(len(prepared.coefficients))]
    return write_jpeg(
        planes,
        tables[0][: len(planes)],
        prepared.width,
        prepared.height,
        progressive=settings.progressive,
        subsampled=prepared.subsampled,
    )


def encode_block(
    rgb: np.ndarray,
    importance: np.ndarray | None,
    quality: float,
    *,
    roi_strength: float = 0.5,
    settings: BlockSettings | None = None,
    icc_profile: bytes | None = None,
) -> bytes:
    """One-call form: prepare ``rgb`` and encode it at ``quality`` (with ``icc_profile`` if given)."""
    from focuspress.engine.io.metadata import Metadata, with_metadata

    settings = settings or BlockSettings()
    data = encode_prepared(prepare(rgb, importance, roi_strength, settings), quality, settings)
    return with_metadata(data, Metadata(icc=icc_profile)) if icc_profile else data
