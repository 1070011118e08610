"""Fit the contract's tile estimate against the full SSIMULACRA2, and report how close it tracks, per size.

    python -m focuspress.training.calibrate_estimate --data ../shared/data/camera-native

For every photo of the camera-native training split, whole and as lossless centre crops at the
sizes IoT and phone cameras write (640x480, 1280x720, 1920x1080), prepared for the contract
exactly as the engine does (:func:`focuspress.engine.fidelity.contract.prepare_contract`), at
qualities and background multipliers around where the contract settles: the raw pooled tile
scores (:class:`TileEstimator` with ``raw=True``) and the full metric of the real encode, on the
whole photo and on the subject (the photo's error maps pooled over the subject's pixels). A line
``raw - full = a * (100 - raw) + b`` is fitted per score (least squares) and printed as the
``BIAS`` to ship in ``engine/fidelity/estimate.py``; the residuals after it, per size and per
background multiplier, on the training photos and on the validation photos it never saw, are the
estimate's stated error. The photo score is measured with 256-pixel tiles at every size
(``photo``) and, where they would cover little of the photo, with the 128-pixel tiles the engine
samples 1080p-class photos with (``photo_small``: ``estimate.SMALL_BELOW_COVERAGE``). Photos too
small for a tile are scored exactly by the contract, and have no points here.
"""

from __future__ import annotations

import argparse
from multiprocessing import get_context
from pathlib import Path

import numpy as np

QUALITIES = (88.0, 91.0, 94.0)
BACKGROUNDS = (1.0, 6.0, 32.0)
#: (width, height) of the crops; None: the whole photo
SIZES: tuple[tuple[int, int] | None, ...] = ((640, 480), (1280, 720), (1920, 1080), None)


def _size_label(size: tuple[int, int] | None) -> str:
    return "whole" if size is None else f"{size[0]}x{size[1]}"


def _points(job: tuple[str, tuple[int, int] | None]) -> list[tuple[str, str, float, float, float]]:
    """(kind, size, background, raw estimate, full metric) at every setting for one photo at one size."""
    import io

    from PIL import Image

    from focuspress.engine.api import Engine
    from focuspress.engine.fidelity.contract import prepare_contract
    from focuspress.engine.fidelity.estimate import (
        TileEstimator,
        covers_little,
        fits_tiles,
        large_design,
        small_design,
    )
    from focuspress.engine.io import load_image
    from focuspress.engine.jpeg_input import to_stored_orientation
    from focuspress.engine.metrics.ssimulacra2 import ssimulacra2_with_region
    from focuspress.engine.options import CompressOptions
    from focuspress.evaluation import lossless_crop

    path_text, size = job
    data = Path(path_text).read_bytes()
    if size is not None:
        with Image.open(io.BytesIO(data)) as whole:
            if whole.size[0] < size[0] or whole.size[1] < size[1]:
                return []
        data = lossless_crop(data, size)
    image = load_image(data)
    importance = Engine().maps_for([image])[0]
    prepared, subject, stored = prepare_contract(image, importance, CompressOptions())
    probe = prepared.tiles
    if probe is None or not fits_tiles(probe.grid):
        return []
    # the 256-pixel photo tiles at every size; the 128-pixel ones too wherever the large ones cover
    # little of the photo (1920x1080 crops and whole photos: wider than where the engine uses them,
    # ``estimate.photo_design``, so that their bias is fitted on both sides of that line)
    estimator = TileEstimator(probe, subject, raw=True, design=large_design(probe.grid))
    small = (
        TileEstimator(probe, subject, raw=True, design=small_design(probe.grid)) if covers_little(probe.grid) else None
    )
    reference = to_stored_orientation(image.rgb, image.orientation) if stored else image.rgb
    weight = subject.weight() if not subject.empty else np.zeros(reference.shape[:2], np.float32)
    label = _size_label(size)
    out = []
    for quality in QUALITIES:
        for background in BACKGROUNDS:
            raw = estimator.scores(quality, background)
            with Image.open(io.BytesIO(prepared.encode(quality, background).data)) as decoded:
                shown = np.asarray(decoded.convert("RGB"))
            photo, region = ssimulacra2_with_region(reference, shown, weight)
            out.append(("photo", label, background, raw.photo, photo))
            if small is not None:
                out.append(("photo_small", label, background, small.scores(quality, background).photo, photo))
            if not subject.empty and raw.subject is not None:
                out.append(("subject", label, background, raw.subject, region))
    return out


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    raw = np.array([p[0] for p in points])
    full = np.array([p[1] for p in points])
    design = np.stack([100.0 - raw, np.ones_like(raw)], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, raw - full, rcond=None)
    return float(a), float(b)


def residuals(points: list[tuple[float, float]], bias: tuple[float, float]) -> np.ndarray:
    a, b = bias
    return np.array([(raw - (a * (100.0 - raw) + b)) - full for raw, full in points])


def main() -> None:
    from focuspress.evaluation import photos

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/camera-native"))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()

    def jobs(split: str) -> list[tuple[str, tuple[int, int] | None]]:
        return [(str(p), size) for p in photos(args.data, split) for size in SIZES]

    with get_context("spawn").Pool(args.jobs) as pool:
        train = [p for rows in pool.map(_points, jobs("train")) for p in rows]
        val = [p for rows in pool.map(_points, jobs("val")) for p in rows]
    bias = {}
    for kind in ("photo", "subject", "photo_small"):
        fitted = fit([(r, f) for k, _, _, r, f in train if k == kind])
        bias[kind] = fitted
        for label, rows in (("train", train), ("val", val)):
            for size in [*(_size_label(s) for s in SIZES), "all"]:
                chosen = [(r, f) for k, z, _, r, f in rows if k == kind and size in (z, "all")]
                if chosen:
                    print(f"{kind} {label} {size}: {_describe(residuals(chosen, fitted))}")
            for background in BACKGROUNDS:
                chosen = [(r, f) for k, _, b, r, f in rows if k == kind and b == background]
                if chosen:
                    print(f"{kind} {label} background {background:g}: {_describe(residuals(chosen, fitted))}")
    print("BIAS = {" + ", ".join(f'"{k}": ({a:.4f}, {b:.4f})' for k, (a, b) in bias.items()) + "}")


def _describe(errors: np.ndarray) -> str:
    return (
        f"{len(errors)} points, estimate - full after the fit: mean {errors.mean():+.2f}, sd {errors.std():.2f}, "
        f"p5..p95 {np.percentile(errors, 5):+.2f}..{np.percentile(errors, 95):+.2f}"
    )


if __name__ == "__main__":
    main()
