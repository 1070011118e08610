"""What the contract's background costs: lambda at the subject's tables against coarser tables.

    python -m focuspress.training.background_cost --data ../shared/data/camera-native

JPEG gives each component one quantization table, so the contract codes its background with the
steps its subject's quality asked for and makes it cheaper by the rate-distortion quantizer's
lambda alone (the ``background`` multiplier). This measures the price of that constraint, the
reason the contract's bytes stop where they do (issue 27's 0.6x the mozjpeg search):
each photo of the split as a lossless 1280x960 crop (:func:`focuspress.evaluation.write_crops`),
importance 0 everywhere (all of it background), coded by the shipped block compositor on the
DCT route (1) at quality :data:`SUBJECT_QUALITY` (where camera subjects settle) with background
multipliers 1..64, and (2) at qualities 55..90 with no multiplier (coarser tables, what a photo
with no subject gets). The printed cost is the BD-rate of (1) against (2) over SSIMULACRA2
65..85 (the range a background settles in when the photo scores 80): the bytes the background
pays over what coarser steps would cost it for the same score. About 22 s for 11 photos.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]  # the repository (data default: ../shared/data)

#: the quality of the subject's tables (camera-native's whole photos settle at 90-94)
SUBJECT_QUALITY = 92.0
BACKGROUNDS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
TABLE_QUALITIES = (55.0, 62.0, 70.0, 76.0, 82.0, 86.0, 90.0)
WINDOW = (65.0, 85.0)

Curve = list[tuple[float, float]]


def curves(data: bytes, quality: float = SUBJECT_QUALITY) -> tuple[Curve, Curve]:
    """(bits per pixel, SSIMULACRA2) of the all-background photo ``data`` (a JPEG): coarser tables
    without a multiplier, and ``quality``'s tables with each background multiplier."""
    from focuspress.engine.fidelity.contract import prepare_contract
    from focuspress.engine.io import decode_upright, load_image
    from focuspress.engine.metrics import ssimulacra2
    from focuspress.engine.options import CompressOptions
    from focuspress.evaluation import coded_image

    image = load_image(data)
    reference = image.rgb
    background = np.zeros((image.height, image.width), np.float32)
    prepared, _, _ = prepare_contract(image, background, CompressOptions())  # (the contract's own preparation)
    pixels = reference.shape[0] * reference.shape[1]

    def point(q: float, multiplier: float) -> tuple[float, float]:
        coded = coded_image(prepared.encode(q, multiplier).data, image)
        return 8 * len(coded) / pixels, ssimulacra2(reference, decode_upright(coded))

    tables = [point(q, 1.0) for q in TABLE_QUALITIES]
    lambdas = [point(quality, m) for m in BACKGROUNDS]
    return tables, lambdas


def cost(tables: Curve, lambdas: Curve, window: tuple[float, float] = WINDOW) -> float:
    """BD-rate (%) of the lambda curve against the tables curve where both reach inside ``window``
    (NaN where they do not overlap there: ``bd_rate`` clips to the overlap)."""
    from focuspress.engine.metrics import bd_rate

    a, b = np.array(tables), np.array(lambdas)
    return bd_rate(a[:, 0], a[:, 1], b[:, 0], b[:, 1], window=window)


def main() -> None:
    from focuspress.evaluation import write_crops

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "camera-native")
    parser.add_argument("--split", choices=("train", "val", "all"), default="train")
    parser.add_argument("--photos", type=int, default=None, help="the first N photos of the split")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"no folder {args.data}")
    costs = []
    with tempfile.TemporaryDirectory() as scratch:
        crops = write_crops(args.data, Path(scratch), args.split)[: args.photos]
        if not crops:
            sys.exit(f"no photos of the {args.split} split in {args.data}")
        for crop in crops:
            tables, lambdas = curves(crop.read_bytes())
            costs.append(cost(tables, lambdas))
            lowest = min(score for _, score in lambdas)
            print(f"{crop.stem:28s} background at q{SUBJECT_QUALITY:.0f}: {costs[-1]:+6.1f}% (lowest {lowest:.1f})")
    print(
        f"{len(costs)} photos: the background's lambda at q{SUBJECT_QUALITY:.0f} costs {np.nanmean(costs):+.1f}% "
        f"(median {np.nanmedian(costs):+.1f}%) over coarser tables, SSIMULACRA2 {WINDOW[0]:.0f}..{WINDOW[1]:.0f}"
    )


if __name__ == "__main__":
    main()
