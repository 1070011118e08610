"""Calibrate the block encoder's quality knob against libjpeg-turbo's (same feel, smaller files).

    python -m focuspress.training.calibrate_quality --data ../shared/data/train/bsds500

For each libjpeg quality, finds the encoder distance whose mean SSIMULACRA2 over the photos
equals libjpeg-turbo's (Pillow, 4:2:0) at that quality, and prints the (quality, distance)
points that ``engine/compositor/block/tables.py`` interpolates (log-linear). Photos 10..21 of
the folder are used (0..9 tune the tables). Below libjpeg quality 20 the encoder's lowest
distance already exceeds libjpeg's quality, so those points are extrapolated by hand.
"""

from __future__ import annotations

import argparse
import io
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image

from focuspress.engine.compositor.block.encoder import BlockSettings, prepare
from focuspress.engine.compositor.block.quantize import quantize_rdo
from focuspress.engine.compositor.block.tables import integer_tables, tables_at_distance
from focuspress.engine.io import load_image
from focuspress.engine.jpegfile.writer import write_jpeg
from focuspress.engine.metrics import ssimulacra2

ROOT = Path(__file__).resolve().parents[1]  # the repository (data default: ../shared/data)

DISTANCES = (40.0, 28.0, 20.0, 15.0, 12.0, 9.0, 7.0, 5.5, 4.5, 3.5, 2.8, 2.2, 1.7, 1.3, 1.0, 0.7, 0.4)
LIBJPEG_QUALITIES = (20, 25, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95)


def _tables_at(distance: float, settings: BlockSettings) -> np.ndarray:
    return integer_tables(tables_at_distance(distance, settings.tuning))


def _scores(path: str) -> tuple[list[float], list[float]]:
    rgb = load_image(Path(path)).rgb
    settings = BlockSettings()
    prepared = prepare(rgb, None, 0.0, settings)
    ours = []
    for distance in DISTANCES:
        tables = _tables_at(distance, settings)
        planes = [
            quantize_rdo(c, tables[i], w * settings.rdo_lambda)
            for i, (c, w) in enumerate(zip(prepared.coefficients, prepared.block_weight))
        ]
        data = write_jpeg(planes, tables[: len(planes)], prepared.width, prepared.height, progressive="never")
        ours.append(ssimulacra2(rgb, np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))))
    anchor = []
    for quality in LIBJPEG_QUALITIES:
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, "JPEG", quality=quality, optimize=True, subsampling=2)
        anchor.append(ssimulacra2(rgb, np.asarray(Image.open(buffer).convert("RGB"))))
    return ours, anchor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "train" / "bsds500")
    args = parser.parse_args()
    files = sorted(str(p) for p in args.data.iterdir() if p.suffix.lower() in (".jpg", ".png"))[10:22]
    with Pool(2) as pool:
        results = pool.map(_scores, files)
    ours = np.mean([r[0] for r in results], axis=0)
    anchor = np.mean([r[1] for r in results], axis=0)
    print("quality  libjpeg-SSIMULACRA2  distance")
    for quality, score in zip(LIBJPEG_QUALITIES, anchor):
        # DISTANCES fall, so scores rise along the list: interpolate log-distance at equal score
        distance = float(np.exp(np.interp(score, ours, np.log(np.array(DISTANCES)))))
        print(f"{quality:7d}  {score:19.1f}  {distance:8.2f}")


if __name__ == "__main__":
    main()
