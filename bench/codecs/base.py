"""What a benchmarked codec provides."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass
class Context:
    """Per-image extras a codec may use (focuspress reads the importance map)."""

    path: str
    mask: np.ndarray | None = None


class Codec:
    name: str = ""
    knobs: tuple[float, ...] = ()
    description: str = ""

    def prepare(self, rgb: np.ndarray, context: Context) -> object:
        """Per-image state reused across knob values (default: nothing)."""
        return None

    def encode(self, rgb: np.ndarray, knob: float, state: object) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes) -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
