"""The ``pixel`` compositor: the original 2019 method, vectorized. The baseline to beat.

Encode the photo at ten JPEG qualities, take every pixel from the decoded quality that its
importance decile selects, and encode the mixed picture once more. The original looped over
pixels in Python; here each step is one numpy operation.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

LEVELS = 10


def _roundtrip(rgb: np.ndarray, quality: int, subsampling: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality, subsampling=subsampling)
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))


def decile_qualities(quality: float, roi_strength: float) -> np.ndarray:
    """The ten qualities deciles 0..9 get: from a floor up to ``quality`` for the top decile.

    ``roi_strength`` 1 spans the original's full 10..quality ladder; 0 flattens it to
    ``quality`` everywhere (no steering).
    """
    top = float(np.clip(quality, 1, 100))
    floor = top - float(np.clip(roi_strength, 0, 1)) * max(0.0, top - 10.0)
    return np.round(floor + (top - floor) * (np.arange(LEVELS) + 1) / LEVELS).astype(int)


def composite(
    rgb: np.ndarray, importance: np.ndarray, quality: float, roi_strength: float, subsampling: int = 2
) -> np.ndarray:
    """The mixed picture: each pixel from the decoded JPEG of its decile's quality."""
    qualities = decile_qualities(quality, roi_strength)
    decile = np.clip((importance * LEVELS).astype(int), 0, LEVELS - 1)
    out = np.empty_like(rgb)
    for q in np.unique(qualities):
        mask = np.isin(decile, np.nonzero(qualities == q)[0])
        if mask.any():
            out[mask] = _roundtrip(rgb, int(q), subsampling)[mask]
    return out


def encode_pixel(
    rgb: np.ndarray,
    importance: np.ndarray,
    quality: float,
    *,
    roi_strength: float = 0.5,
    subsampling: str = "420",
) -> bytes:
    """Composite, then write one libjpeg-turbo JPEG (optimized Huffman) at ``quality``."""
    sub = 2 if subsampling == "420" else 0
    mixed = composite(rgb, importance, quality, roi_strength, sub)
    buffer = io.BytesIO()
    Image.fromarray(mixed).save(
        buffer, "JPEG", quality=int(round(np.clip(quality, 1, 100))), optimize=True, subsampling=sub
    )
    return buffer.getvalue()


class PixelCompositor:
    """The registry's view of the 2019 method (integer qualities only: it uses libjpeg's knob)."""

    name = "pixel"
    continuous = False

    def prepare(self, image, importance: np.ndarray, options, settings=None):
        import cv2

        from focuspress.engine.compositor.block.compositor import resolve_subsampling

        rgb = image.rgb
        if importance.shape != rgb.shape[:2]:  # a preview's map: per pixel here, so full size
            importance = cv2.resize(importance, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
        return _PreparedPixel(rgb, importance, options.roi_strength, resolve_subsampling(image, options.subsampling))


class _PreparedPixel:
    route = "pixel"

    def __init__(self, rgb, importance, roi_strength, subsampling) -> None:
        self.args = (rgb, importance)
        self.kwargs = {"roi_strength": roi_strength, "subsampling": subsampling}

    def encode(self, quality: float) -> bytes:
        return encode_pixel(*self.args, quality, **self.kwargs)


PIXEL = PixelCompositor()
