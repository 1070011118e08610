"""Rate-distortion optimized choice of quantization levels, one lambda per block.

JPEG allows one quantization table per component, so spatial adaptation has to happen in the
choice of levels. For each coefficient x (in units of its step) we pick among round(|x|),
round(|x|) - 1 and 0 the level that minimises (x - l)^2 + lambda_b * bits(l), with bits(l)
the magnitude category plus an average Huffman symbol length. DC is always rounded: DC
errors show as blocking.

Why our own: no maintained Python library exposes per-block RDO quantization of given
coefficients (mozjpeg's trellis is internal to its encoder and not driven by a map).
"""

from __future__ import annotations

import numpy as np


def _bits(levels: np.ndarray, symbol_bits: float) -> np.ndarray:
    """Approximate bits to code each level: 0 for zero, else category + symbol length."""
    magnitude = np.abs(levels)
    category = np.where(magnitude > 0, np.floor(np.log2(np.maximum(magnitude, 1))) + 1, 0)
    return np.where(magnitude > 0, category + symbol_bits, 0.0)


def quantize_rdo(
    coefficients: np.ndarray,
    table: np.ndarray,
    block_lambda: np.ndarray | None,
    *,
    symbol_bits: float = 4.0,
) -> np.ndarray:
    """Quantize (BY, BX, 8, 8) ``coefficients`` with ``table`` (8, 8) and per-block lambdas.

    ``block_lambda`` of None (or all zero) gives plain rounding, i.e. libjpeg's quantizer.
    """
    x = coefficients / table.astype(np.float32)
    rounded = np.round(x)
    if block_lambda is None or not np.any(block_lambda > 0):
        return np.ascontiguousarray(rounded, dtype=np.int16)
    sign = np.sign(x)
    ax = np.abs(x)
    l0 = np.abs(rounded)
    l1 = np.maximum(l0 - 1.0, 0.0)
    lam = block_lambda.astype(np.float32)[:, :, None, None]
    cost0 = np.square(ax - l0) + lam * _bits(l0, symbol_bits)
    cost1 = np.square(ax - l1) + lam * _bits(l1, symbol_bits)
    cost_zero = np.square(ax)
    best = np.where(cost1 < cost0, l1, l0)
    best_cost = np.minimum(cost0, cost1)
    best = np.where(cost_zero <= best_cost, 0.0, best)
    levels = sign * best
    levels[:, :, 0, 0] = rounded[:, :, 0, 0]
    return np.ascontiguousarray(levels, dtype=np.int16)
