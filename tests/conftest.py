"""Shared fixtures: small synthetic photos made on the fly, and the shared data folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from focuspress.bench.photos import detailed_photo, synthetic_photo
from focuspress.bench.photos import encoded as encode

__all__ = ["ROOT", "SHARED", "SAMPLE", "detailed_photo", "encode", "synthetic_photo"]  # what the tests import

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SAMPLE = ROOT / "samples" / "astronaut.png"


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
