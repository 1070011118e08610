"""Codec registry: each module defines one or more :class:`Codec` objects and registers them.

To add a codec: create ``bench/codecs/<name>.py`` with a class implementing ``encode`` (RGB
uint8 and a knob value to bytes), ``decode`` and ``knobs`` (the grid spanning about 0.1 to
3 bits per pixel), then call :func:`register` on an instance.
"""

from __future__ import annotations

import importlib
import pkgutil

from focuspress.bench.codecs.base import Codec, Context

_REGISTRY: dict[str, Codec] = {}


def register(codec: Codec) -> Codec:
    _REGISTRY[codec.name] = codec
    return codec


def _load_all() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name != "base":
            importlib.import_module(f"{__name__}.{module.name}")


def available() -> dict[str, Codec]:
    if not _REGISTRY:
        _load_all()
    return dict(_REGISTRY)


def get(name: str) -> Codec:
    codecs = available()
    if name not in codecs:
        raise KeyError(f"unknown codec {name!r}; known: {', '.join(sorted(codecs))}")
    return codecs[name]


__all__ = ["Codec", "Context", "available", "get", "register"]
