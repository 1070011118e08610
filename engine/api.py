"""The engine's public API: an :class:`Engine` holding the model, and the results it returns.

The CLI, the daemon and the GUI are thin faces over :meth:`Engine.run` (the one pipeline,
:mod:`focuspress.engine.pipeline`); none of them touches a compositor or a model directly.
:func:`compress` and :func:`importance_map` are the same pipeline for Python callers, on a
shared engine per saliency model.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from focuspress.engine.compositor import Prepared, Route, get_compositor
from focuspress.engine.errors import FocuspressError, InputError, Reason
from focuspress.engine.io import LoadedImage, atomic_write, load_image
from focuspress.engine.io.metadata import with_metadata
from focuspress.engine.jpeg_input import OUTCOMES, Outcome, is_jpeg_source, never_larger, output_metadata
from focuspress.engine.options import CompressOptions
from focuspress.engine.ratecontrol import RateResult, encode_quality, search_target_score, search_target_size
from focuspress.engine.saliency import DEFAULT_SALIENCY, SaliencyModel, load_saliency, model_device

if TYPE_CHECKING:
    from focuspress.engine.fidelity.contract import Settlement
    from focuspress.engine.fidelity.estimate import Scores
    from focuspress.engine.pipeline import Outcome as PipelineOutcome
    from focuspress.engine.pipeline import Work

Source = str | Path | bytes | np.ndarray | LoadedImage
#: How the output's pixels were made: a JPEG's coefficients requantized, pixels encoded, or the source's own.
ResultRoute = Route | str

__all__ = ["OUTCOMES", "CompressResult", "Engine", "compress", "decode_upright", "importance_map", "shared_engine"]


@dataclass
class CompressResult:
    """One compressed photo and what it took: ``data`` is the JPEG file.

    ``outcome``: ``recompressed`` (the steered encode), ``lossless`` (a JPEG input's own
    coefficients, re-scanned smaller) or ``kept`` (a JPEG input's own bytes): the last two when
    recompressing would not have saved ``min_saving``. ``route``: ``dct`` (a JPEG's coefficients
    requantized), ``pixel`` (decoded and encoded), or ``source`` (lossless and kept).
    ``importance`` is the map as computed (on a preview for big photos; see :meth:`importance_at`).
    ``timings_ms``: the pipeline's stages (:data:`focuspress.engine.pipeline.STAGES`).
    """

    data: bytes
    importance: np.ndarray
    quality: float
    width: int
    height: int
    input_bytes: int
    timings_ms: dict[str, float] = field(default_factory=dict)
    outcome: Outcome = "recompressed"
    route: ResultRoute = "pixel"
    #: the fidelity contract's scores of this output against the source (photo and subject; estimated
    #: from tiles on camera-sized photos, exact on small ones): None outside the contract, or when
    #: the output is the source's own coefficients (``lossless``/``kept``: identical pixels)
    scores: Scores | None = None
    #: how the contract settled: "estimated" or "exact" scores, the background multiplier, trials
    contract: Settlement | None = None

    @property
    def bytes(self) -> int:
        return len(self.data)

    @property
    def bpp(self) -> float:
        return 8.0 * len(self.data) / (self.width * self.height)

    @property
    def ratio(self) -> float:
        """Output size over input size (0.25 = four times smaller)."""
        return len(self.data) / self.input_bytes if self.input_bytes else float("nan")

    def decoded(self) -> np.ndarray:
        """The output as any viewer (libjpeg-turbo, via Pillow) shows it: upright."""
        return decode_upright(self.data)

    def importance_at(self, height: int | None = None, width: int | None = None) -> np.ndarray:
        """The importance map resized to the photo (or to ``height`` x ``width``)."""
        return resize_map(self.importance, height or self.height, width or self.width)

    def save(self, path: str | Path) -> Path:
        """Write the JPEG atomically (temp file, fsync, rename); returns the path."""
        path = Path(path)
        atomic_write(path, self.data)
        return path


class Engine:
    """Holds the loaded saliency model; safe to share between threads."""

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
        self.importance_maps([np.zeros((512, 768, 3), np.uint8)])

    def importance_maps(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """HxW float32 maps in [0, 1], one per RGB array, computed in one model call (GPU batching)."""
        return self.model.predict_batch(images)

    def maps_for(self, images: Sequence[LoadedImage]) -> list[np.ndarray]:
        """Maps of loaded photos: a big JPEG's map is computed on its preview (the map is smooth;
        the network sees 448 pixels anyway), so its full-size pixels need not be decoded."""
        return self.importance_maps([map_input(image) for image in images])

    def run(self, items: Sequence[Work], *, keep_image: bool = False) -> list[PipelineOutcome]:
        """The pipeline (:func:`focuspress.engine.pipeline.run`): photos in, outcomes out, in order."""
        from focuspress.engine.pipeline import run

        return run(self, items, keep_image=keep_image)

    def compress(self, image: LoadedImage, options: CompressOptions | None = None) -> CompressResult:
        """One loaded photo through the pipeline; a refusal is raised as :class:`InputError`."""
        from focuspress.engine.pipeline import Work

        outcome = self.run([Work(image, image_label(image), options or CompressOptions())])[0]
        if outcome.result is None:
            assert outcome.refusal is not None
            raise _as_error(outcome.refusal.message, outcome.refusal.reason)
        return outcome.result

    def encode(self, image: LoadedImage, importance: np.ndarray, options: CompressOptions) -> CompressResult:
        """The encode stage: compositor, rate control, metadata and the JPEG-input policy.

        Called by the pipeline (which times it); raises :class:`FocuspressError` for a photo the
        options cannot be met for.
        """
        try:
            rate, prepared, settlement = self._composite(image, importance, options)
            data = with_metadata(rate.data, output_metadata(image, options))
            quality, outcome, route = rate.quality, "recompressed", str(prepared.route)
            if is_jpeg_source(image):
                assert image.jpeg is not None
                data, outcome = never_larger(image, data, options)
                if outcome != "recompressed":
                    quality, route = image.jpeg.quality, "source"
                elif rate.encoded.exact:
                    quality, outcome = image.jpeg.quality, "lossless"  # the source's coefficients, coded smaller
        except MemoryError:
            # A header can claim tens of megapixels in a few KB (found by `bench fuzz`); where the
            # memory runs out, this photo gets a clear refusal and the service goes on.
            raise InputError(
                f"{image.width}x{image.height}: not enough memory to compress this image", reason=Reason.TOO_LARGE
            ) from None
        return CompressResult(
            data=data,
            importance=importance,
            quality=quality,
            width=image.width,
            height=image.height,
            input_bytes=image.source_bytes,
            outcome=outcome,  # type: ignore[arg-type]
            route=route,
            scores=settlement.scores if settlement is not None and outcome == "recompressed" else None,
            contract=settlement,
        )

    def _composite(
        self, image: LoadedImage, importance: np.ndarray, options: CompressOptions
    ) -> tuple[RateResult, Prepared, Settlement | None]:
        if options.mode == "contract":
            from focuspress.engine.fidelity.contract import meet_contract

            return meet_contract(image, importance, options)
        compositor = get_compositor(options.compositor)
        prepared = compositor.prepare(image, importance, options)
        continuous = compositor.continuous
        if options.target_size is not None:
            rate = search_target_size(prepared.encode, options.target_size, continuous=continuous)
        elif options.target_ssimulacra2 is not None:
            from focuspress.engine.metrics import ssimulacra2

            def score(data: bytes) -> float:
                return ssimulacra2(image.rgb, decode_upright(with_metadata(data, output_metadata(image, options))))

            rate = search_target_score(prepared.encode, score, options.target_ssimulacra2, continuous=continuous)
        else:
            assert options.quality is not None
            rate = encode_quality(prepared.encode, options.quality)
        return rate, prepared, None


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


def resize_map(importance: np.ndarray, height: int, width: int) -> np.ndarray:
    """A map brought to ``height`` x ``width`` (bilinear, clipped to [0, 1])."""
    if importance.shape == (height, width):
        return importance
    import cv2

    resized = cv2.resize(importance.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(resized, 0.0, 1.0)


def decode_upright(data: bytes) -> np.ndarray:
    """An output JPEG as a viewer shows it: decoded and turned by its EXIF orientation."""
    from PIL import ImageOps

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray((ImageOps.exif_transpose(image) or image).convert("RGB"))


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
