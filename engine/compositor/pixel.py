"""The ``pixel`` compositor: the original 2019 method, vectorized. The baseline to beat.

Encode the photo at ten JPEG qualities, take every pixel from the decoded quality that its
importance decile selects, and encode the mixed picture once more. The original looped over
pixels in Python; here each step is one numpy operation.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from focuspress.engine.compositor import Encoded, Route

if TYPE_CHECKING:
    from focuspress.engine.io.load import LoadedImage
    from focuspress.engine.options import CompressOptions

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

    def prepare(self, image: LoadedImage, importance: np.ndarray, options: CompressOptions) -> _PreparedPixel:
        import cv2

        from focuspress.engine.compositor.block.compositor import resolve_subsampling
        from focuspress.engine.jpeg_input import keeps_stored_orientation, to_stored_orientation

        rgb = image.rgb
        if importance.shape != (image.height, image.width):  # a preview's map: per pixel here, so full size
            importance = cv2.resize(importance, (image.width, image.height), interpolation=cv2.INTER_LINEAR)
        if keeps_stored_orientation(image) and image.orientation != 1:  # a JPEG stays as stored, its tag kept
            rgb = to_stored_orientation(rgb, image.orientation)
            importance = to_stored_orientation(importance, image.orientation)
        subsampling = resolve_subsampling(image, "auto" if options.subsampling == "keep" else options.subsampling)
        return _PreparedPixel(rgb, importance, options.roi_for(image.jpeg is not None), subsampling)


class _PreparedPixel:
    def __init__(self, rgb: np.ndarray, importance: np.ndarray, roi_strength: float, subsampling: str) -> None:
        self.rgb, self.importance = rgb, importance
        self.roi_strength, self.subsampling = roi_strength, subsampling

    @property
    def route(self) -> Route:
        return "pixel"

    @property
    def tiles(self) -> None:
        return None  # the 2019 method mixes whole decoded images: no tile of it stands alone

    @property
    def alternative(self) -> None:
        return None

    def encode(self, quality: float, background: float = 1.0) -> Encoded:
        data = encode_pixel(
            self.rgb, self.importance, quality, roi_strength=self.roi_strength, subsampling=self.subsampling
        )
        return Encoded(data)


PIXEL = PixelCompositor()
