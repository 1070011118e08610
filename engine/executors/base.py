"""The executor contract: :class:`~focuspress.engine.pipeline.Work` in, an
:class:`~focuspress.engine.pipeline.Outcome` out, the same on every backend.

An executor only carries work to where a model is loaded and brings the outcome back; the
pipeline itself is :meth:`focuspress.engine.api.Engine.run`, wherever it runs. The caller (the
CLI or the daemon) reads inputs, writes outputs and keeps its journal on its own machine, so a
lost remote worker loses no file.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from focuspress.engine.errors import FocuspressError
from focuspress.engine.io.load import read_bytes
from focuspress.engine.io.names import display_name
from focuspress.engine.options import CompressOptions
from focuspress.engine.pipeline import Outcome, Refusal, Work

#: Photos in flight per worker: one computing, one on its way (reads and writes overlap the
#: compute). Sizes the daemon's thread pool on Ray and the CLI's window of pending Ray calls.
IN_FLIGHT_PER_WORKER = 2


class WorkerLost(RuntimeError):
    """The worker running a photo died or became unreachable; the photo itself may be fine."""


def read_input(path: Path) -> tuple[Work | None, Outcome | None, float]:
    """Read ``path`` for the pipeline: (the work, None, read ms) or (None, its refusal, read ms)."""
    t0 = time.perf_counter()
    name = display_name(path)
    try:
        data = read_bytes(path)
    except FocuspressError as exc:
        return None, Outcome(name=name, refusal=Refusal.of(exc)), (time.perf_counter() - t0) * 1000.0
    return Work(data, name), None, (time.perf_counter() - t0) * 1000.0


def read_each(paths: Iterable[Path], options: CompressOptions) -> Iterator[tuple[Path, Work | Outcome, float]]:
    """Every path read for an executor's ``map``: (path, its work with ``options``, read ms), or (path,
    its refusal, read ms) for a file that could not be read."""
    for path in paths:
        work, refusal, read_ms = read_input(path)
        if work is None:
            assert refusal is not None
            yield path, refusal, read_ms
        else:
            yield path, replace(work, options=options), read_ms


def with_read_time(outcome: Outcome, read_ms: float) -> Outcome:
    if outcome.result is not None:
        outcome.result.timings_ms["read"] = read_ms
    return outcome


class Executor(Protocol):
    """Runs photos; ``slots`` is how many workers can usefully run at once."""

    slots: int

    @property
    def device(self) -> str: ...

    def warm_up(self) -> None:
        """Load the model(s) before the first photo."""

    def run_batch(self, items: list[Work], slot: int = 0) -> list[Outcome]:
        """Photos in one go (one model call where the backend can), blocking; outcomes in order.
        Raises :class:`WorkerLost` when the worker died under them."""
        ...

    def map(
        self, paths: Iterable[Path], options: CompressOptions, *, keep_image: bool = False
    ) -> Iterator[tuple[Path, Outcome]]:
        """Many photos read from this machine; outcomes as they complete. ``keep_image``: the outcomes
        carry the decoded photos (where the photo is decoded here: a remote worker sends back only
        the JPEG and the map, and the caller loads the photo again if it needs it)."""
        ...

    def close(self) -> None: ...
