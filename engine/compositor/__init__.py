"""Compositors: how an importance map turns into a JPEG. A registry, like the bench's codecs.

Each compositor is a module that provides ``prepare(image, importance, options, settings)``
returning a :class:`Prepared` whose ``encode(quality)`` gives the JPEG bytes at that quality:
everything that does not depend on quality (colour conversion, DCT, weights) is done once, so
rate control can re-encode cheaply. ``continuous`` says whether fractional qualities mean
something (rate control then bisects finely).

* ``block``: steering inside the encoder, block by block (``compositor/block``).
* ``pixel``: the original 2019 method, mixing decoded JPEG qualities per pixel (``pixel.py``).

To add one: write the module, then add its name and import path below.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

#: name -> "module:attribute" of an object with ``prepare`` and ``continuous`` (imported on first use).
_REGISTRY: dict[str, str] = {
    "block": "focuspress.engine.compositor.block.compositor:BLOCK",
    "pixel": "focuspress.engine.compositor.pixel:PIXEL",
}
COMPOSITOR_NAMES: tuple[str, ...] = tuple(_REGISTRY)


class Prepared(Protocol):
    """An image made ready for one compositor: ``encode(quality)`` may be called many times."""

    def encode(self, quality: float) -> bytes: ...


class Compositor(Protocol):
    name: str
    continuous: bool

    def prepare(self, image: Any, importance: Any, options: Any, settings: Any) -> Prepared: ...


def get_compositor(name: str) -> Compositor:
    """The registered compositor ``name`` (KeyError names the known ones)."""
    if name not in _REGISTRY:
        raise KeyError(f"unknown compositor {name!r}; known: {', '.join(COMPOSITOR_NAMES)}")
    module, _, attribute = _REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), attribute)


__all__ = ["COMPOSITOR_NAMES", "Compositor", "Prepared", "get_compositor"]
