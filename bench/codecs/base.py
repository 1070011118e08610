"""What a benchmarked codec provides."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Context:
    """Per-image extras a codec may use: the ROI mask, and the JPEG source file when the sweep
    starts from one (focuspress recompresses that file; the re-encoders get its decoded pixels)."""

    path: str
    mask: np.ndarray | None = None
    source: bytes | None = None


class Codec:
    name: str = ""
    knobs: tuple[float, ...] = ()
    description: str = ""
    #: a lossless transcode of a JPEG source: one row, its size (the quality is the source's)
    size_only: bool = False

    def prepare(self, rgb: np.ndarray, context: Context) -> object:
        """Per-image state reused across knob values (default: nothing)."""
        return None

    def encode(self, rgb: np.ndarray, knob: float, state: object) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes) -> np.ndarray:
        """As a viewer shows the file: decoded and turned by its EXIF orientation."""
        from focuspress.engine.io import decode_upright

        return decode_upright(data)
