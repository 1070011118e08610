"""8x8 block DCT with scipy.fft: the orthonormal DCT-II equals JPEG's FDCT scaling exactly."""

from __future__ import annotations

import numpy as np
from scipy.fft import dctn, idctn

BLOCK = 8
#: threads scipy.fft may use for one transform: every core (-1) in a process of its own; a worker
#: process sharing the machine sets its share (``executors/processes.py``), since threads beyond
#: it only wait on each other (the daemon's two workers spent 4% more CPU a photo with every core).
FFT_WORKERS = -1


def fft_workers() -> int:
    """The threads a transform may use now (see :data:`FFT_WORKERS`)."""
    return FFT_WORKERS


def to_blocks(plane: np.ndarray) -> np.ndarray:
    """(H, W) with H, W multiples of 8 to (H/8, W/8, 8, 8) tiles."""
    h, w = plane.shape
    return plane.reshape(h // BLOCK, BLOCK, w // BLOCK, BLOCK).transpose(0, 2, 1, 3)


def from_blocks(blocks: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_blocks`."""
    bh, bw = blocks.shape[:2]
    return blocks.transpose(0, 2, 1, 3).reshape(bh * BLOCK, bw * BLOCK)


def forward_dct(plane: np.ndarray) -> np.ndarray:
    """Level-shift by 128 and transform every 8x8 block: returns (H/8, W/8, 8, 8) float32."""
    return dctn(to_blocks(plane) - 128.0, axes=(2, 3), norm="ortho", workers=fft_workers()).astype(np.float32)


def inverse_dct(coefficients: np.ndarray) -> np.ndarray:
    """Back to the (unshifted) pixel plane; used by tests and by the rate-distortion search."""
    return from_blocks(idctn(coefficients, axes=(2, 3), norm="ortho", workers=fft_workers())) + 128.0
