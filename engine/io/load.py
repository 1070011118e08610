"""Decode any supported photo into 8-bit sRGB-or-tagged RGB, the one form the engine works on.

Why here: every face (CLI, daemon, GUI) must treat hostile and odd inputs the same way, so all
of the hygiene lives in one function: EXIF orientation, ICC profile, alpha, 16-bit and grey
inputs, and a pixel limit against decompression bombs.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from focuspress.engine.errors import InputError
from focuspress.engine.io.names import display_name

#: Inputs larger than this many pixels are refused (a 100-megapixel photo still passes).
DEFAULT_MAX_PIXELS = 120_000_000
#: Transparent pixels are composited onto white, as a browser shows them on a page.
DEFAULT_BACKGROUND = (255, 255, 255)
SUPPORTED_FORMATS = ("PNG", "JPEG", "MPO", "WEBP", "TIFF", "BMP", "GIF")
#: File name suffixes of those formats: what folder inputs (CLI, daemon patterns, bench) take.
SUPPORTED_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif")


@dataclass(frozen=True)
class LoadedImage:
    """A decoded photo: ``rgb`` is HxWx3 uint8, upright, alpha already flattened."""

    rgb: np.ndarray
    icc_profile: bytes | None = None
    source_format: str = ""
    source_bytes: int = 0
    source_path: Path | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def pixels(self) -> int:
        return self.height * self.width


def load_image(
    source: str | Path | bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    background: tuple[int, int, int] = DEFAULT_BACKGROUND,
    name: str | None = None,
) -> LoadedImage:
    """Decode ``source`` (a path or the file's bytes) or raise :class:`InputError` with a reason.

    ``name`` labels bytes in error messages (a worker on another machine gets only the bytes).
    """
    path: Path | None = None
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
        name = name or "<bytes>"
    else:
        path = Path(source)
        name = name or display_name(path)
        data = read_bytes(path)
    if not data:
        raise InputError(f"{name}: empty file")
    try:
        return _decode(data, name, path, max_pixels, background)
    except InputError:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow's own guard fires inside open() for headers over twice its limit.
        raise InputError(f"{name}: image too large (decompression-bomb guard: {_short(exc)})") from exc
    except UnidentifiedImageError as exc:
        raise InputError(f"{name}: cannot decode image (not a PNG, JPEG, WebP, TIFF, BMP or GIF)") from exc
    except MemoryError as exc:
        raise InputError(f"{name}: not enough memory to decode this image") from exc
    except Exception as exc:
        # Anything Pillow's decoders raise on damaged bytes (IndexError from a cut GIF, struct
        # errors, ...) is this file's problem, not a bug of ours: found by `focuspress bench fuzz`.
        raise InputError(f"{name}: cannot decode image ({_short(exc)})") from exc


def read_bytes(path: Path) -> bytes:
    name = display_name(path)
    try:
        if path.is_dir():
            raise InputError(f"{name}: is a directory, not an image")
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{name}: no such file") from exc
    except PermissionError as exc:
        raise InputError(f"{name}: permission denied") from exc
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({_short(exc)})") from exc


def read_regular(path: Path) -> bytes:
    """The bytes of ``path`` only if it is a regular file itself: a symlink is not followed and a
    FIFO or socket is refused at once instead of blocking the reader (what a watched folder needs:
    the file that was checked may have been swapped since)."""
    name = display_name(path)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as exc:
        raise InputError(f"{name}: no such file") from exc
    except PermissionError as exc:
        raise InputError(f"{name}: permission denied") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputError(f"{name}: is a symlink (not followed)") from exc
        raise InputError(f"{name}: cannot read ({_short(exc)})") from exc
    with os.fdopen(fd, "rb") as handle:
        kind = stat.S_IFMT(os.fstat(handle.fileno()).st_mode)
        if kind != stat.S_IFREG:
            raise InputError(f"{name}: not a regular file ({file_kind(kind)})")
        try:
            return handle.read()
        except OSError as exc:
            raise InputError(f"{name}: cannot read ({_short(exc)})") from exc


def file_kind(mode: int) -> str:
    """'directory', 'fifo', 'socket', 'symlink', 'device' or 'regular file' for an ``st_mode``."""
    kinds = (
        (stat.S_ISDIR, "directory"),
        (stat.S_ISFIFO, "fifo"),
        (stat.S_ISSOCK, "socket"),
        (stat.S_ISLNK, "symlink"),
        (stat.S_ISCHR, "device"),
        (stat.S_ISBLK, "device"),
    )
    return next((name for test, name in kinds if test(mode)), "regular file")


def _decode(
    data: bytes,
    name: str,
    path: Path | None,
    max_pixels: int,
    background: tuple[int, int, int],
) -> LoadedImage:
    notes: list[str] = []
    with warnings.catch_warnings():
        # Pillow warns (then errors at 2x) on big images, and on damaged EXIF; our own limit
        # applies before decoding, and a damaged EXIF block is simply not used.
        warnings.simplefilter("ignore")
        Image.init()  # registers every plugin, so the format allow-list below can be checked
        formats = [name for name in SUPPORTED_FORMATS if name in Image.OPEN]
        image = Image.open(io.BytesIO(data), formats=formats)
        width, height = image.size
        if width <= 0 or height <= 0:
            raise InputError(f"{name}: image has no pixels")
        if width * height > max_pixels:
            raise InputError(
                f"{name}: {width}x{height} is {width * height / 1e6:.0f} megapixels, "
                f"over the limit of {max_pixels / 1e6:.0f} (decompression-bomb guard)"
            )
        if getattr(image, "n_frames", 1) > 1:
            notes.append(f"animated ({image.n_frames} frames): first frame used")
            image.seek(0)
        source_format = image.format or ""
        icc = image.info.get("icc_profile") or None
        image.load()  # forces a full decode: truncated files fail here, not later
        image = ImageOps.exif_transpose(image) or image
    rgb = _to_rgb8(image, background, notes)
    return LoadedImage(
        rgb=rgb,
        icc_profile=icc if image.mode != "CMYK" else None,
        source_format=source_format,
        source_bytes=len(data),
        source_path=path,
        notes=tuple(notes),
    )


def _to_rgb8(image: Image.Image, background: tuple[int, int, int], notes: list[str]) -> np.ndarray:
    """Convert any Pillow mode to HxWx3 uint8, scaling 16-bit and flattening alpha."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if arr.max(initial=0) > 255 or mode.startswith("I;16") else 255.0
        grey = np.clip(np.round(arr * (255.0 / peak)), 0, 255).astype(np.uint8)
        notes.append("16-bit greyscale reduced to 8 bits")
        return np.repeat(grey[..., None], 3, axis=2)
    if mode == "F":
        arr = np.asarray(image, dtype=np.float64)
        grey = np.clip(np.round(arr), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
        alpha = rgba[..., 3:4] / 255.0
        if float(alpha.min(initial=1.0)) < 1.0:
            notes.append(f"alpha flattened onto RGB{background}")
        bg = np.asarray(background, dtype=np.float32)
        out = rgba[..., :3] * alpha + bg * (1.0 - alpha)
        return np.clip(np.round(out), 0, 255).astype(np.uint8)
    if mode == "CMYK":
        notes.append("CMYK converted to RGB")
    if mode != "RGB":
        image = image.convert("RGB")
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    if not text:
        return type(exc).__name__
    if isinstance(exc, (OSError, ValueError, SyntaxError)):
        return text[0]
    return f"{type(exc).__name__}: {text[0]}"  # an unusual failure: say which
