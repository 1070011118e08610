"""Rate-distortion optimized choice of quantization levels, one lambda per block.

JPEG allows one quantization table per component, so spatial adaptation has to happen in the
choice of levels. For each coefficient x (in units of its step) we pick among round(|x|),
round(|x|) - 1 and 0 the level that minimises (x - l)^2 + lambda_b * bits(l), with bits(l)
the magnitude category plus an average Huffman symbol length. DC is always rounded: DC
errors show as blocking.

Why our own: no maintained Python library exposes per-block RDO quantization of given
coefficients (mozjpeg's trellis is internal to its encoder and not driven by a map).

Speed: float32 throughout, the category from the float's exponent bits (no logarithms), and
inputs in stripes of about :data:`STRIPE_BLOCKS` blocks so every temporary stays in cache; the
result is the same as one pass.
"""

from __future__ import annotations

import numpy as np

#: Blocks per stripe. Each of the decision's dozen float32 temporaries then holds at most 128k
#: coefficients (512 KB, in a core's L2 here). On the inputs of the contract's trials and encodes
#: of two camera-native photos cropped to 1920x1080 the decision took 61 ms in stripes of 2048
#: blocks, 107-117 ms in 8192 and 145-188 ms in 32 block rows (7680 blocks of a 1920-pixel plane,
#: the stripe before); a whole encode's levels, over the 22 photos at 1920x1080, 330 ms against
#: 413-461, and over ten of them whole (8-12 MP) 622-642 against 732-871: the levels identical.
STRIPE_BLOCKS = 2048


def stripe_rows(width: int) -> int:
    """Block rows per stripe of a plane ``width`` blocks wide (one at least)."""
    return max(1, STRIPE_BLOCKS // max(1, width))


def _bits(levels: np.ndarray, symbol_bits) -> np.ndarray:
    """Approximate bits to code each non-negative integer level (float32): category + symbol, where
    the category (floor(log2 l) + 1) is read from the float's exponent bits. A zero level's sum
    comes out negative (its exponent field is 0) and is clipped to 0 bits, what a zero costs."""
    category = (levels.view(np.int32) >> 23) - 126
    bits = category.astype(np.float32)
    bits += symbol_bits
    return np.maximum(bits, np.float32(0.0), out=bits)


def _quantize(
    x: np.ndarray, lam: np.ndarray, symbol_bits: np.ndarray, frequency_lambda: np.ndarray | None
) -> np.ndarray:
    """Levels for ``x`` (coefficients already divided by their steps) with per-block ``lam``.

    Only coefficients with |x| > 0.5 have a choice to make (the others round to zero whatever
    lambda is), and at camera qualities those are a small fraction: the decision runs on them
    alone and the rest stay zero.
    """
    flat = x.reshape(-1)
    levels = np.zeros(flat.shape, dtype=np.int16)
    candidates = np.flatnonzero(np.abs(flat) > 0.5)
    value = flat[candidates]
    a = np.abs(value)
    l0 = np.rint(a)
    l1 = l0 - np.float32(1.0)
    if frequency_lambda is None:  # (every frequency at its block's lambda)
        block_lam = lam.reshape(-1)[candidates >> 6]  # 64 coefficients a block
    else:
        block_lam = (lam.reshape(-1, 1) * frequency_lambda.reshape(1, 64)).reshape(-1)[candidates]
    symbol = symbol_bits if symbol_bits.ndim == 0 else symbol_bits.reshape(-1)[candidates & 63]
    cost0 = a - l0
    cost0 *= cost0
    cost0 += _bits(l0, symbol) * block_lam
    cost1 = a - l1
    cost1 *= cost1
    cost1 += _bits(l1, symbol) * block_lam
    best = np.where(cost1 < cost0, l1, l0)
    np.minimum(cost0, cost1, out=cost0)
    best[a * a <= cost0] = 0.0
    levels[candidates] = np.copysign(best, value)
    shaped = levels.reshape(x.shape)
    shaped[:, :, 0, 0] = np.rint(x[:, :, 0, 0])  # DC is always rounded: DC errors show as blocking
    return shaped


def quantize_rdo(
    coefficients: np.ndarray,
    table: np.ndarray,
    block_lambda: np.ndarray | None,
    *,
    symbol_bits=4.0,
    source_table: np.ndarray | None = None,
    asked_table: np.ndarray | None = None,
) -> np.ndarray:
    """Quantize (BY, BX, 8, 8) ``coefficients`` with ``table`` (8, 8) and per-block lambdas.

    ``block_lambda`` of None (or all zero) gives plain rounding, i.e. libjpeg's quantizer.
    ``source_table``: the coefficients are a JPEG's integer levels in that table's steps (the
    DCT route), so they are scaled here, a stripe at a time, instead of as one float copy.
    ``asked_table``: the steps the quality asked for, where ``table`` had to be coarser (a JPEG
    source's floor). The trade-off is measured in the asked steps, so lambda shrinks by
    (asked / used)^2 there: a coefficient held at the source's step is kept as the source has
    it rather than zeroed to save bits the quality asked to spend.
    """
    steps = table.astype(np.float32)
    scale = (source_table.astype(np.float32) / steps) if source_table is not None else 1.0 / steps
    out = np.empty(coefficients.shape, dtype=np.int16)
    plain = block_lambda is None or not np.any(block_lambda > 0)
    symbol = np.asarray(symbol_bits, dtype=np.float32)
    frequency_lambda = None  # (None: 1 at every frequency, decided once here, not per stripe)
    if asked_table is not None:
        shrunk = np.square(np.minimum(asked_table.astype(np.float32) / steps, 1.0))
        frequency_lambda = None if np.all(shrunk == 1.0) else shrunk
    step = stripe_rows(coefficients.shape[1])
    for top in range(0, coefficients.shape[0], step):
        rows = slice(top, top + step)
        x = coefficients[rows].astype(np.float32) * scale
        if plain or block_lambda is None:
            out[rows] = np.rint(x)
        else:
            out[rows] = _quantize(x, block_lambda[rows].astype(np.float32), symbol, frequency_lambda)
    return out
