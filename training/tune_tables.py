"""Fit the block encoder's table multipliers and lambda on the training pool (never on Kodak).

    python -m focuspress.training.tune_tables --data ../shared/data/train/bsds500 --images 10

Coordinate search: each parameter in turn is multiplied up and down by a step; a change is
kept when it lowers the mean BD-rate (SSIMULACRA2 50..90) against libjpeg-turbo (Pillow,
optimize=True, 4:2:0); the step halves when no change helps. Prints every trial and, at the
end, the values to put into ``engine/compositor/block/encoder.py`` / ``tables.py``. Runs on
2 processes; about 30 s per trial on 10 BSDS500 photos.

JPEG sources (the DCT route's :data:`TRANSCODE_TUNING` and :data:`TRANSCODE_LAMBDA`)::

    python -m focuspress.training.tune_tables --source-jpeg 92 --images 24

Each photo is re-saved by libjpeg-turbo at that quality (4:2:0); the anchor re-encodes its
decoded pixels, focuspress requantizes its coefficients, both are scored against the decoded
source over SSIMULACRA2 60..90 (the window the benchmark reports); the search starts from
the lossless-source tuning and also moves ``chroma_420`` (a 4:2:0 source's chroma steps).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from dataclasses import replace
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image

from focuspress.engine.compositor.block.encoder import BlockSettings, encode_prepared, prepare
from focuspress.engine.compositor.block.tables import TableTuning
from focuspress.engine.io import load_image
from focuspress.engine.metrics import bd_rate, ssimulacra2

ROOT = Path(__file__).resolve().parents[1]  # the repository (data default: ../shared/data)

ANCHOR_QUALITIES = (20, 30, 40, 50, 60, 70, 80, 85, 90, 94, 97)
OUR_QUALITIES = (15, 25, 35, 45, 55, 65, 75, 82, 88, 92, 96)
WINDOW = (50.0, 90.0)
TUNING_KEYS = ("dc", "chroma", "chroma_dc", "high", "chroma_420")
SETTING_KEYS = ("rdo_lambda", "masking_strength")


def _decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def anchor_curve(path: str) -> list[tuple[float, float]]:
    rgb = load_image(Path(path)).rgb
    points = []
    for q in ANCHOR_QUALITIES:
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, "JPEG", quality=q, optimize=True, subsampling=2)
        points.append((8 * buffer.tell() / (rgb.shape[0] * rgb.shape[1]), ssimulacra2(rgb, _decode(buffer.getvalue()))))
    return points


def our_curve(args: tuple[str, dict]) -> list[tuple[float, float]]:
    path, params = args
    settings = settings_from(params)
    rgb = load_image(Path(path)).rgb
    prepared = prepare(rgb, None, 0.0, settings)
    points = []
    for q in OUR_QUALITIES:
        data = encode_prepared(prepared, q, settings)
        points.append((8 * len(data) / (rgb.shape[0] * rgb.shape[1]), ssimulacra2(rgb, _decode(data))))
    return points


def jpeg_source(path: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(load_image(Path(path)).rgb).save(buffer, "JPEG", quality=quality, subsampling=2)
    return buffer.getvalue()


def anchor_curve_jpeg(args: tuple[str, int]) -> list[tuple[float, float]]:
    path, quality = args
    reference = _decode(jpeg_source(path, quality))
    points = []
    for q in ANCHOR_QUALITIES:
        buffer = io.BytesIO()
        Image.fromarray(reference).save(buffer, "JPEG", quality=q, optimize=True, subsampling=2)
        size = 8 * buffer.tell() / (reference.shape[0] * reference.shape[1])
        points.append((size, ssimulacra2(reference, _decode(buffer.getvalue()))))
    return points


def our_curve_jpeg(args: tuple[str, int, dict]) -> list[tuple[float, float]]:
    from focuspress.engine.compositor.block.transcode import prepare_transcode

    path, quality, params = args
    source = jpeg_source(path, quality)
    reference = _decode(source)
    prepared = prepare_transcode(load_image(source), None, 0.0, settings_from(params))
    points = []
    for q in OUR_QUALITIES:
        data = prepared.encode(q)
        points.append(
            (8 * len(data) / (reference.shape[0] * reference.shape[1]), ssimulacra2(reference, _decode(data)))
        )
    return points


def settings_from(params: dict) -> BlockSettings:
    tuning = TableTuning(**{k: params[k] for k in TUNING_KEYS if k in params})
    return replace(BlockSettings(), tuning=tuning, **{k: params[k] for k in SETTING_KEYS if k in params})


def mean_bd(anchors, ours, window=WINDOW) -> float:
    values = [
        bd_rate(np.array(a)[:, 0], np.array(a)[:, 1], np.array(o)[:, 0], np.array(o)[:, 1], window=window)
        for a, o in zip(anchors, ours)
    ]
    return float(np.nanmean(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "train" / "bsds500")
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--step", type=float, default=1.25)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--source-jpeg", type=int, default=None, help="tune the DCT route on JPEGs of this quality")
    args = parser.parse_args()
    files = sorted(str(p) for p in args.data.iterdir() if p.suffix.lower() in (".jpg", ".png"))[: args.images]
    if not files:
        sys.exit(f"no images in {args.data}")
    base = BlockSettings()
    params = {k: getattr(base.tuning, k) for k in TUNING_KEYS}
    params.update({k: getattr(base, k) for k in SETTING_KEYS})
    fixed = {}
    if args.source_jpeg is not None:
        # 4:2:0 sources only: their chroma moves through chroma_420, so 4:4:4 sources keep the
        # lossless-source chroma steps (this search never sees one).
        fixed = {"chroma": params.pop("chroma")}
    window = WINDOW if args.source_jpeg is None else (60.0, 90.0)
    with Pool(args.jobs) as pool:
        if args.source_jpeg is None:
            anchors = pool.map(anchor_curve, files)
        else:
            anchors = pool.map(anchor_curve_jpeg, [(f, args.source_jpeg) for f in files])

        def evaluate(p: dict) -> float:
            p = {**fixed, **p}
            if args.source_jpeg is None:
                return mean_bd(anchors, pool.map(our_curve, [(f, p) for f in files]), window)
            return mean_bd(anchors, pool.map(our_curve_jpeg, [(f, args.source_jpeg, p) for f in files]), window)

        best = evaluate(params)
        print(f"start {json.dumps(params)} -> {best:+.2f}%", flush=True)
        step = args.step
        for round_index in range(args.rounds):
            improved = False
            for key in params:
                for factor in (step, 1 / step):
                    moved = False
                    while True:  # a line search: keep going while it helps
                        trial = dict(params)
                        trial[key] = round(params[key] * factor, 4) if params[key] else factor - 1
                        score = evaluate(trial)
                        print(f"round {round_index} {key}={trial[key]} -> {score:+.2f}%", flush=True)
                        if score >= best - 0.05:
                            break
                        best, params, improved, moved = score, trial, True, True
                    if moved:
                        break
            if not improved:
                step = 1 + (step - 1) / 2
        params = {**fixed, **params}
        print(f"best {json.dumps(params)} -> {best:+.2f}% (SSIMULACRA2 BD-rate {window[0]:.0f}..{window[1]:.0f})")


if __name__ == "__main__":
    main()
