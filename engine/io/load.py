"""Decode any supported photo into 8-bit upright RGB, the one form the engine works on.

Why here: every face (CLI, daemon, GUI) must treat hostile and odd inputs the same way, so all
of the hygiene lives in one function: EXIF orientation, ICC profile, alpha, 16-bit and grey
inputs, and a pixel limit against decompression bombs.

A large JPEG is not decoded at full size up front: its 1/8-scale decode (libjpeg's DCT
scaling, a fraction of the cost) gives the preview the importance map is computed on, and it
reads every byte of the entropy-coded data, so a truncated or damaged file is refused here as
surely as by a full decode. The full-size pixels are decoded only if something asks for
``rgb`` (the pixel route, metrics); the DCT route reads the coefficients instead.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import time
import warnings
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from focuspress.engine.errors import InputError, Reason
from focuspress.engine.io.jpeg import JpegInfo, arithmetic_coded, inspect_jpeg
from focuspress.engine.io.metadata import Metadata, read_metadata
from focuspress.engine.io.names import display_name
from focuspress.engine.io.native import native_warnings

#: Inputs larger than this many pixels are refused (a 100-megapixel photo still passes).
DEFAULT_MAX_PIXELS = 120_000_000
#: Transparent pixels are composited onto white, as a browser shows them on a page.
DEFAULT_BACKGROUND = (255, 255, 255)
#: (AVIF: Pillow's own plugin, libavif in its wheels since 11.3; phones' and browsers' newer format)
SUPPORTED_FORMATS = ("PNG", "JPEG", "MPO", "WEBP", "TIFF", "BMP", "GIF", "HEIF", "AVIF")
#: File name suffixes of those formats: what folder inputs (CLI, daemon patterns, bench) take.
SUPPORTED_SUFFIXES = (
    ".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".heic", ".heif", ".avif",
)  # fmt: skip
#: The formats as people name them (refusals and the CLI's help list them from here).
FORMAT_NAMES = ("PNG", "JPEG", "WebP", "TIFF", "BMP", "GIF", "HEIC", "AVIF")
#: How refusals name the formats (one wording everywhere).
FORMAT_LIST = f"a {', '.join(FORMAT_NAMES[:-1])} or {FORMAT_NAMES[-1]}"
#: The preview's long side is at least this (the map network sees 448, the face detector 400).
PREVIEW_SIDE = 512
#: JPEGs with more pixels than this are decoded at full size only on demand.
LAZY_PIXELS = 1_500_000


class LoadedImage:
    """A photo ready for the engine: upright ``width`` x ``height``, its source and metadata.

    ``rgb`` (HxWx3 uint8, upright, alpha flattened) is decoded on first use for a large JPEG;
    ``preview()`` is a small upright copy for the importance map; ``data`` is the file's
    bytes (None for an array given directly), ``coded`` the bytes decoders read (see ``__init__``),
    ``jpeg`` its coding parameters when it is a JPEG.
    """

    def __init__(
        self,
        rgb: np.ndarray | None = None,
        *,
        data: bytes | None = None,
        coded: bytes | None = None,
        size: tuple[int, int] | None = None,
        source_format: str = "",
        source_path: Path | None = None,
        notes: tuple[str, ...] = (),
        jpeg: JpegInfo | None = None,
        metadata: Metadata | None = None,
        preview: np.ndarray | None = None,
        icc_profile: bytes | None = None,
        background: tuple[int, int, int] = DEFAULT_BACKGROUND,
    ) -> None:
        if rgb is None and (data is None or size is None):
            raise ValueError("a LoadedImage needs pixels, or a file's bytes and its size")
        self._rgb = rgb
        self.data = data
        #: what decoders read: ``data`` itself, or for an arithmetic-coded JPEG its Huffman-coded copy
        #: (the same levels: ``io.jpeg.arithmetic_coded``); ``data`` stays the file (its size, and the
        #: bytes a never-larger result keeps)
        self.coded = coded if coded is not None else data
        if size is None:
            assert rgb is not None
            size = (int(rgb.shape[1]), int(rgb.shape[0]))
        self.width, self.height = size
        self.source_format = source_format
        self.source_path = source_path
        self.notes = tuple(notes)
        self.jpeg = jpeg
        self.metadata = metadata or Metadata(icc=icc_profile)
        self._preview = preview
        self._background = background
        self._warnings: list[str] = []
        #: time spent decoding the full-size pixels on demand (after load): the pipeline counts it as decode
        self.deferred_decode_ms = 0.0

    @property
    def warnings(self) -> tuple[str, ...]:
        """What decoders complained about while reading this photo (damaged data they worked around)."""
        return tuple(self._warnings)

    def native(self) -> AbstractContextManager[None]:
        """A context in which native decoders' lines on descriptor 2 become this photo's warnings."""
        return native_warnings(self._warnings)

    @property
    def rgb(self) -> np.ndarray:
        if self._rgb is None:
            assert self.coded is not None
            t0 = time.perf_counter()
            with self.native():
                self._rgb = _decode(self.coded, display_name(self.source_path or "<bytes>"), self._background)[0]
            self.deferred_decode_ms += (time.perf_counter() - t0) * 1000.0
        return self._rgb

    @property
    def decoded(self) -> bool:
        """Whether the full-size pixels are in memory already."""
        return self._rgb is not None

    @property
    def icc_profile(self) -> bytes | None:
        return self.metadata.icc

    @property
    def source_bytes(self) -> int:
        return len(self.data) if self.data is not None else 0

    @property
    def orientation(self) -> int:
        """The source's EXIF orientation (1 = stored upright); ``rgb`` is always upright."""
        return self.metadata.orientation

    def preview(self, long_side: int | None = PREVIEW_SIDE) -> np.ndarray:
        """An upright copy whose long side is about ``long_side`` (never upscaled; None: the preview
        decoded at load as it is, or the pixels)."""
        import cv2

        source = self._preview if self._preview is not None and self._rgb is None else self.rgb
        if long_side is None:
            return source
        scale = long_side / max(source.shape[:2])
        if scale >= 1.0:
            return source
        size = (max(1, round(source.shape[1] * scale)), max(1, round(source.shape[0] * scale)))
        return cv2.resize(source, size, interpolation=cv2.INTER_AREA)


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
        raise InputError(f"{name}: empty file", reason=Reason.EMPTY)
    found: list[str] = []
    try:
        with native_warnings(found):
            image = _load(data, name, path, max_pixels, background)
        image._warnings.extend(line for line in found if line not in image._warnings)
        return image
    except InputError:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow's own guard fires inside open() for headers over twice its limit.
        raise InputError(
            f"{name}: image too large (decompression-bomb guard: {_short(exc)})", reason=Reason.TOO_LARGE
        ) from exc
    except UnidentifiedImageError as exc:
        kind = _signature(data)
        if kind is not None:  # one of ours by its first bytes, in a variant Pillow does not read
            raise InputError(
                f"{name}: cannot decode image ({'an' if kind == 'AVIF' else 'a'} {kind} of a kind this decoder "
                f"does not read{_HINTS.get(kind, '')})",
                reason=Reason.UNDECODABLE,
            ) from exc
        raise InputError(f"{name}: cannot decode image (not {FORMAT_LIST})", reason=Reason.NOT_AN_IMAGE) from exc
    except MemoryError as exc:
        raise InputError(f"{name}: not enough memory to decode this image", reason=Reason.TOO_LARGE) from exc
    except Exception as exc:
        # Anything Pillow's decoders raise on damaged bytes (IndexError from a cut GIF, struct
        # errors, ...) is this file's problem, not a bug of ours: found by `focuspress bench fuzz`.
        raise InputError(f"{name}: cannot decode image ({_short(exc)})", reason=decode_reason(exc)) from exc


