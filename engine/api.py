"""The engine's public API: an :class:`Engine` holding the model, and the calls Python users make.

The CLI, the daemon and the GUI are thin faces over :meth:`Engine.run` (the one pipeline,
:mod:`focuspress.engine.pipeline`); none of them touches a compositor or a model directly.
:func:`compress` and :func:`importance_map` are the same pipeline for Python callers, on a
shared engine per saliency model. The result type lives in :mod:`focuspress.engine.results`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from focuspress.engine import pipeline
from focuspress.engine.errors import FocuspressError, InputError, Reason
from focuspress.engine.io import LoadedImage, load_image
from focuspress.engine.options import CompressOptions
from focuspress.engine.pipeline import Outcome, Work
from focuspress.engine.results import CompressResult, resize_map
from focuspress.engine.saliency import DEFAULT_SALIENCY, SaliencyModel, load_saliency, model_device

Source = str | Path | bytes | np.ndarray | LoadedImage

__all__ = ["Engine", "compress", "importance_map", "rescan_backend", "shared_engine"]


class Engine:
    """Holds the loaded saliency model; safe to share between threads. Its one job in the pipeline is
    the map stage (:meth:`maps_for`); :meth:`run` is the pipeline with this engine's maps."""

    def __init__(self, saliency: str = DEFAULT_SALIENCY) -> None:
        self.saliency_name = saliency
        self._model: SaliencyModel | None = None

    @property
    def model(self) -> SaliencyModel:
        if self._model is None:
            self._model = load_saliency(self.saliency_name)
        return self._model

    @property
    def device(self) -> str:
        return model_device(self.model)

    def warm_up(self) -> None:
        """Load the model and trace it once, so the first real photo is not slow."""
        self.model.predict_batch([np.zeros((512, 768, 3), np.uint8)])

    def maps_for(self, images: Sequence[LoadedImage]) -> list[np.ndarray]:
        """HxW float32 maps in [0, 1] of loaded photos, in one model call (GPU batching). A big JPEG's
        map is computed on its preview (the map is smooth; the network sees 448 pixels anyway), so
        its full-size pixels need not be decoded."""
        return self.model.predict_batch([map_input(image) for image in images])

    def run(self, items: Sequence[Work]) -> list[Outcome]:
        """The pipeline (:func:`focuspress.engine.pipeline.run`): photos in, outcomes out, in order."""
        return pipeline.run(self.maps_for, items)

    def compress(self, image: LoadedImage, options: CompressOptions | None = None) -> CompressResult:
        """One loaded photo through the pipeline; a refusal is raised as :class:`InputError`."""
        outcome = self.run([Work(image, image_label(image), options or CompressOptions())])[0]
        if outcome.result is None:
            assert outcome.refusal is not None
            raise _as_error(outcome.refusal.message, outcome.refusal.reason)
        return outcome.result


def _as_error(message: str, reason: Reason) -> FocuspressError:
    from focuspress.engine.errors import OptionsError

    if reason == Reason.OPTIONS:
        return OptionsError(message, reason=reason)
    return InputError(message, reason=reason)


def image_label(image: LoadedImage) -> str:
    from focuspress.engine.io.names import display_name

    return display_name(image.source_path) if image.source_path is not None else "<image>"


def map_input(image: LoadedImage) -> np.ndarray:
    """What the importance model looks at: the pixels if decoded, else the preview."""
    return image.rgb if image.decoded else image.preview(long_side=None)


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def shared_engine(saliency: str = DEFAULT_SALIENCY) -> Engine:
    """One :class:`Engine` per saliency model for the whole process (models load once)."""
    with _engines_lock:
        return _engines.setdefault(saliency, Engine(saliency=saliency))


def as_image(source: Source) -> LoadedImage:
    """A path or a file's bytes (decoded with every input rule) or an HxWx3 uint8 RGB array."""
    if isinstance(source, LoadedImage):
        return source
    if isinstance(source, np.ndarray):
        if source.dtype != np.uint8 or source.ndim != 3 or source.shape[2] != 3 or 0 in source.shape:
            raise InputError(
                f"array input must be HxWx3 uint8 RGB, got {source.dtype} {source.shape}", reason=Reason.NOT_AN_IMAGE
            )
        return LoadedImage(rgb=np.ascontiguousarray(source))
    return load_image(source)


def compress(source: Source, *, saliency: str = DEFAULT_SALIENCY, **options: Any) -> CompressResult:
    """Compress one photo: ``source`` is a path, the file's bytes or an RGB array.

    ``options`` are :class:`CompressOptions` fields (``quality=80``, ``target_size="150KB"``...);
    a bad value raises :class:`~focuspress.engine.errors.OptionsError` naming the field.

    >>> result = compress("photo.jpg", quality=80)
    >>> result.save("out/photo.jpg"), result.bytes, result.quality
    """
    parsed = CompressOptions.parse(**options)
    return shared_engine(saliency).compress(as_image(source), parsed)


def importance_map(source: Source, *, saliency: str = DEFAULT_SALIENCY) -> np.ndarray:
    """Where a viewer looks: an HxW float32 map in [0, 1] at the photo's (upright) size."""
    image = as_image(source)
    return resize_map(shared_engine(saliency).maps_for([image])[0], image.height, image.width)


def rescan_backend() -> tuple[str, str]:
    """This machine's progressive re-scan (``turbojpeg``, or ``mozjpeg`` where the system has no
    libturbojpeg) and one line for an operator saying so, with what to install where it is the
    slow one: the daemon logs it at start and exports it, ``--version`` and the latency bench print it."""
    from focuspress.engine.jpegfile import rescan

    return rescan.backend(), rescan.backend_line()
