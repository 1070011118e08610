"""The one pipeline: decode -> map -> encode, for a batch of photos, with per-stage timings.

Every face goes through :func:`run`: the Python API (:meth:`Engine.compress`), the CLI and the
daemon (through an executor, which only carries :class:`Work` to where a model is loaded and
:class:`Outcome` back), the GUI and ``bench latency``; ``focuspress map`` through its first two
stages (:func:`load_and_map`), so it shows the map compress uses. The pipeline owns its stages:
the model is asked only for maps (the ``maps`` callable, an engine's), and the encode stage is
:func:`encode` here (the rate-control mode from its registry, then metadata and the JPEG-input
policy). The caller reads the input before (stage ``read``) and writes the output after (stage
``write``), because only it knows where files live and how they must be made durable; the stage
names are :data:`STAGES`, defined here once for metrics, logs and benchmarks.

A bad photo is an :class:`Outcome` with a :class:`Refusal` (a one-line message and a reason
code), never an exception, so one photo cannot stop a batch; a failing model refuses every
photo of its batch the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from focuspress.engine.errors import FocuspressError, InputError, Reason
from focuspress.engine.io.load import LoadedImage, load_image
from focuspress.engine.io.metadata import with_metadata
from focuspress.engine.jpeg_input import is_jpeg_source, never_larger, output_metadata
from focuspress.engine.options import CompressOptions
from focuspress.engine.ratecontrol import rate_control
from focuspress.engine.results import CompressResult, ResultKind, ResultRoute

#: Where a photo's time goes, in order. ``read`` and ``write`` are the caller's (files, journal);
#: ``decode`` includes a big JPEG's deferred full-size decode wherever it happens.
STAGES: tuple[str, ...] = ("read", "decode", "map", "encode", "write")
#: The map stage: importance maps of loaded photos, one model call for a batch (an engine's ``maps_for``).
Maps = Callable[[Sequence[LoadedImage]], list[np.ndarray]]


@dataclass(frozen=True)
class Work:
    """One photo for the pipeline: the file's bytes (or a photo already loaded), a display name for
    messages, how to compress it, and whether the caller wants the decoded photo back (``keep_image``:
    the CLI's ``--metrics`` and ``--save-map``; nobody else holds a batch's full-size pixels)."""

    source: bytes | LoadedImage
    name: str
    options: CompressOptions = field(default_factory=CompressOptions)
    keep_image: bool = False


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
    the work asked to keep it (no second decode).
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


@dataclass
class Mapped:
    """A photo through the first two stages: loaded, with its importance map (or its refusal)."""

    name: str
    image: LoadedImage | None = None
    importance: np.ndarray | None = None
    refusal: Refusal | None = None
    decode_ms: float = 0.0
    map_ms: float = 0.0


def load_and_map(maps: Maps, items: Sequence[Work]) -> list[Mapped]:
    """Decode every photo, then map them all in one model call (a failing model refuses them all)."""
    mapped: list[Mapped] = []
    for item in items:
        t0 = time.perf_counter()
        try:
            image = item.source if isinstance(item.source, LoadedImage) else load_image(item.source, name=item.name)
        except FocuspressError as exc:
            mapped.append(Mapped(item.name, refusal=Refusal.of(exc)))
            continue
        mapped.append(Mapped(item.name, image, decode_ms=(time.perf_counter() - t0) * 1000.0))
    loaded = [m for m in mapped if m.image is not None]
    if loaded:
        t1 = time.perf_counter()
        try:
            importances = maps([m.image for m in loaded if m.image is not None])
        except Exception as exc:  # a model failure is reported per photo; the service stays up
            message = f"saliency model failed: {type(exc).__name__}: {exc}"
            for m in loaded:
                m.refusal, m.image = Refusal(f"{m.name}: {message}", Reason.MODEL_ERROR), None
            return mapped
        map_ms = (time.perf_counter() - t1) * 1000.0 / len(loaded)
        for m, importance in zip(loaded, importances):
            m.importance, m.map_ms = importance, map_ms
    return mapped


def run(maps: Maps, items: Sequence[Work]) -> list[Outcome]:
    """Every photo of ``items`` through decode, map (one model call for the batch) and encode.

    Returns one :class:`Outcome` per item, in order; ``result.timings_ms`` holds the stages this
    function ran (``decode``, ``map``, ``encode``). Each photo is let go once encoded (unless its
    work asks to keep it), so a batch never holds more decoded photos than it must.
    """
    mapped = load_and_map(maps, items)
    outcomes = []
    for index, item in enumerate(items):
        photo = mapped[index]
        mapped[index] = Mapped(photo.name)  # the batch's list lets go of this photo's pixels
        if photo.image is None or photo.importance is None:
            assert photo.refusal is not None
            outcomes.append(Outcome(name=item.name, refusal=photo.refusal))
            continue
        outcomes.append(_encode_stage(item, photo.image, photo.importance, photo.decode_ms, photo.map_ms))
    return outcomes


def _encode_stage(item: Work, image: LoadedImage, importance: np.ndarray, decode_ms: float, map_ms: float) -> Outcome:
    deferred_before = image.deferred_decode_ms
    t0 = time.perf_counter()
    try:
        result = encode(image, importance, item.options)
    except FocuspressError as exc:
        return Outcome(name=item.name, refusal=Refusal.of(exc), notes=image.notes, warnings=image.warnings)
    except Exception as exc:  # a bug: reported with its type, the photo set aside
        message = f"{item.name}: internal error: {type(exc).__name__}: {exc}"
        return refused(item.name, message, Reason.INTERNAL)
    deferred = image.deferred_decode_ms - deferred_before  # the full-size decode the encoder asked for
    result.timings_ms.update(
        decode=decode_ms + deferred, map=map_ms, encode=(time.perf_counter() - t0) * 1000.0 - deferred
    )
    kept = image if item.keep_image else None
    return Outcome(item.name, result, notes=image.notes, warnings=image.warnings, image=kept)


def encode(image: LoadedImage, importance: np.ndarray, options: CompressOptions) -> CompressResult:
    """The encode stage: the rate-control mode (compositor and search), metadata, the JPEG-input policy.

    Raises :class:`FocuspressError` for a photo the options cannot be met for.
    """
    try:
        rate, prepared, settlement = rate_control(options.mode)(image, importance, options)
        data = with_metadata(rate.data, output_metadata(image, options))
        quality, kind = rate.quality, "recompressed"
        route: ResultRoute = prepared.route
        if is_jpeg_source(image):
            assert image.jpeg is not None
            data, kind = never_larger(image, data, options)
            if kind != "recompressed":
                quality = image.jpeg.quality
                route = "source"
            elif rate.encoded.exact:
                quality, kind = image.jpeg.quality, "lossless"  # the source's coefficients, coded smaller
    except MemoryError:
        # A header can claim tens of megapixels in a few KB (found by `bench fuzz`); where the
        # memory runs out, this photo gets a clear refusal and the service goes on.
        raise InputError(
            f"{image.width}x{image.height}: not enough memory to compress this image", reason=Reason.TOO_LARGE
        ) from None
    outcome: ResultKind = kind  # type: ignore[assignment]
    return CompressResult(
        data=data,
        importance=importance,
        quality=quality,
        width=image.width,
        height=image.height,
        input_bytes=image.source_bytes,
        outcome=outcome,
        route=route,
        scores=settlement.scores if settlement is not None and outcome == "recompressed" else None,
        contract=settlement,
    )
