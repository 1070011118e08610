"""focuspress: photos compressed where nobody looks.

The Python API (the engine the CLI, daemon and GUI are faces of)::

    import focuspress

    result = focuspress.compress("photo.jpg", quality=80)      # or bytes, or an RGB array
    result.save("out/photo.jpg")                                # atomic
    heat = focuspress.importance_map("photo.jpg")               # HxW float32 in [0, 1]

Names are imported on first use, so ``import focuspress`` (and the CLI's ``--help``) stays fast.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("focuspress")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

_EXPORTS = {
    "compress": "focuspress.engine.api",
    "importance_map": "focuspress.engine.api",
    "CompressOptions": "focuspress.engine.options",
    "CompressResult": "focuspress.engine.results",
    "Engine": "focuspress.engine.api",
    "load_image": "focuspress.engine.io",
    "FocuspressError": "focuspress.engine.errors",
    "InputError": "focuspress.engine.errors",
    "OptionsError": "focuspress.engine.errors",
    "OutputError": "focuspress.engine.errors",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'focuspress' has no attribute {name!r}")
