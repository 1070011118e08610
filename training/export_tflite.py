"""Export the trained importance map (backbone + decoder) to a ``.tflite`` file for LiteRT.

    python -m focuspress.training.export_tflite            # writes engine/saliency/weights/saliency.tflite

Why: on a CPU the engine then runs the map with LiteRT (``ai-edge-litert``, a 0.2 s import)
instead of TensorFlow (5 s to import, 6 s to build the Keras model, 500 MB), so a one-shot
``focuspress compress`` starts in about a second. TensorFlow stays the runtime for training
and for GPUs. The file is built only from the shipped weights (``efficientnet_lite0.npz`` and
``saliency_head.npz``): running this again gives the same map (float16 weights, float32
arithmetic; the converter's output bytes may differ between TensorFlow versions).

The network takes a fixed working size (:data:`WORKING_SIZE`, photos letterboxed into it)
and any batch size, so a GPU host maps a batch of photos of any sizes in one call. The
export checks itself against the Keras model on generated and (when present) Kodak photos
and fails if the largest difference of the 0..1 map exceeds :data:`TOLERANCE`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from focuspress.engine.saliency.network import TFLITE_PATH, WORKING_SIZE, keras_network, working_batch

#: Allowed difference between the Keras and the LiteRT map (0..1 scale). Float16 weights (half the
#: file of float32) move the folded batch-norm weights slightly: measured on 12 Kodak photos, mean
#: 0.0007, 99th percentile 0.011, max 0.07 (a float32 export matches exactly, at 12 MB).
TOLERANCE_MEAN = 0.002
TOLERANCE_MAX = 0.1


def export(target: Path = TFLITE_PATH) -> bytes:
    from focuspress.engine.saliency.tf_runtime import tensorflow

    tf = tensorflow()
    model = keras_network()
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]  # weights stored as float16, computed in float32
    data = converter.convert()
    target.write_bytes(data)
    return data


def check(target: Path, photos: list[np.ndarray]) -> tuple[float, float]:
    """(mean, max) |Keras - LiteRT| of the 0..1 map over ``photos`` (at the working size)."""
    from focuspress.engine.saliency.network import LiteRtNetwork

    keras = keras_network()
    lite = LiteRtNetwork(target)
    batch, _ = working_batch(photos)
    difference = np.abs(keras(batch, training=False).numpy()[..., 0] - lite(batch))
    return float(difference.mean()), float(difference.max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=TFLITE_PATH)
    parser.add_argument("--kodak", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared/data/kodak")
    args = parser.parse_args()
    data = export(args.output)
    photos = _photos(args.kodak)
    mean, largest = check(args.output, photos)
    print(f"wrote {args.output} ({len(data) / 1e6:.1f} MB), working size {WORKING_SIZE[1]}x{WORKING_SIZE[0]}")
    print(
        f"|Keras - LiteRT| on {len(photos)} photos: mean {mean:.5f} (tolerance {TOLERANCE_MEAN}), "
        f"max {largest:.4f} (tolerance {TOLERANCE_MAX})"
    )
    if mean > TOLERANCE_MEAN or largest > TOLERANCE_MAX:
        sys.exit(1)


def _photos(kodak: Path) -> list[np.ndarray]:
    from focuspress.engine.io import load_image

    rng = np.random.default_rng(0)
    photos = [rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)]
    if kodak.is_dir():
        photos += [load_image(path).rgb for path in sorted(kodak.glob("*.png"))[:12]]
    return photos


if __name__ == "__main__":
    main()
