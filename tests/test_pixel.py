"""The original method, vectorized."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from focuspress.engine.compositor.pixel import composite, decile_qualities, encode_pixel
from tests.conftest import synthetic_photo


def test_decile_ladder():
    np.testing.assert_array_equal(decile_qualities(80, 0.0), [80] * 10)
    ladder = decile_qualities(100, 1.0)
    assert ladder[0] == 19 and ladder[-1] == 100 and np.all(np.diff(ladder) > 0)


def test_pixels_come_from_their_decile_quality():
    rgb = synthetic_photo(64, 64)
    importance = np.zeros((64, 64), np.float32)
    importance[:, 32:] = 0.95
    mixed = composite(rgb, importance, 90, 1.0, subsampling=0)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90, subsampling=0)
    q90 = np.asarray(Image.open(buf).convert("RGB"))
    np.testing.assert_array_equal(mixed[:, 32:], q90[:, 32:])
    assert not np.array_equal(mixed[:, :32], q90[:, :32])


def test_background_gets_cheaper():
    rgb = synthetic_photo(96, 96)
    importance = np.zeros((96, 96), np.float32)
    plain = encode_pixel(rgb, importance, 85, roi_strength=0.0)
    steered = encode_pixel(rgb, importance, 85, roi_strength=1.0)
    assert len(steered) < len(plain)