def _open(data: bytes, name: str, max_pixels: int) -> Image.Image:
    """Open (header only) with the format allow-list and the pixel limit."""
    Image.init()  # registers every plugin, so the format allow-list below can be checked
    _register_heif()
    formats = [fmt for fmt in SUPPORTED_FORMATS if fmt in Image.OPEN]
    image = Image.open(io.BytesIO(data), formats=formats)
    width, height = image.size
    if width <= 0 or height <= 0:
        raise InputError(f"{name}: image has no pixels", reason=Reason.UNDECODABLE)
    if width * height > max_pixels:
        raise InputError(
            f"{name}: {width}x{height} is {width * height / 1e6:.0f} megapixels, "
            f"over the limit of {max_pixels / 1e6:.0f} (decompression-bomb guard)",
            reason=Reason.TOO_LARGE,
        )
    return image


def _load(data: bytes, name: str, path: Path | None, max_pixels: int, background) -> LoadedImage:
    coded, said = _decodable(data, name)
    loaded = _load_coded(data, coded, name, path, max_pixels, background)
    loaded._warnings.extend(line for line in said if line not in loaded._warnings)
    return loaded


def _load_coded(data: bytes, coded: bytes, name: str, path: Path | None, max_pixels: int, background) -> LoadedImage:
    """The photo whose file is ``data``, decoded from ``coded`` (``data``, or its Huffman-coded copy)."""
    copy_note = () if coded is data else (ARITHMETIC_NOTE,)
    with warnings.catch_warnings():
        # Pillow warns (then errors at 2x) on big images, and on damaged EXIF; our own limit
        # applies before decoding, and a damaged EXIF block is simply not used.
        warnings.simplefilter("ignore")
        image = _open(coded, name, max_pixels)
        jpeg = inspect_jpeg(image)
        metadata = read_metadata(image, data)
        if image.mode == "CMYK":  # a CMYK profile does not describe the RGB we make of it
            metadata = replace(metadata, icc=None)
        width, height = image.size
        if metadata.orientation in (5, 6, 7, 8):
            width, height = height, width
        if jpeg is None or width * height <= LAZY_PIXELS:
            rgb, notes = _decode(coded, name, background)
            return LoadedImage(
                rgb, data=data, coded=coded, source_format=image.format or "", source_path=path,
                notes=copy_note + notes, jpeg=jpeg, metadata=metadata,
            )  # fmt: skip
        # A large JPEG: decode at reduced scale only (see the module's docstring).
        image.draft(image.mode if image.mode in ("RGB", "L") else None, _draft_size(image.size))
        image.load()
        converted: list[str] = []
        preview = _to_rgb8(ImageOps.exif_transpose(image) or image, background, converted)
        notes = copy_note + tuple(converted)
    return LoadedImage(
        data=data,
        coded=coded,
        size=(width, height),
        source_format=image.format or "",
        source_path=path,
        notes=tuple(notes),
        jpeg=jpeg,
        metadata=metadata,
        preview=preview,
        background=background,
    )


