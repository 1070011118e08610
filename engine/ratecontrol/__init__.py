"""Rate control: find the quality that meets a size or a perceived-quality target.

Both searches bisect the quality knob of an ``encode(quality) -> bytes`` function, which is
monotone in practice (coarser steps never make files larger). The block compositor takes a
continuous quality, so a size target can be met closely from below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from focuspress.engine.compositor import Encoded
from focuspress.engine.errors import OptionsError

Encoder = Callable[[float], Encoded]
Scorer = Callable[[bytes], float]

SIZE_TOLERANCE = 0.03  # a size target is met when the file is within 3% under it


@dataclass(frozen=True)
class RateResult:
    encoded: Encoded
    quality: float
    iterations: int

    @property
    def data(self) -> bytes:
        return self.encoded.data


def encode_quality(encode: Encoder, quality: float) -> RateResult:
    if not 1 <= quality <= 100:
        raise OptionsError(f"quality must be 1..100, got {quality}")
    return RateResult(encode(quality), float(quality), 1)


def search_target_size(
    encode: Encoder, target_bytes: int, *, continuous: bool = True, max_iterations: int = 18
) -> RateResult:
    """Largest quality whose output is at most ``target_bytes`` (stop once within 3% under)."""
    if target_bytes <= 0:
        raise OptionsError("target size must be positive")
    lo, hi = 1.0, 100.0
    smallest = encode(lo)
    if len(smallest) > target_bytes:
        raise OptionsError(
            f"target {target_bytes} bytes is below the smallest output ({len(smallest)} bytes at quality 1)"
        )
    best = RateResult(smallest, lo, 1)
    top = encode(hi)
    if len(top) <= target_bytes:
        return RateResult(top, hi, 2)
    iterations = 2
    while iterations < max_iterations and hi - lo > (0.01 if continuous else 1.0):
        mid = (lo + hi) / 2.0 if continuous else float(int((lo + hi) // 2))
        if mid in (lo, hi):
            break
        data = encode(mid)
        iterations += 1
        if len(data) <= target_bytes:
            lo, best = mid, RateResult(data, mid, iterations)
            if len(data) >= target_bytes * (1.0 - SIZE_TOLERANCE):
                break
        else:
            hi = mid
    return RateResult(best.encoded, best.quality, iterations)


def search_target_score(
    encode: Encoder, score: Scorer, target: float, *, continuous: bool = True, max_iterations: int = 10
) -> RateResult:
    """Lowest quality whose output scores at least ``target`` (e.g. SSIMULACRA2)."""
    lo, hi = 1.0, 100.0
    best_data = encode(hi)
    iterations = 1
    if score(best_data.data) < target:
        return RateResult(best_data, hi, iterations)  # unreachable target: best we can do
    best_quality = hi
    while iterations < max_iterations and hi - lo > (0.25 if continuous else 1.0):
        mid = (lo + hi) / 2.0 if continuous else float(int((lo + hi) // 2))
        if mid in (lo, hi):
            break
        data = encode(mid)
        iterations += 1
        if score(data.data) >= target:
            hi, best_data, best_quality = mid, data, mid
        else:
            lo = mid
    return RateResult(best_data, float(np.round(best_quality, 2)), iterations)


def parse_size(text: str) -> int:
    """'150KB', '1.5MB', '20000' -> bytes (KB = 1000 bytes, KiB = 1024)."""
    units = {"": 1, "B": 1, "KB": 1000, "K": 1000, "KIB": 1024, "MB": 1000**2, "M": 1000**2, "MIB": 1024**2}
    cleaned = text.strip().upper().replace(" ", "")
    number = cleaned.rstrip("KMGIB")
    unit = cleaned[len(number) :]
    try:
        value = float(number)
    except ValueError:
        raise OptionsError(f"cannot read size {text!r}: use e.g. 150KB, 1.2MB or 20000") from None
    if unit not in units:
        raise OptionsError(f"unknown size unit in {text!r}: use B, KB, KiB, MB or MiB")
    return int(value * units[unit])
