"""focuspress engine: importance-steered JPEG compression.

>>> from focuspress.engine import compress, importance_map
>>> compress("photo.png", quality=80).save("out/photo.jpg")

Names are imported on first use: the CLI validates options and inputs (``engine.options``,
``engine.io.plan``) without loading numpy's heavier friends or a model.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CompressResult": "focuspress.engine.results",
    "Engine": "focuspress.engine.api",
    "compress": "focuspress.engine.api",
    "importance_map": "focuspress.engine.api",
    "shared_engine": "focuspress.engine.api",
    "CompressOptions": "focuspress.engine.options",
    "FocuspressError": "focuspress.engine.errors",
    "InputError": "focuspress.engine.errors",
    "OptionsError": "focuspress.engine.errors",
    "OutputError": "focuspress.engine.errors",
    "load_image": "focuspress.engine.io",
    "save_map_images": "focuspress.engine.io.map_images",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'focuspress.engine' has no attribute {name!r}")