#: The note an arithmetic-coded JPEG carries (see :func:`_decodable`).
ARITHMETIC_NOTE = "arithmetic-coded JPEG: read through a Huffman-coded copy of its levels (lossless)"


def _decodable(data: bytes, name: str) -> tuple[bytes, list[str]]:
    """``data``, or for an arithmetic-coded JPEG its Huffman-coded copy (``jpegfile/reader.py``),
    with what libjpeg said while reading it. Pillow refused every such file over 64 KB ("broken
    data stream": its libjpeg-turbo cannot decode arithmetic coding in pieces), which named a valid
    photo broken. libjpeg reads such a file cut short without an error (the rest of the copy grey),
    so "premature end" refuses it as truncated, like any JPEG cut short (an upload still arriving
    waits for the rest)."""
    if not arithmetic_coded(data):
        return data, []
    # (imported here: jpeglib loads its libjpeg build on import, which only such a file needs)
    from focuspress.engine.jpegfile.reader import huffman_coded

    said: list[str] = []
    try:
        with native_warnings(said):
            copy = huffman_coded(data)
    except (OSError, ValueError, RuntimeError) as exc:
        raise InputError(
            f"{name}: cannot decode image (an arithmetic-coded JPEG libjpeg does not read: {_short(exc)})",
            reason=Reason.UNDECODABLE,
        ) from exc
    if any("premature end" in line.lower() for line in said):
        raise InputError(
            f"{name}: cannot decode image (image file is truncated: an arithmetic-coded JPEG cut short)",
            reason=Reason.TRUNCATED,
        )
    return copy, said


_heif_registered = False


def _register_heif() -> None:
    """HEIC/HEIF (what iPhones upload) through ``pillow-heif``: libheif decodes it, turned upright
    by the file's own transforms (its EXIF Orientation then reads 1), 10-bit reduced to 8, with its
    EXIF, XMP and ICC profile in ``info`` like any other format."""
    global _heif_registered
    if _heif_registered:
        return
    from pillow_heif import register_heif_opener

    register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
    _heif_registered = True


def _draft_size(size: tuple[int, int]) -> tuple[int, int]:
    """The smallest libjpeg scale whose long side still reaches PREVIEW_SIDE."""
    scale = min(1.0, PREVIEW_SIDE / max(size))
    return max(1, int(size[0] * scale)), max(1, int(size[1] * scale))


def _decode(data: bytes, name: str, background) -> tuple[np.ndarray, tuple[str, ...]]:
    """Full decode: upright HxWx3 uint8 pixels and the notes on what was converted."""
    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image = _open(data, name, DEFAULT_MAX_PIXELS * 4)
        frames = int(getattr(image, "n_frames", 1))
        if frames > 1:
            notes.append(f"animated ({frames} frames): first frame used")
            image.seek(0)
        image.load()  # forces a full decode: truncated files fail here, not later
        image = ImageOps.exif_transpose(image) or image
    return _to_rgb8(image, background, notes), tuple(notes)


