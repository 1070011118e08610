"""The engine's one public API: load -> saliency -> composite -> write.

The CLI, the daemon and the GUI are thin faces over :class:`Engine`; none of them touches a
compositor or a model directly.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from focuspress.engine.compositor.block.encoder import BlockSettings, encode_prepared, prepare
from focuspress.engine.compositor.pixel import encode_pixel
from focuspress.engine.errors import InputError, OptionsError
from focuspress.engine.io import LoadedImage, atomic_write
from focuspress.engine.ratecontrol import RateResult, encode_quality, search_target_score, search_target_size
from focuspress.engine.saliency import DEFAULT_SALIENCY, SALIENCY_CHOICES, load_saliency, model_device
from PIL import Image

COMPOSITORS = ("block", "pixel")


@dataclass(frozen=True)
class CompressOptions:
    """What the user asks for. Exactly one of quality / target_size / target_ssimulacra2 rules."""

    quality: float = 75.0
    target_size: int | None = None
    target_ssimulacra2: float | None = None
    roi_strength: float = 0.5
    compositor: str = "block"
    saliency: str = DEFAULT_SALIENCY
    subsampling: str = "444"
    progressive: str = "auto"

    def validate(self) -> CompressOptions:
        if self.compositor not in COMPOSITORS:
            raise OptionsError(f"compositor must be one of {', '.join(COMPOSITORS)}")
        if self.saliency not in SALIENCY_CHOICES:
            raise OptionsError(f"saliency must be one of {', '.join(SALIENCY_CHOICES)}")
        if not 1 <= self.quality <= 100:
            raise OptionsError(f"quality must be 1..100, got {self.quality}")
        if not 0 <= self.roi_strength <= 1:
            raise OptionsError(f"roi strength must be 0..1, got {self.roi_strength}")
        if self.target_size is not None and self.target_ssimulacra2 is not None:
            raise OptionsError("give a target size or a target SSIMULACRA2, not both")
        if self.target_ssimulacra2 is not None and not 0 < self.target_ssimulacra2 <= 100:
            raise OptionsError("target SSIMULACRA2 must be in (0, 100]")
        if self.subsampling not in ("420", "444"):
            raise OptionsError("subsampling must be 420 or 444")
        return self


@dataclass
class CompressResult:
    """One compressed photo and what it took."""

    data: bytes
    importance: np.ndarray
    quality: float
    width: int
    height: int
    input_bytes: int
    timings_ms: dict[str, float] = field(default_factory=dict)

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
        """The output as any viewer (libjpeg-turbo, via Pillow) shows it."""
        return np.asarray(Image.open(io.BytesIO(self.data)).convert("RGB"))


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

    def importance_maps(self, images: list[np.ndarray], saliency: str | None = None) -> list[np.ndarray]:
        model = self.model if saliency in (None, self.saliency_name) else load_saliency(saliency)
        return model.predict_batch(images)

    def compress(self, image: LoadedImage, options: CompressOptions = CompressOptions()) -> CompressResult:
        return self.compress_batch([image], options)[0]

    def compress_batch(
        self, images: list[LoadedImage], options: CompressOptions = CompressOptions()
    ) -> list[CompressResult]:
        """Compress several photos; their maps are computed in one model call (GPU batching)."""
        options.validate()
        start = time.perf_counter()
        maps = self.importance_maps([image.rgb for image in images], options.saliency)
        saliency_ms = (time.perf_counter() - start) * 1000.0 / max(1, len(images))
        results = [self.compress_with_map(image, importance, options) for image, importance in zip(images, maps)]
        for result in results:
            result.timings_ms["saliency"] = saliency_ms
        return results

    def compress_with_map(
        self, image: LoadedImage, importance: np.ndarray, options: CompressOptions = CompressOptions()
    ) -> CompressResult:
        """Compress with a map computed elsewhere (the daemon batches maps across files)."""
        options.validate()
        t0 = time.perf_counter()
        try:
            rate = self._composite(image, importance, options)
        except MemoryError:
            # A header can claim tens of megapixels in a few KB (found by `bench fuzz`); where the
            # memory runs out, this photo gets a clear refusal and the service goes on.
            raise InputError(f"{image.width}x{image.height}: not enough memory to compress this image") from None
        return CompressResult(
            data=rate.data,
            importance=importance,
            quality=rate.quality,
            width=image.width,
            height=image.height,
            input_bytes=image.source_bytes,
            timings_ms={"compositor": (time.perf_counter() - t0) * 1000.0},
        )

    def _composite(self, image: LoadedImage, importance: np.ndarray, options: CompressOptions) -> RateResult:
        if options.compositor == "block":
            settings = replace(self.block_settings, subsampling=options.subsampling, progressive=options.progressive)
            prepared = prepare(image.rgb, importance, options.roi_strength, settings, image.icc_profile)

            def encode(quality: float) -> bytes:
                return encode_prepared(prepared, quality, settings)

            continuous = True
        else:

            def encode(quality: float) -> bytes:
                return encode_pixel(
                    image.rgb,
                    importance,
                    quality,
                    roi_strength=options.roi_strength,
                    subsampling=options.subsampling,
                    icc_profile=image.icc_profile,
                )

            continuous = False
        if options.target_size is not None:
            return search_target_size(encode, options.target_size, continuous=continuous)
        if options.target_ssimulacra2 is not None:
            from focuspress.engine.metrics import ssimulacra2

            def score(data: bytes) -> float:
                return ssimulacra2(image.rgb, np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))

            return search_target_score(encode, score, options.target_ssimulacra2, continuous=continuous)
        return encode_quality(encode, options.quality)


def write_result(result: CompressResult, path: Path) -> None:
    """Atomically write the JPEG (temp file, fsync, rename)."""
    atomic_write(path, result.data)


def save_map_images(rgb: np.ndarray, importance: np.ndarray, directory: Path, stem: str) -> tuple[Path, Path]:
    """Write ``<stem>.map.png`` (greyscale) and ``<stem>.overlay.png`` (heatmap over the photo)."""
    import cv2

    grey = np.clip(np.round(importance * 255), 0, 255).astype(np.uint8)
    heat = cv2.applyColorMap(grey, cv2.COLORMAP_JET)[..., ::-1]
    overlay = np.clip(0.55 * rgb.astype(np.float32) + 0.45 * heat.astype(np.float32), 0, 255).astype(np.uint8)
    map_path = directory / f"{stem}.map.png"
    overlay_path = directory / f"{stem}.overlay.png"
    for path, array in ((map_path, grey), (overlay_path, overlay)):
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, "PNG")
        atomic_write(path, buffer.getvalue())
    return map_path, overlay_path
