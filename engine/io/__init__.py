"""Image I/O: decoding inputs safely and writing outputs atomically."""

from focuspress.engine.io.load import (
    DEFAULT_BACKGROUND,
    DEFAULT_MAX_PIXELS,
    SUPPORTED_SUFFIXES,
    LoadedImage,
    decode_upright,
    load_image,
)
from focuspress.engine.io.write import atomic_write, refuse_overwrite

__all__ = [
    "DEFAULT_BACKGROUND",
    "DEFAULT_MAX_PIXELS",
    "LoadedImage",
    "SUPPORTED_SUFFIXES",
    "atomic_write",
    "decode_upright",
    "load_image",
    "refuse_overwrite",
]
