"""The executor contract: photo bytes in, an :class:`Outcome` out, the same on every backend.

The caller (the CLI or the daemon) reads inputs, writes outputs and keeps its journal on its
own machine; an executor only turns bytes into a result. So a lost remote worker loses no file.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from focuspress.engine.api import CompressResult, Engine
from focuspress.engine.errors import FocuspressError
from focuspress.engine.io import LoadedImage, load_image
from focuspress.engine.io.load import read_bytes
from focuspress.engine.options import CompressOptions

#: Photos in flight per worker: one computing, one on its way (reads and writes overlap the
#: compute). Sizes the daemon's thread pool on Ray and the CLI's window of pending Ray calls.
IN_FLIGHT_PER_WORKER = 2


class WorkerLost(RuntimeError):
    """The worker running a photo died or became unreachable; the photo itself may be fine."""


@dataclass(frozen=True)
class Work:
    """One photo for an executor: its bytes, a display name for messages, and the options."""

    data: bytes
    name: str
    options: CompressOptions


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


def compress_batch(engine: Engine, items: list[Work], *, keep_image: bool) -> list[Outcome]:
    """Decode each photo, compute the maps of the decodable ones in one model call, compress each.

    Bad input becomes ``Outcome.error``, never an exception; so does a failing model (every photo
    of the batch then says so), so that no failure of ours can stop the caller.
    """
    outcomes: list[Outcome | None] = [None] * len(items)
    loaded: list[tuple[int, LoadedImage, float]] = []
    for index, item in enumerate(items):
        t0 = time.perf_counter()
        try:
            loaded.append((index, load_image(item.data, name=item.name), (time.perf_counter() - t0) * 1000.0))
        except FocuspressError as exc:
            outcomes[index] = Outcome(name=item.name, error=str(exc))
    if loaded:
        t1 = time.perf_counter()
        try:
            maps = engine.maps_for([image for _, image, _ in loaded])
        except Exception as exc:  # a model failure is reported per photo; the service stays up
            for index, _, _ in loaded:
                outcomes[index] = Outcome(name=items[index].name, error=f"saliency model failed: {exc}")
            maps = []
        saliency_ms = (time.perf_counter() - t1) * 1000.0 / len(loaded)
        for (index, image, decode_ms), importance in zip(loaded, maps):
            item = items[index]
            try:
                result = engine.compress_with_map(image, importance, item.options)
            except FocuspressError as exc:
                outcomes[index] = Outcome(name=item.name, error=str(exc))
                continue
            except Exception as exc:  # a bug: reported with its type, the photo set aside
                outcomes[index] = Outcome(name=item.name, error=f"internal error: {type(exc).__name__}: {exc}")
                continue
            result.timings_ms.update(decode=decode_ms, saliency=saliency_ms)
            outcomes[index] = Outcome(item.name, result, notes=image.notes, image=image if keep_image else None)
    return [outcome for outcome in outcomes if outcome is not None]


def read_input(path: Path) -> bytes | str:
    """The file's bytes, or a one-line reason it cannot be read (as the engine words it)."""
    try:
        return read_bytes(path)
    except FocuspressError as exc:
        return str(exc)


class Executor(Protocol):
    """Runs photos; ``slots`` is how many workers can usefully run at once."""

    slots: int
    device: str

    def warm_up(self) -> None:
        """Load the model(s) before the first photo."""

    def run_batch(self, items: list[Work], slot: int = 0) -> list[Outcome]:
        """Photos in one go (one model call where the backend can), blocking; outcomes in order.
        Raises :class:`WorkerLost` when the worker died under them."""

    def map(self, paths: Iterable[Path], options: CompressOptions) -> Iterator[tuple[Path, Outcome]]:
        """Many photos read from this machine; outcomes as they complete."""

    def close(self) -> None: ...
