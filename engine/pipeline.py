"""The one pipeline: decode -> map -> encode, for a batch of photos, with per-stage timings.

Every face goes through :func:`run`: the Python API (:meth:`Engine.compress`), the CLI and the
daemon (through an executor, which only carries :class:`Work` to where a model is loaded and
:class:`Outcome` back), the GUI and ``bench latency``. The caller reads the input before
(stage ``read``) and writes the output after (stage ``write``), because only it knows where
files live and how they must be made durable; the stage names are :data:`STAGES`, defined here
once for metrics, logs and benchmarks.

A bad photo is an :class:`Outcome` with a :class:`Refusal` (a one-line message and a reason
code), never an exception, so one photo cannot stop a batch; a failing model refuses every
photo of its batch the same way.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from focuspress.engine.errors import FocuspressError, Reason
from focuspress.engine.io.load import LoadedImage, load_image
from focuspress.engine.options import CompressOptions

if TYPE_CHECKING:
    from focuspress.engine.api import CompressResult, Engine

#: Where a photo's time goes, in order. ``read`` and ``write`` are the caller's (files, journal);
#: ``decode`` includes a big JPEG's deferred full-size decode wherever it happens.
STAGES: tuple[str, ...] = ("read", "decode", "map", "encode", "write")


@dataclass(frozen=True)
class Work:
    """One photo for the pipeline: the file's bytes (or a photo already loaded), a display name for
    messages, and how to compress it."""

    source: bytes | LoadedImage
    name: str
    options: CompressOptions = field(default_factory=CompressOptions)


@dataclass(frozen=True)
class Refusal:
    """Why a photo produced no output: ``message`` for people, ``reason`` for metrics and logs."""

    message: str
    reason: Reason

    @classmethod
    def of(cls, exc: FocuspressError) -> Refusal:
        return cls(str(exc), exc.reason)


@dataclass
class Outcome:
    """What one photo became: ``result``, or ``refusal`` when it is unusable.

    ``notes``: what was converted on the way in (alpha flattened, CMYK...); ``warnings``: what a
    decoder complained about (damaged data it worked around). ``image`` is the loaded photo where
    the caller asked to keep it (the CLI's ``--metrics`` and ``--save-map``: no second decode).
    """

    name: str
    result: CompressResult | None = None
    refusal: Refusal | None = None
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    image: LoadedImage | None = None

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def error(self) -> str | None:
        return self.refusal.message if self.refusal is not None else None

    @property
    def reason(self) -> Reason | None:
        return self.refusal.reason if self.refusal is not None else None


def refused(name: str, message: str, reason: Reason) -> Outcome:
    return Outcome(name=name, refusal=Refusal(message, reason))


def run(engine: Engine, items: Sequence[Work], *, keep_image: bool = False) -> list[Outcome]:
    """Every photo of ``items`` through decode, map (one model call for the batch) and encode.

    Returns one :class:`Outcome` per item, in order; ``result.timings_ms`` holds the stages this
    function ran (``decode``, ``map``, ``encode``).
    """
    outcomes: list[Outcome | None] = [None] * len(items)
    loaded: list[tuple[int, LoadedImage, float]] = []
    for index, item in enumerate(items):
        t0 = time.perf_counter()
        try:
            image = item.source if isinstance(item.source, LoadedImage) else load_image(item.source, name=item.name)
        except FocuspressError as exc:
            outcomes[index] = Outcome(name=item.name, refusal=Refusal.of(exc))
            continue
        loaded.append((index, image, (time.perf_counter() - t0) * 1000.0))
    if loaded:
        t1 = time.perf_counter()
        try:
            maps = engine.maps_for([image for _, image, _ in loaded])
        except Exception as exc:  # a model failure is reported per photo; the service stays up
            message = f"saliency model failed: {type(exc).__name__}: {exc}"
            for index, _, _ in loaded:
                outcomes[index] = refused(items[index].name, f"{items[index].name}: {message}", Reason.MODEL_ERROR)
            maps = []
        map_ms = (time.perf_counter() - t1) * 1000.0 / len(loaded)
        for (index, image, decode_ms), importance in zip(loaded, maps):
            outcomes[index] = _encode(engine, items[index], image, importance, decode_ms, map_ms, keep_image)
    return [outcome for outcome in outcomes if outcome is not None]


def _encode(engine: Engine, item: Work, image: LoadedImage, importance, decode_ms, map_ms, keep_image) -> Outcome:
    deferred_before = image.deferred_decode_ms
    t0 = time.perf_counter()
    try:
        result = engine.encode(image, importance, item.options)
    except FocuspressError as exc:
        return Outcome(name=item.name, refusal=Refusal.of(exc), notes=image.notes, warnings=image.warnings)
    except Exception as exc:  # a bug: reported with its type, the photo set aside
        message = f"{item.name}: internal error: {type(exc).__name__}: {exc}"
        return refused(item.name, message, Reason.INTERNAL)
    deferred = image.deferred_decode_ms - deferred_before  # the full-size decode the encoder asked for
    result.timings_ms.update(
        decode=decode_ms + deferred, map=map_ms, encode=(time.perf_counter() - t0) * 1000.0 - deferred
    )
    return Outcome(item.name, result, notes=image.notes, warnings=image.warnings, image=image if keep_image else None)
