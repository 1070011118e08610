"""Sweep codecs over images: encode, decode and score every (image, codec, knob) in process.

Sources: a lossless photo is itself the reference. A JPEG (a camera's file, or a lossless photo
re-saved first by libjpeg-turbo at ``source_jpeg`` quality, 4:2:0) is the *source*: every codec
gets its decoded pixels (re-encoding is what users would do instead) and focuspress gets the
file itself; every score is measured against the decoded source, as a viewer shows it.
Size-only codecs (lossless transcodes) give one row at the source's quality.
"""

from __future__ import annotations

import io
import json
import resource
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from focuspress.bench import codecs
from focuspress.bench.codecs.base import Context
from focuspress.engine.io import load_image
from focuspress.engine.io.load import SUPPORTED_SUFFIXES


@dataclass
class Row:
    image: str
    codec: str
    knob: float
    width: int
    height: int
    bytes: int
    bpp: float
    psnr: float
    ms_ssim: float
    ssimulacra2: float
    roi_psnr: float | None
    encode_ms_per_mp: float
    decode_ms_per_mp: float
    peak_rss_mb: float
    source_bytes: int | None = None
    size_only: bool = False


def list_images(folder: Path, limit: int | None = None) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES)
    return files[:limit] if limit else files


def mask_for(image: Path, masks: Path | None) -> Path | None:
    if masks is None:
        return None
    for suffix in (".png", ".bmp", ".jpg"):
        candidate = masks / (image.stem + suffix)
        if candidate.exists():
            return candidate
    return None


class CodecFailure(RuntimeError):
    """A codec raised on an image: the benchmark stops and names both."""


def _task(args: tuple) -> list[dict]:
    try:
        return _measure(*args)
    except Exception as exc:
        raise CodecFailure(f"{args[1]} failed on {Path(args[0]).name}: {type(exc).__name__}: {exc}") from None


def jpeg_source(path: Path, quality: int | None, as_pixels: bool = False) -> bytes | None:
    """The JPEG a sweep starts from: the file if it is a JPEG, or the photo re-saved at ``quality``;
    None with ``as_pixels`` (the decoded photo is then a lossless source, as round 1 measured ECSSD)."""
    from PIL import Image

    if as_pixels and quality is None:
        return None
    data = path.read_bytes()
    if quality is not None:
        buffer = io.BytesIO()
        Image.fromarray(load_image(data).rgb).save(buffer, "JPEG", quality=quality, subsampling=2)
        return buffer.getvalue()
    return data if load_image(data).jpeg is not None else None


def _measure(
    image_path: str,
    codec_name: str,
    mask_path: str | None,
    knobs: tuple[float, ...],
    source_jpeg: int | None = None,
    as_pixels: bool = False,
) -> list[dict]:
    from focuspress.engine.metrics import ms_ssim, psnr, roi_psnr, ssimulacra2

    codec = codecs.get(codec_name)
    source = jpeg_source(Path(image_path), source_jpeg, as_pixels)
    rgb = load_image(source if source is not None else Path(image_path)).rgb  # the reference, upright
    mask = load_image(Path(mask_path)).rgb[..., 0] > 127 if mask_path else None
    if codec.size_only and source is None:
        return []  # a lossless JPEG transcode needs a JPEG
    state = codec.prepare(rgb, Context(image_path, mask, source))
    megapixels = rgb.shape[0] * rgb.shape[1] / 1e6
    rows = []
    for knob in knobs[:1] if codec.size_only else knobs:
        t0 = time.perf_counter()
        data = codec.encode(rgb, knob, state)
        t1 = time.perf_counter()
        decoded = codec.decode(data)
        t2 = time.perf_counter()
        exact = codec.size_only and np.array_equal(decoded, rgb)
        if codec.size_only and not exact:
            raise ValueError("a lossless transcode changed the pixels")
        rows.append(
            asdict(
                Row(
                    image=Path(image_path).name,
                    codec=codec_name,
                    knob=float(knob),
                    width=rgb.shape[1],
                    height=rgb.shape[0],
                    bytes=len(data),
                    bpp=8.0 * len(data) / (rgb.shape[0] * rgb.shape[1]),
                    psnr=float("nan") if exact else psnr(rgb, decoded),
                    ms_ssim=1.0 if exact else ms_ssim(rgb, decoded),
                    ssimulacra2=100.0 if exact else ssimulacra2(rgb, decoded),
                    roi_psnr=roi_psnr(rgb, decoded, mask) if mask is not None and not exact else None,
                    encode_ms_per_mp=(t1 - t0) * 1000.0 / megapixels,
                    decode_ms_per_mp=(t2 - t1) * 1000.0 / megapixels,
                    peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                    source_bytes=len(source) if source is not None else None,
                    size_only=codec.size_only,
                )
            )
        )
    return rows


def run(
    images: list[Path],
    codec_names: Iterable[str],
    *,
    masks: Path | None = None,
    jobs: int = 2,
    quick: bool = False,
    progress=None,
    source_jpeg: int | None = None,
    as_pixels: bool = False,
    knobs: tuple[float, ...] | None = None,
) -> list[dict]:
    """All rows for ``images`` x ``codec_names``; ``quick`` keeps every other knob; ``knobs``
    replaces every quality-knob codec's own (the camera-native method's qualities)."""
    tasks = []
    override = knobs
    for codec_name in codec_names:
        codec = codecs.get(codec_name)
        knobs = (
            override
            if override is not None and not codec.size_only and codec_name != "mozjpeg-recompress"
            else codec.knobs
        )
        if quick:
            knobs = knobs[::2]
        for image in images:
            mask = mask_for(image, masks)
            tasks.append((str(image), codec_name, str(mask) if mask else None, tuple(knobs), source_jpeg, as_pixels))
    rows: list[dict] = []
    # spawn: TensorFlow does not survive fork; each worker loads what its codecs need once
    with get_context("spawn").Pool(jobs, maxtasksperchild=None) as pool:
        for result in pool.imap_unordered(_task, tasks):
            rows.extend(result)
            if progress:
                progress(result)
    rows.sort(key=lambda r: (r["codec"], r["image"], r["knob"]))
    return rows


def save_rows(rows: list[dict], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    path.write_text(json.dumps(rows, indent=1))
    return path
