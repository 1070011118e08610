"""``focuspress bench latency``: per-stage time of one photo through the engine, warm.

Stages as the daemon runs them: decode (load_image), saliency, compositor (at the default
quality), write (atomic, fsynced). The first round is reported apart (model load and
TensorFlow tracing), then the median of ``repeat`` warm rounds.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

import numpy as np

STAGES = ("decode", "saliency", "compositor", "write")


def time_stages(engine, image: Path, options, folder: Path):
    """One photo through the daemon's stages; returns (ms per stage as an array, loaded image, result)."""
    from focuspress.engine import load_image
    from focuspress.engine.io import atomic_write

    stamps = [time.perf_counter()]
    loaded = load_image(image)
    stamps.append(time.perf_counter())
    importance = engine.importance_maps([loaded.rgb])[0]
    stamps.append(time.perf_counter())
    result = engine.compress_with_map(loaded, importance, options)
    stamps.append(time.perf_counter())
    atomic_write(folder / "out.jpg", result.data)
    stamps.append(time.perf_counter())
    return np.diff(stamps) * 1000.0, loaded, result


def measure(image: Path, *, repeat: int = 5, saliency: str = "combined") -> list[str]:
    t_start = time.perf_counter()
    from focuspress.engine import CompressOptions, Engine

    import_s = time.perf_counter() - t_start
    engine = Engine(saliency=saliency)
    t0 = time.perf_counter()
    _ = engine.model
    load_s = time.perf_counter() - t0
    options = CompressOptions()
    rounds = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeat + 1):
            ms, loaded, result = time_stages(engine, image, options, Path(folder))
            rounds.append(ms)
    first, warm = rounds[0], np.median(np.array(rounds[1:]), axis=0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    names = STAGES
    return [
        f"image: {image.name} {loaded.width}x{loaded.height}, saliency {saliency}, model on {engine.device}",
        f"imports {import_s * 1000:.0f} ms, model load {load_s * 1000:.0f} ms",
        "first round: " + ", ".join(f"{n} {v:.0f} ms" for n, v in zip(names, first)) + f" = {first.sum():.0f} ms",
        f"warm (median of {repeat}): "
        + ", ".join(f"{n} {v:.0f} ms" for n, v in zip(names, warm))
        + f" = {warm.sum():.0f} ms",
        f"output {result.bytes} bytes ({result.bpp:.3f} bpp); peak RSS {peak:.0f} MB",
    ]
