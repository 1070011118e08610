"""Fit the contract's tile estimate against the full SSIMULACRA2, and report how close it tracks.

    python -m focuspress.training.calibrate_estimate --data ../shared/data/camera-native

For every photo of the camera-native training split (whole photos), prepared for the contract
exactly as the engine does (:func:`focuspress.engine.fidelity.contract.prepare_contract`), at
qualities 86..96 and background multipliers 1..64 around where the contract settles: the raw
pooled tile scores (:class:`TileEstimator` with ``raw=True``) and the full metric of the real
encode, on the whole photo and on the subject's boxes. A line ``raw - full = a * (100 - raw) + b``
is fitted per score (least squares) and printed as the ``BIAS`` to ship in
``engine/fidelity/estimate.py``; the residuals after it, on the training photos and on the
validation photos it never saw, are the estimate's stated error.
"""

from __future__ import annotations

import argparse
import io
from multiprocessing import get_context
from pathlib import Path

import numpy as np

QUALITIES = (86.0, 90.0, 93.0, 96.0)
BACKGROUNDS = (1.0, 8.0, 64.0)


def _points(path_text: str) -> list[tuple[str, float, float]]:
    """(kind, raw estimate, full metric) at every setting for one photo."""
    from PIL import Image

    from focuspress.engine.api import Engine
    from focuspress.engine.fidelity.contract import prepare_contract
    from focuspress.engine.fidelity.estimate import TileEstimator
    from focuspress.engine.io import load_image
    from focuspress.engine.jpeg_input import to_stored_orientation
    from focuspress.engine.metrics.ssimulacra2 import pooled_ssimulacra2, scale_count, ssimulacra2
    from focuspress.engine.options import CompressOptions

    image = load_image(Path(path_text))
    importance = Engine().maps_for([image])[0]
    prepared, subject, stored = prepare_contract(image, importance, CompressOptions())
    probe = prepared.tiles
    if probe is None:
        return []
    estimator = TileEstimator(probe, subject, raw=True)
    reference = to_stored_orientation(image.rgb, image.orientation) if stored else image.rgb
    out = []
    for quality in QUALITIES:
        for background in BACKGROUNDS:
            raw = estimator.scores(quality, background)
            with Image.open(io.BytesIO(prepared.encode(quality, background).data)) as decoded:
                shown = np.asarray(decoded.convert("RGB"))
            out.append(("photo", raw.photo, ssimulacra2(reference, shown)))
            if subject and raw.subject is not None:
                scales = min(scale_count(b.height, b.width) for b in subject)
                full = pooled_ssimulacra2([(b.crop(reference), b.crop(shown)) for b in subject], scales=scales)
                out.append(("subject", raw.subject, full))
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
    from focuspress.training.camera_native import photos

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/camera-native"))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with get_context("spawn").Pool(args.jobs) as pool:
        train = [p for rows in pool.map(_points, [str(p) for p in photos(args.data, "train")]) for p in rows]
        val = [p for rows in pool.map(_points, [str(p) for p in photos(args.data, "val")]) for p in rows]
    bias = {}
    for kind in ("photo", "subject"):
        fitted = fit([(r, f) for k, r, f in train if k == kind])
        bias[kind] = fitted
        for label, rows in (("train", train), ("val", val)):
            errors = residuals([(r, f) for k, r, f in rows if k == kind], fitted)
            print(
                f"{kind} {label}: {len(errors)} points, estimate - full after the fit: mean {errors.mean():+.2f}, "
                f"sd {errors.std():.2f}, p5..p95 {np.percentile(errors, 5):+.2f}..{np.percentile(errors, 95):+.2f}"
            )
    print("BIAS = {" + ", ".join(f'"{k}": ({a:.4f}, {b:.4f})' for k, (a, b) in bias.items()) + "}")


if __name__ == "__main__":
    main()
