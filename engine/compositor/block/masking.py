"""Per-block rate-distortion weights: perceptual masking times the importance map.

Errors hide in texture and show in flat areas (the idea behind jpegli's adaptive quantization):
a block's luma activity raises its lambda, so its small coefficients are dropped first. A
3x3 minimum filter keeps edges next to flat sky cheap-to-see, hence protected. The importance
map then scales lambda up in the background and down where people look.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import minimum_filter, uniform_filter


def block_activity(luma_coefficients: np.ndarray) -> np.ndarray:
    """Standard deviation of each 8x8 luma block's pixels, from its AC energy (Parseval)."""
    energy = np.sum(np.square(luma_coefficients, dtype=np.float32), axis=(2, 3))
    energy -= np.square(luma_coefficients[:, :, 0, 0])
    return np.sqrt(np.maximum(energy, 0.0) / 64.0)


def masking_factor(
    activity: np.ndarray, *, strength: float, reference: float = 6.0, lo: float = 0.5, hi: float = 3.0
) -> np.ndarray:
    """Lambda multiplier from activity: (eroded activity / reference) ** strength, clipped.

    A negative strength inverts the rule (flat blocks dropped first); it exists for tuning.
    """
    if strength == 0:
        return np.ones_like(activity)
    eroded = minimum_filter(activity, size=3, mode="nearest")
    smoothed = uniform_filter(eroded, size=3, mode="nearest")
    ratio = np.maximum(smoothed, 0.25) / reference
    return np.clip(np.power(ratio, strength), lo, hi).astype(np.float32)


def block_importance(
    importance: np.ndarray, blocks_y: int, blocks_x: int, block: int, image_size: tuple[int, int] | None = None
) -> np.ndarray:
    """The importance map averaged over each ``block``x``block`` pixel tile of the photo.

    A full-size map (``image_size`` = its shape, or not given) is averaged exactly; a smaller
    one (the map of a preview) is resampled to the photo's tile grid. Tiles beyond the photo
    (MCU padding) repeat the edge.
    """
    h, w = importance.shape
    height, width = image_size or (h, w)
    if (h, w) == (height, width):
        padded = np.pad(
            importance.astype(np.float32), ((0, blocks_y * block - h), (0, blocks_x * block - w)), mode="edge"
        )
        return padded.reshape(blocks_y, block, blocks_x, block).mean(axis=(1, 3))
    import cv2

    tiles_y, tiles_x = -(-height // block), -(-width // block)
    shrinking = tiles_y < h and tiles_x < w
    grid = cv2.resize(
        importance.astype(np.float32),
        (tiles_x, tiles_y),
        interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR,
    )
    return np.pad(grid, ((0, blocks_y - tiles_y), (0, blocks_x - tiles_x)), mode="edge")


def roi_factor(importance_blocks: np.ndarray, *, strength: float, spread: float = 3.0) -> np.ndarray:
    """Lambda multiplier from importance: ``spread ** (strength * (1 - 2 * importance))``.

    At strength 0 every block gets 1; at strength 1 the background's lambda is ``spread``
    times the base and the most important blocks' lambda is 1/``spread`` of it.
    """
    if strength <= 0:
        return np.ones_like(importance_blocks, dtype=np.float32)
    exponent = strength * (1.0 - 2.0 * np.clip(importance_blocks, 0.0, 1.0))
    return np.power(spread, exponent).astype(np.float32)


def upsample_blocks(field: np.ndarray, shape: tuple[int, int], factor: tuple[int, int] | None = None) -> np.ndarray:
    """A per-luma-block field averaged onto a component's block grid ``shape``.

    ``factor``: (vertical, horizontal) luma blocks per block of that component (2, 2 for 4:2:0;
    4 horizontally for 4:1:1); by default the ratio of the grids. The component's blocks can
    reach past the luma blocks (libjpeg pads every component to whole MCUs: 4:1:1 chroma 2 blocks
    wide over 5 luma blocks) or fall short of them; the field is edge-extended or cut to fit."""
    by, bx = field.shape
    if (by, bx) == shape:
        return field
    ry, rx = factor or (max(1, round(by / shape[0])), max(1, round(bx / shape[1])))
    want = (shape[0] * ry, shape[1] * rx)
    fitted = field[: want[0], : want[1]]
    pad = (want[0] - fitted.shape[0], want[1] - fitted.shape[1])
    if pad[0] or pad[1]:
        fitted = np.pad(fitted, ((0, pad[0]), (0, pad[1])), mode="edge")
    return fitted.reshape(shape[0], ry, shape[1], rx).mean(axis=(1, 3))
