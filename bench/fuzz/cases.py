"""Seed images, one case from (seed, index), and the judged run of one case."""

from __future__ import annotations

import io
import traceback
from functools import lru_cache

import numpy as np
from PIL import Image, ImageCms

from focuspress.bench.fuzz.mutate import RngChoices, mutate

#: ok: compressed into a JPEG that decodes; refused: a one-line FocuspressError. Anything else
#: is a finding: crash (another exception), bad_output (a JPEG that does not decode), memory
#: (MemoryError under the worker's memory limit), hang (over the per-case time limit) and died
#: (the worker process was killed by a signal, e.g. a segfault in a native decoder).
VERDICTS = ("ok", "refused", "crash", "bad_output", "memory", "hang", "died")


def _photo(h: int, w: int, seed: int) -> np.ndarray:
    """The fuzzer's seed photo: its own formula on purpose, frozen so every recorded case (and
    every replayed finding) keeps its bytes; the other tests share ``focuspress.bench.photos``."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 120 + 80 * np.sin(xx / 9.0) + 15 * rng.standard_normal((h, w))
    g = 100 + 2 * yy + 10 * rng.standard_normal((h, w))
    b = np.where(xx > w / 2, 200.0, 60.0) + 5 * rng.standard_normal((h, w))
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)


def _save(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


@lru_cache(maxsize=1)
def seed_images() -> tuple[tuple[str, bytes], ...]:
    """Small valid files in every supported format and the odd modes cameras and editors write."""
    rgb = Image.fromarray(_photo(48, 64, 1))
    exif = Image.Exif()
    exif[0x0112] = 6
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    grey16 = Image.fromarray(np.asarray(rgb.convert("L"), np.uint16) * 257)
    frames = [Image.fromarray(_photo(32, 40, s)) for s in range(3)]
    return (
        ("rgb.png", _save(rgb, "PNG")),
        ("palette-trns.png", _save(palette, "PNG", transparency=0)),
        ("la.png", _save(rgb.convert("LA"), "PNG")),
        ("grey16.png", _save(grey16, "PNG")),
        ("rgba.png", _save(rgb.convert("RGBA"), "PNG")),
        ("baseline.jpg", _save(rgb, "JPEG", quality=85)),
        ("progressive420.jpg", _save(rgb, "JPEG", quality=70, progressive=True, subsampling=2)),
        ("exif-icc.jpg", _save(rgb, "JPEG", quality=90, exif=exif.tobytes(), icc_profile=icc)),
        ("cmyk.jpg", _save(rgb.convert("CMYK"), "JPEG", quality=90)),
        ("grey.jpg", _save(rgb.convert("L"), "JPEG", quality=80)),
        ("lossy.webp", _save(rgb, "WEBP", quality=80)),
        ("lossless.webp", _save(rgb, "WEBP", lossless=True)),
        ("animated.gif", _save(frames[0], "GIF", save_all=True, append_images=frames[1:])),
        ("rgb.tiff", _save(rgb, "TIFF", compression="tiff_deflate")),
        ("rgb.bmp", _save(rgb, "BMP")),
        ("photo-320.jpg", _save(Image.fromarray(_photo(240, 320, 2)), "JPEG", quality=88)),
    )


def make_case(seed: int, index: int) -> tuple[str, bytes, float]:
    """Case ``index`` of run ``seed``: (seed file name, mutated bytes, quality). Deterministic."""
    rng = np.random.default_rng([seed, index])
    seeds = seed_images()
    name, data = seeds[int(rng.integers(len(seeds)))]
    mutated = mutate(data, RngChoices(rng), [d for _, d in seeds])
    return name, mutated, float(rng.integers(5, 101))


_engine = None


def run_case(data: bytes, quality: float = 75.0) -> tuple[str, str]:
    """Decode and compress ``data`` as the daemon would (no map: the decoder is the attack surface).

    Returns (outcome, detail): detail is the refusal message or the traceback.
    """
    global _engine
    from focuspress.engine import CompressOptions, Engine, FocuspressError, load_image
    from focuspress.engine.io import decode_upright

    if _engine is None:
        _engine = Engine(saliency="none")
    try:
        image = load_image(data, name="case")
        result = _engine.compress(image, CompressOptions(quality=quality, roi_strength=0.0))
    except FocuspressError as exc:
        return "refused", str(exc)
    except MemoryError:
        return "memory", traceback.format_exc(limit=8)
    except Exception:
        return "crash", traceback.format_exc(limit=8)
    try:
        # Upright as a viewer shows it: an output that kept the source's pixels (lossless, kept)
        # keeps its Orientation tag too (and any damage in its EXIF: not used, not warned about);
        # a re-encoded one is turned upright, tag 1.
        height, width = decode_upright(result.data).shape[:2]
        upright = (width, height)
        if upright != (image.width, image.height):
            return "bad_output", f"upright size {upright} != {(image.width, image.height)}"
    except Exception:
        return "bad_output", traceback.format_exc(limit=4)
    return "ok", ""
