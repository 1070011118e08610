"""What every importance-map model provides."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class SaliencyModel(Protocol):
    """Maps an HxWx3 uint8 photo to an HxW float32 importance map in [0, 1]."""

    name: str

    def predict(self, rgb: np.ndarray) -> np.ndarray: ...

    def predict_batch(self, images: list[np.ndarray]) -> list[np.ndarray]: ...


def normalize(values: np.ndarray) -> np.ndarray:
    """Stretch to [0, 1]; a constant map becomes all zeros (nothing stands out)."""
    values = values.astype(np.float32)
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-6:
        return np.zeros_like(values)
    return (values - lo) / (hi - lo)


def resize_map(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of a small float map to the image size (OpenCV, fast and exact at edges)."""
    import cv2

    return cv2.resize(values.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


class UniformSaliency:
    """Everything equally important: the block compositor then steers by masking alone."""

    name = "none"

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        return np.full(rgb.shape[:2], 0.5, dtype=np.float32)

    def predict_batch(self, images: list[np.ndarray]) -> list[np.ndarray]:
        return [self.predict(image) for image in images]
