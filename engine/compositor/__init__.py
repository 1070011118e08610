"""Compositors: how an importance map turns into a JPEG. A registry, like the bench's codecs.

Each compositor is an object with ``prepare(image, importance, options)`` returning a
:class:`Prepared` whose ``encode(quality)`` gives an :class:`Encoded` JPEG at that quality:
everything that does not depend on quality (colour conversion, DCT, weights) is done once, so
rate control can re-encode cheaply. ``continuous`` says whether fractional qualities mean
something (rate control then bisects finely). A compositor owns its own settings (the block
encoder's tuned tables and lambdas live in the ``block`` entry, nowhere else).

* ``block``: steering inside the encoder, block by block (``compositor/block``).
* ``pixel``: the original 2019 method, mixing decoded JPEG qualities per pixel (``pixel.py``).

To add one: write the module, then add its name and import path below.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    import numpy as np

    from focuspress.engine.io.load import LoadedImage
    from focuspress.engine.options import CompressOptions

#: name -> "module:attribute" of a :class:`Compositor` instance (imported on first use).
_REGISTRY: dict[str, str] = {
    "block": "focuspress.engine.compositor.block.compositor:BLOCK",
    "pixel": "focuspress.engine.compositor.pixel:PIXEL",
}
COMPOSITOR_NAMES: tuple[str, ...] = tuple(_REGISTRY)
DEFAULT_COMPOSITOR = "block"

#: How an encode reached its JPEG: ``dct`` (a JPEG source's coefficients requantized on its own
#: grid) or ``pixel`` (pixels transformed and quantized).
Route = Literal["dct", "pixel"]


@dataclass(frozen=True)
class Encoded:
    """One encode's JPEG (no metadata segments yet) and whether it is the source in effect.

    ``exact``: every coefficient and table equals the JPEG source's, so the file is the source
    re-coded losslessly (the never-larger rule reports it as ``lossless``, not ``recompressed``).
    """

    data: bytes
    exact: bool = False

    def __len__(self) -> int:
        return len(self.data)


class TileProbe(Protocol):
    """Tiles of an encode decoded without the whole file (the fidelity contract's fast estimate)."""

    @property
    def grid(self) -> tuple[int, int]: ...

    def probe(self, quality: float, background: float, tiles: list[Any]) -> list[np.ndarray]: ...

    def reference(self, tiles: list[Any]) -> list[np.ndarray]: ...

    def show(self, quality: float, background: float) -> np.ndarray:
        """The whole photo as the encode shows it, decoded (the same pixels as the file's)."""
        ...


class Prepared(Protocol):
    """An image made ready for one compositor: ``encode(quality)`` may be called many times.

    ``background`` > 1 makes the encode cheaper where importance is low (compositors that cannot
    steer that way ignore it). ``tiles``: the prepared image's tile probe, where the compositor has
    one (else the contract scores whole encodes). ``alternative``: the same source prepared the
    other way a per-photo choice could have gone (a camera JPEG's own chroma sampling), or None.
    """

    @property
    def route(self) -> Route: ...

    @property
    def tiles(self) -> TileProbe | None: ...

    @property
    def alternative(self) -> Prepared | None: ...

    def encode(self, quality: float, background: float = 1.0) -> Encoded: ...


class Compositor(Protocol):
    name: str
    continuous: bool

    def prepare(self, image: LoadedImage, importance: np.ndarray, options: CompressOptions) -> Prepared: ...


def get_compositor(name: str) -> Compositor:
    """The registered compositor ``name`` (KeyError names the known ones)."""
    if name not in _REGISTRY:
        raise KeyError(f"unknown compositor {name!r}; known: {', '.join(COMPOSITOR_NAMES)}")
    module, _, attribute = _REGISTRY[name].partition(":")
    compositor: Compositor = getattr(importlib.import_module(module), attribute)
    return compositor


__all__ = [
    "COMPOSITOR_NAMES",
    "DEFAULT_COMPOSITOR",
    "Compositor",
    "Encoded",
    "Prepared",
    "Route",
    "TileProbe",
    "get_compositor",
]
