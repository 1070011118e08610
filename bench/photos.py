"""Photo-like test images made on the fly (the tests, the fuzzer and the benchmarks share these).

No shared data needed: smooth gradients, an edge, texture and a little sensor noise, deterministic
for a seed. :func:`synthetic_photo` is plain; :func:`detailed_photo` adds the fine luminance and
chroma structure a camera's photo has (what the DCT route and the chroma choice are tested on).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def synthetic_photo(height: int = 96, width: int = 128, seed: int = 0) -> np.ndarray:
    """HxWx3 uint8: a sine in red, a ramp in green, an edge in blue, with noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 120 + 80 * np.sin(xx / 17.0) + 20 * rng.standard_normal((height, width))
    g = 100 + 0.8 * yy + 10 * rng.standard_normal((height, width))
    b = np.where(xx > width / 2, 200.0, 60.0) + 5 * rng.standard_normal((height, width))
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)


def detailed_photo(height: int = 192, width: int = 256, seed: int = 4) -> np.ndarray:
    """HxWx3 uint8: smooth areas, edges, texture, a disc and a little sensor noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 120 + 70 * np.sin(xx / 23.0) + 30 * np.cos(yy / 7.0) * (xx > width / 3)
    g = 90 + 0.6 * yy + 40 * np.sin(xx / 9.0) * np.cos(yy / 13.0)
    b = np.where((xx - width / 2) ** 2 + (yy - height / 2) ** 2 < (height / 4) ** 2, 210.0, 70.0)
    rgb = np.stack([r, g, b], axis=-1) + 3 * rng.standard_normal((height, width, 3))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def encoded(array: np.ndarray, fmt: str = "PNG", **kwargs) -> bytes:
    """``array`` saved by Pillow in ``fmt``."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **kwargs)
    return buffer.getvalue()
