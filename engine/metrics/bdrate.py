"""Bjontegaard delta rate: the average bitrate difference at equal quality.

Log-rate is interpolated as a function of quality with monotone piecewise cubic (PCHIP)
curves, as in the revised BD computation (JVET/AOM CTC), and integrated over the overlap of
both curves' quality ranges, optionally clipped to a window of useful quality.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import PchipInterpolator


def _monotone(rate: np.ndarray, quality: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points sorted by quality, without repeats and without non-finite ones (an exact copy of
    the reference has infinite PSNR: no curve passes through it)."""
    finite = np.isfinite(quality) & np.isfinite(rate) & (rate > 0)
    rate, quality = rate[finite], quality[finite]
    order = np.argsort(quality)
    q = quality[order]
    r = np.log(rate[order])
    keep = np.concatenate([[True], np.diff(q) > 1e-9])
    return q[keep], r[keep]


def bd_rate(
    anchor_rate,
    anchor_quality,
    test_rate,
    test_quality,
    window: tuple[float, float] | None = None,
) -> float:
    """Percent rate change of ``test`` against ``anchor`` (negative: test is smaller).

    Returns NaN when the curves do not overlap (inside ``window``) or have under 2 points.
    """
    qa, ra = _monotone(np.asarray(anchor_rate, float), np.asarray(anchor_quality, float))
    qt, rt = _monotone(np.asarray(test_rate, float), np.asarray(test_quality, float))
    if len(qa) < 2 or len(qt) < 2:
        return float("nan")
    lo, hi = max(qa[0], qt[0]), min(qa[-1], qt[-1])
    if window is not None:
        lo, hi = max(lo, window[0]), min(hi, window[1])
    if hi - lo <= 1e-9:
        return float("nan")
    fa = PchipInterpolator(qa, ra).antiderivative()
    ft = PchipInterpolator(qt, rt).antiderivative()
    mean_diff = ((ft(hi) - ft(lo)) - (fa(hi) - fa(lo))) / (hi - lo)
    return float((np.exp(mean_diff) - 1.0) * 100.0)
