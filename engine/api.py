"""The engine's one public API: load -> importance map -> composite -> write.

The CLI, the daemon and the GUI are thin faces over :class:`Engine`; none of them touches a
compositor or a model directly. :func:`compress` and :func:`importance_map` are the same
pipeline for Python callers, on a shared engine per saliency model.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from focuspress.engine.compositor import Prepared, get_compositor
from focuspress.engine.compositor.block.encoder import BlockSettings
from focuspress.engine.errors import InputError
from focuspress.engine.io import LoadedImage, atomic_write, load_image
from focuspress.engine.io.metadata import Metadata, lossless_optimize, orientation_only_exif, with_metadata
from focuspress.engine.options import CompressOptions
from focuspress.engine.ratecontrol import RateResult, encode_quality, search_target_score, search_target_size
from focuspress.engine.saliency import DEFAULT_SALIENCY, load_saliency, model_device

Source = str | Path | bytes | np.ndarray | LoadedImage


#: What a JPEG input became: steered output, its own coefficients made smaller, or itself.
OUTCOMES = ("recompressed", "lossless", "kept")


@dataclass
class CompressResult:
    """One compressed photo and what it took: ``data`` is the JPEG file.

    ``outcome``: ``recompressed`` (the steered encode), ``lossless`` (a JPEG input's own
    coefficients, re-scanned smaller) or ``kept`` (a JPEG input's own bytes): the last two when
    recompressing would not have saved ``min_saving``. ``route``: ``dct`` (a JPEG's coefficients
    requantized), ``pixel`` (decoded and encoded), or ``source`` (lossless and kept).
    ``importance`` is the map as computed (on a preview for big photos; see :meth:`importance_at`).
    """

    data: bytes
    importance: np.ndarray
    quality: float
    width: int
    height: int
    input_bytes: int
    timings_ms: dict[str, float] = field(default_factory=dict)
    outcome: str = "recompressed"
    route: str = "pixel"

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

    def __init__(self, saliency: str = DEFAULT_SALIENCY, block_settings: BlockSettings | None = None) -> None:
        self.saliency_name = saliency
        self.block_settings = block_settings or BlockSettings()
        self._model = None

    @property
    def model(self):
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

    def maps_for(self, images: list[LoadedImage]) -> list[np.ndarray]:
        """Maps of loaded photos: a big JPEG's map is computed on its preview (the map is smooth;
        the network sees 448 pixels anyway), so its full-size pixels need not be decoded."""
        return self.importance_maps([map_input(image) for image in images])

    def compress(self, image: LoadedImage, options: CompressOptions | None = None) -> CompressResult:
        return self.compress_batch([image], options)[0]

    def compress_batch(self, images: list[LoadedImage], options: CompressOptions | None = None) -> list[CompressResult]:
        """Compress several photos; their maps are computed in one model call."""
        options = options or CompressOptions()
        start = time.perf_counter()
        maps = self.maps_for(images)
        saliency_ms = (time.perf_counter() - start) * 1000.0 / max(1, len(images))
        results = [self.compress_with_map(image, importance, options) for image, importance in zip(images, maps)]
        for result in results:
            result.timings_ms["saliency"] = saliency_ms
        return results

    def compress_with_map(
        self, image: LoadedImage, importance: np.ndarray, options: CompressOptions | None = None
    ) -> CompressResult:
        """Compress with a map computed elsewhere (the daemon batches maps across files)."""
        options = options or CompressOptions()
        t0 = time.perf_counter()
        try:
            rate, prepared = self._composite(image, importance, options)
            route = getattr(prepared, "route", "pixel")
            # The pixel route turned the pixels upright; the DCT route kept the source's grid and tag.
            data = with_metadata(rate.data, image.metadata.for_output(options.metadata, upright=route == "pixel"))
            quality, outcome = rate.quality, "recompressed"
            if image.jpeg is not None and image.data is not None:
                data, outcome = _never_larger(image, data, options)
                if outcome != "recompressed":
                    quality, route = image.jpeg.quality, "source"
                elif hasattr(prepared, "is_exact") and prepared.is_exact(rate.data):
                    quality, outcome = image.jpeg.quality, "lossless"  # the source's coefficients, coded smaller
        except MemoryError:
            # A header can claim tens of megapixels in a few KB (found by `bench fuzz`); where the
            # memory runs out, this photo gets a clear refusal and the service goes on.
            raise InputError(f"{image.width}x{image.height}: not enough memory to compress this image") from None
        return CompressResult(
            data=data,
            importance=importance,
            quality=quality,
            width=image.width,
            height=image.height,
            input_bytes=image.source_bytes,
            timings_ms={"compositor": (time.perf_counter() - t0) * 1000.0},
            outcome=outcome,
            route=route,
        )

    def _composite(
        self, image: LoadedImage, importance: np.ndarray, options: CompressOptions
    ) -> tuple[RateResult, Prepared]:
        compositor = get_compositor(options.compositor)
        prepared = compositor.prepare(image, importance, options, self.block_settings)
        continuous = compositor.continuous
        if options.target_size is not None:
            rate = search_target_size(prepared.encode, options.target_size, continuous=continuous)
        elif options.target_ssimulacra2 is not None:
            from focuspress.engine.metrics import ssimulacra2

            def score(data: bytes) -> float:
                return ssimulacra2(image.rgb, decode_upright(data))

            rate = search_target_score(prepared.encode, score, options.target_ssimulacra2, continuous=continuous)
        else:
            rate = encode_quality(prepared.encode, options.quality)
        return rate, prepared


def _never_larger(image: LoadedImage, data: bytes, options: CompressOptions) -> tuple[bytes, str]:
    """The steered output if it saves ``min_saving``; else the source made smaller losslessly; else
    the source's own bytes (with the metadata policy applied): a JPEG input never grows."""
    source = image.data
    assert source is not None
    if len(data) <= len(source) * (1.0 - options.min_saving):
        return data, "recompressed"
    metadata = image.metadata.for_output(options.metadata, upright=False)
    if options.metadata == "strip" and image.orientation != 1:
        # The source's pixels stay as stored here, so the one tag that says how to turn them stays.
        metadata = Metadata(icc=metadata.icc, exif=orientation_only_exif(image.orientation))
    try:
        lossless = with_metadata(lossless_optimize(source), metadata)
    except Exception:  # a source mozjpeg cannot re-scan: keeping its bytes is still right
        lossless = None
    if lossless is not None and len(lossless) < len(source):
        return lossless, "lossless"
    if options.metadata == "keep":
        return source, "kept"
    try:
        return with_metadata(source, metadata), "kept"
    except ValueError:
        return source, "kept"


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
            raise InputError(f"array input must be HxWx3 uint8 RGB, got {source.dtype} {source.shape}")
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
