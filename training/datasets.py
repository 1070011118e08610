"""Training data layouts and the fixed validation split.

* ``DIR/images/*.jpg`` + ``DIR/masks/*.png``: salient-object supervision (ECSSD's layout).
* ``DIR/<class>/*.jpg``: class folders (Caltech-256's layout, the original report's data).

The split is fixed by name: every fifth image in sorted order is validation, so a run, a
resumed run and ``focuspress eval-map`` agree on it without a file to ship.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from focuspress.engine.io.load import SUPPORTED_SUFFIXES as IMAGE_SUFFIXES  # the one list of photo suffixes

VALIDATION_EVERY = 5


@dataclass(frozen=True)
class MaskPair:
    image: Path
    mask: Path


def layout(data: Path) -> str:
    """'masks' or 'classes', or raise ValueError saying what was found."""
    if (data / "images").is_dir() and (data / "masks").is_dir():
        return "masks"
    classes = [d for d in data.iterdir() if d.is_dir()] if data.is_dir() else []
    if classes and any(p.suffix.lower() in IMAGE_SUFFIXES for d in classes for p in d.iterdir()):
        return "classes"
    raise ValueError(f"{data}: expected images/ + masks/ folders, or one folder of images per class")


def mask_pairs(data: Path) -> list[MaskPair]:
    pairs = []
    for image in sorted((data / "images").iterdir()):
        if image.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        for suffix in (".png", ".bmp", ".jpg"):
            mask = data / "masks" / (image.stem + suffix)
            if mask.exists():
                pairs.append(MaskPair(image, mask))
                break
    return pairs


def class_samples(data: Path) -> tuple[list[tuple[Path, int]], list[str]]:
    classes = sorted(
        d.name for d in data.iterdir() if d.is_dir() and any(p.suffix.lower() in IMAGE_SUFFIXES for p in d.iterdir())
    )
    samples = []
    for index, name in enumerate(classes):
        for path in sorted((data / name).iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                samples.append((path, index))
    return samples, classes


def split(items: list, part: str) -> list:
    """'train', 'val' or 'all' of a sorted list, by the fixed every-fifth rule."""
    if part == "all":
        return list(items)
    is_val = [(i % VALIDATION_EVERY) == 0 for i in range(len(items))]
    return [item for item, v in zip(items, is_val) if v == (part == "val")]
