"""Colour conversion and chroma subsampling as JFIF defines them (full-range BT.601 YCbCr)."""

from __future__ import annotations

import numpy as np

_RGB_TO_YCBCR = np.array(
    [
        [0.299, 0.587, 0.114],
        [-0.168735892, -0.331264108, 0.5],
        [0.5, -0.418687589, -0.081312411],
    ],
    dtype=np.float32,
)


def rgb_to_ycbcr(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HxWx3 uint8 RGB to three float32 planes, chroma centred on 128 (JFIF)."""
    ycc = rgb.astype(np.float32) @ _RGB_TO_YCBCR.T
    return ycc[..., 0], ycc[..., 1] + 128.0, ycc[..., 2] + 128.0


def pad_to_multiple(plane: np.ndarray, multiple_y: int, multiple_x: int) -> np.ndarray:
    """Replicate the last row/column so the plane tiles into whole blocks (as libjpeg does)."""
    h, w = plane.shape
    ph = (-h) % multiple_y
    pw = (-w) % multiple_x
    if ph == 0 and pw == 0:
        return plane
    return np.pad(plane, ((0, ph), (0, pw)), mode="edge")


def downsample_2x2(plane: np.ndarray) -> np.ndarray:
    """Box-average 2x2 neighbourhoods (the plane's sides must be even)."""
    h, w = plane.shape
    return plane.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3), dtype=np.float32)
