"""Shared fixtures: small synthetic photos made on the fly, and the shared data folder."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SAMPLE = ROOT / "samples" / "astronaut.png"


def synthetic_photo(height: int = 96, width: int = 128, seed: int = 0) -> np.ndarray:
    """A photo-like image: smooth gradients, an edge, and texture (deterministic)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 120 + 80 * np.sin(xx / 17.0) + 20 * rng.standard_normal((height, width))
    g = 100 + 0.8 * yy + 10 * rng.standard_normal((height, width))
    b = np.where(xx > width / 2, 200.0, 60.0) + 5 * rng.standard_normal((height, width))
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)


def encode(array: np.ndarray, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **kwargs)
    return buffer.getvalue()


@pytest.fixture
def photo() -> np.ndarray:
    return synthetic_photo()


@pytest.fixture
def sample_path() -> Path:
    return SAMPLE


@pytest.fixture
def kodak_dir() -> Path:
    path = SHARED / "kodak"
    if not path.is_dir():
        pytest.skip(f"shared data absent: {path}")
    return path
