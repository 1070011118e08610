"""Run-length-aware rate-distortion quantization (a vectorized cousin of mozjpeg's trellis).

For each coefficient x (in units of its quantization step) we pick a level l among
round(|x|), round(|x|) - 1 and 0, minimising (x - l)^2 + lambda_b * bits(l | run), where bits
come from the image's own symbol statistics (what optimized Huffman coding will pay): the
(run, size) symbol's code length plus the magnitude bits, with ZRL for runs of 16 or more.
Then each block's tail is cut where dropping the last coefficients saves more rate than it
costs distortion (the end-of-block decision). Two passes: plain rounding gives the first
statistics, the first RDO pass the second.

Blocks are processed together: one numpy step per zigzag position, so a 768x512 photo takes
tens of milliseconds. No maintained library exposes this on given coefficients (mozjpeg's
trellis lives inside its encoder and cannot take a per-block lambda), hence our own.
"""

from __future__ import annotations

import numpy as np

# JPEG zigzag order: ZIGZAG[i] is the raster index of the i-th coefficient in scan order.
ZIGZAG = np.array(
    [
        0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
        12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
        35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
        58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
    ]
)  # fmt: skip
MAX_CODE_BITS = 16.0


_SIZE_LUT = np.array([0] + [int(v).bit_length() for v in range(1, 2048)], dtype=np.int64)


def _size(levels: np.ndarray) -> np.ndarray:
    """JPEG magnitude category: bits needed for |level| (0 for zero), at most 10 for AC."""
    mag = np.minimum(np.abs(levels), 2047).astype(np.int64)
    return np.minimum(_SIZE_LUT[mag], 10)


def symbol_costs(levels_zz: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Code lengths (bits) for AC (run, size) symbols, EOB and ZRL from these levels' statistics."""
    n = levels_zz.shape[0]
    counts = np.ones((16, 11), np.float64)  # Laplace prior: unseen symbols stay codable
    eob = 1.0
    zrl = 1.0
    run = np.zeros(n, np.int64)
    for k in range(1, 64):
        lv = levels_zz[:, k]
        nz = lv != 0
        r = run[nz]
        zrl += float(np.sum(r // 16))
        np.add.at(counts, (r % 16, _size(lv[nz])), 1.0)
        run = np.where(nz, 0, run + 1)
    eob += float(np.sum(run > 0))
    total = counts.sum() + eob + zrl
    costs = np.clip(-np.log2(counts / total), 1.0, MAX_CODE_BITS)
    return (
        costs,
        float(np.clip(-np.log2(eob / total), 1.0, MAX_CODE_BITS)),
        float(np.clip(-np.log2(zrl / total), 1.0, MAX_CODE_BITS)),
    )


def _rdo_pass(x: np.ndarray, lam: np.ndarray, costs: np.ndarray, zrl_bits: float) -> np.ndarray:
    """Greedy level choice along the zigzag scan; x and the result are (N, 64) in scan order."""
    n = x.shape[0]
    ax = np.abs(x)
    l0 = np.round(ax)
    l1 = np.maximum(l0 - 1.0, 0.0)
    levels = np.zeros_like(x)
    run = np.zeros(n, np.int64)
    for k in range(1, 64):
        a0, a1, ak = l0[:, k], l1[:, k], ax[:, k]
        base = (run // 16) * zrl_bits
        r = run % 16
        rate0 = base + costs[r, _size(a0)] + _size(a0)
        rate1 = np.where(a1 > 0, base + costs[r, _size(a1)] + _size(a1), 0.0)
        j0 = np.square(ak - a0) + lam * rate0
        j1 = np.square(ak - a1) + lam * rate1
        jz = np.square(ak)
        choice = np.where(j1 < j0, a1, a0)
        jbest = np.minimum(j0, j1)
        choice = np.where((jz <= jbest) | (a0 == 0), 0.0, choice)
        levels[:, k] = choice
        run = np.where(choice > 0, 0, run + 1)
    levels = np.sign(x) * levels
    levels[:, 0] = np.round(x[:, 0])  # DC untouched: its errors show as blocking
    return levels


def _cut_tails(x: np.ndarray, levels: np.ndarray, lam: np.ndarray, costs: np.ndarray, zrl_bits: float) -> None:
    """Zero each block's tail from the point where doing so lowers D + lambda * R (in place)."""
    n = x.shape[0]
    rate = np.zeros((n, 64))
    run = np.zeros(n, np.int64)
    for k in range(1, 64):
        lv = levels[:, k]
        nz = lv != 0
        size = _size(lv)
        rate[:, k] = np.where(nz, (run // 16) * zrl_bits + costs[run % 16, size] + size, 0.0)
        run = np.where(nz, 0, run + 1)
    ddist = np.square(x) - np.square(x - levels)  # distortion added by zeroing each coefficient
    ddist[:, 0] = 0.0
    delta = ddist - lam[:, None] * rate  # per coefficient: its share of the tail's cost change
    tail = np.cumsum(delta[:, ::-1], axis=1)[:, ::-1]  # tail[:, k] = sum over positions >= k
    tail[:, 0] = 0.0
    nonzero = levels != 0
    tail = np.where(nonzero, tail, np.inf)
    tail[:, 0] = np.inf
    start = np.argmin(tail, axis=1)
    cut = tail[np.arange(n), start] < 0
    mask = cut[:, None] & (np.arange(64)[None, :] >= start[:, None])
    levels[mask] = 0.0


def quantize_trellis(
    coefficients: np.ndarray, table: np.ndarray, block_lambda: np.ndarray, *, passes: int = 2
) -> np.ndarray:
    """Quantize (BY, BX, 8, 8) ``coefficients`` with ``table`` and one lambda per block."""
    by, bx = coefficients.shape[:2]
    x = (coefficients / table.astype(np.float32)).reshape(by * bx, 64)[:, ZIGZAG].astype(np.float64)
    lam = np.broadcast_to(block_lambda, (by, bx)).reshape(-1).astype(np.float64)
    levels = np.round(x)
    for _ in range(max(1, passes)):
        costs, _eob_bits, zrl_bits = symbol_costs(levels)
        levels = _rdo_pass(x, lam, costs, zrl_bits)
        _cut_tails(x, levels, lam, costs, zrl_bits)
    raster = np.empty_like(levels)
    raster[:, ZIGZAG] = levels
    return np.ascontiguousarray(raster.reshape(by, bx, 8, 8), dtype=np.int16)
