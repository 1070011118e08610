"""Rate control: how each photo's size is decided, as a registry keyed by the options' mode.

:func:`rate_control` gives the entry for a mode (``CompressOptions.mode``): ``contract`` (the
default: :func:`focuspress.engine.fidelity.contract.meet_contract`), ``quality``, ``size`` and
``score`` (``modes.py``). Each takes the photo, its importance map and the options, and returns
an :data:`Encoding`: the rate's result, the prepared image it came from, and the contract's
settlement where there is one. A new mode is a function and a line in :data:`_REGISTRY` (and its
name in ``options.Mode``). The searches below bisect the quality knob of an ``encode(quality)``
function, which is monotone in practice (coarser steps never make files larger); the block
compositor takes a continuous quality, so a size target can be met closely from below.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from focuspress.engine.compositor import Encoded
from focuspress.engine.errors import OptionsError

if TYPE_CHECKING:
    from focuspress.engine.compositor import Prepared
    from focuspress.engine.fidelity.contract import Settlement

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


#: What a rate-control mode returns: the rate's result, the prepared image, the contract's settlement.
Encoding = tuple[RateResult, "Prepared", "Settlement | None"]
RateControl = Callable[[Any, np.ndarray, Any], Encoding]

#: mode -> "module:function" (imported on first use: the contract needs the fidelity package)
_REGISTRY: dict[str, str] = {
    "contract": "focuspress.engine.fidelity.contract:meet_contract",
    "quality": "focuspress.engine.ratecontrol.modes:fixed_quality",
    "size": "focuspress.engine.ratecontrol.modes:target_size",
    "score": "focuspress.engine.ratecontrol.modes:target_score",
}
RATE_CONTROL_MODES: tuple[str, ...] = tuple(_REGISTRY)


def rate_control(mode: str) -> RateControl:
    """The registered rate control for ``mode`` (KeyError names the known ones)."""
    if mode not in _REGISTRY:
        raise KeyError(f"unknown rate-control mode {mode!r}; known: {', '.join(RATE_CONTROL_MODES)}")
    module, _, attribute = _REGISTRY[mode].partition(":")
    entry: RateControl = getattr(importlib.import_module(module), attribute)
    return entry


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