def read_bytes(path: Path) -> bytes:
    name = display_name(path)
    if path.is_dir():
        raise InputError(f"{name}: is a directory, not an image", reason=Reason.NOT_REGULAR)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _read_error(name, exc) from exc


def _read_error(name: str, exc: OSError) -> InputError:
    """The one-line reason a file could not be read."""
    if isinstance(exc, FileNotFoundError):
        return InputError(f"{name}: no such file", reason=Reason.VANISHED)
    if isinstance(exc, PermissionError):
        return InputError(f"{name}: permission denied", reason=Reason.PERMISSION)
    if exc.errno == errno.ELOOP:
        return InputError(f"{name}: is a symlink (not followed)", reason=Reason.NOT_REGULAR)
    return InputError(f"{name}: cannot read ({_short(exc)})", reason=Reason.UNREADABLE)


def read_regular(path: Path) -> bytes:
    """The bytes of ``path`` only if it is a regular file itself: a symlink is not followed and a
    FIFO or socket is refused at once instead of blocking the reader (what a watched folder needs:
    the file that was checked may have been swapped since)."""
    name = display_name(path)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _read_error(name, exc) from exc
    with os.fdopen(fd, "rb") as handle:
        kind = stat.S_IFMT(os.fstat(handle.fileno()).st_mode)
        if kind != stat.S_IFREG:
            raise InputError(f"{name}: not a regular file ({file_kind(kind)})", reason=Reason.NOT_REGULAR)
        try:
            return handle.read()
        except OSError as exc:
            raise _read_error(name, exc) from exc


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
        # 32-bit float greyscale (TIFF's SampleFormat 3): raw developers and scientific tools write
        # 0..1 (black..white); read as 0..255 such a photo came out black. 0..255 when it goes past 1.
        # (the range is read off the finite values; NaN is black, infinities the ends)
        arr = np.asarray(image, dtype=np.float64)
        peak = 1.0 if float(arr[np.isfinite(arr)].max(initial=0.0)) <= 1.0 else 255.0
        grey = np.clip(np.round(np.nan_to_num(arr, nan=0.0) * (255.0 / peak)), 0, 255).astype(np.uint8)
        notes.append("32-bit float greyscale reduced to 8 bits" + (" (0..1 as black..white)" if peak == 1.0 else ""))
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


#: How refusals name a format Pillow registers under another name
_SHOWN = {"WEBP": "WebP", "HEIF": "HEIC", "MPO": "JPEG"}
_HINTS = {"TIFF": ": 32-bit float colour, or a compression or layout it lacks"}


def _signature(data: bytes) -> str | None:
    """The supported format whose Pillow plugin recognises ``data``'s first bytes (each plugin's own
    test, as ``Image.open`` runs it), or None. A file one recognises but none opens is that format
    in a variant Pillow does not read (a raw developer's 32-bit float colour TIFF, say), not "not an
    image" (which sends an operator looking for a misnamed text file)."""
    prefix = data[:16]
    for fmt in SUPPORTED_FORMATS:
        accept = Image.OPEN.get(fmt, (None, None))[1]
        if accept is not None and accept(prefix):
            return _SHOWN.get(fmt, fmt)
    return None


def decode_reason(exc: BaseException) -> Reason:
    """TRUNCATED where the decoder ran out of data (Pillow says so in its OSError: the one place its
    wording is read, so that a file still being uploaded can be told from a broken one), else UNDECODABLE."""
    text = str(exc).lower()
    truncated = isinstance(exc, (OSError, EOFError, SyntaxError)) and ("truncated" in text or "premature end" in text)
    return Reason.TRUNCATED if truncated or isinstance(exc, EOFError) else Reason.UNDECODABLE


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    if not text:
        return type(exc).__name__
    if isinstance(exc, (OSError, ValueError, SyntaxError)):
        return text[0]
    return f"{type(exc).__name__}: {text[0]}"  # an unusual failure: say which


def decode_upright(data: bytes) -> np.ndarray:
    """A JPEG (an output, a source) as a viewer shows it: decoded by libjpeg-turbo and turned by
    its EXIF orientation, HxWx3 uint8. A damaged EXIF block carried from the source is not used,
    as at load: Pillow's warnings about it (``Tag data larger than file``) are not printed, so
    ``--metrics`` on such a photo stays one line (the fuzz test met one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray((ImageOps.exif_transpose(image) or image).convert("RGB"))
