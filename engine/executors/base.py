"""The executor contract: bytes in, an :class:`Outcome` out, the same on every backend."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from focuspress.engine.api import CompressOptions, CompressResult, Engine
from focuspress.engine.errors import FocuspressError
from focuspress.engine.io import LoadedImage, load_image
from focuspress.engine.io.load import read_bytes


class WorkerLost(RuntimeError):
    """The worker running a photo died or became unreachable; the photo itself may be fine."""


@dataclass
class Outcome:
    """What one photo became: ``result``, or ``error`` (a one-line reason) when it is unusable."""

    name: str
    result: CompressResult | None = None
    error: str | None = None
    notes: tuple[str, ...] = ()
    image: LoadedImage | None = None  # kept by the local executor only (saves a second decode)

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def width(self) -> int:
        return self.result.width if self.result else 0

    @property
    def height(self) -> int:
        return self.result.height if self.result else 0


def compress_bytes(engine: Engine, data: bytes, name: str, options: CompressOptions, *, keep_image: bool) -> Outcome:
    """Decode and compress one photo's bytes; bad input becomes ``Outcome.error``, never an exception."""
    t0 = time.perf_counter()
    try:
        image = load_image(data, name=name)
    except FocuspressError as exc:
        return Outcome(name=name, error=str(exc))
    decode_ms = (time.perf_counter() - t0) * 1000.0
    try:
        result = engine.compress(image, options)
    except FocuspressError as exc:
        return Outcome(name=name, error=str(exc))
    result.timings_ms["decode"] = decode_ms
    return Outcome(name=name, result=result, notes=image.notes, image=image if keep_image else None)


def read_input(path: Path) -> bytes | str:
    """The file's bytes, or a one-line reason it cannot be read (as the engine words it)."""
    try:
        return read_bytes(path)
    except FocuspressError as exc:
        return str(exc)


class Executor(Protocol):
    """Runs photos; ``slots`` is how many can usefully run at once."""

    slots: int
    device: str

    def warm_up(self) -> None:
        """Load the model(s) before the first photo."""

    def run(self, data: bytes, name: str, options: CompressOptions, slot: int = 0) -> Outcome:
        """One photo, blocking. Raises :class:`WorkerLost` when the worker died under it."""

    def map(self, paths: Iterable[Path], options: CompressOptions) -> Iterator[tuple[Path, Outcome]]:
        """Many photos read from this machine; outcomes as they complete."""

    def close(self) -> None: ...
