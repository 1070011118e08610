"""The matrix of valid photos: every size class, sampling, scan, orientation, route, mode and metadata policy.

The fuzzer (``cases.py``) damages files; this module makes *valid* ones that cameras, phones and
programs write, and checks that each gets a proper output: one that decodes, is shown upright at
the source's upright size and the right way round. A refusal must be a one-line reason a user can
act on, and there should be none for these files. JPEGs are written by libjpeg-turbo's own
``cjpeg`` (every sampling it writes: 4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1, grey, and two layouts no
camera writes: Cb and Cr sampled apart, chroma finer than luma; baseline, progressive and
arithmetic-coded; restart intervals), CMYK JPEGs and PNGs by Pillow (arithmetic-coded CMYK by
``jpegtran``); the EXIF Orientation tag is set on each, with the
stored pixels turned so that the photo is upright once a viewer applies it.

:func:`matrix_cases` lists the whole product (about 92,000 combinations) or a covering subset:
each (size, sampling) pair with every scan, orientation, route, mode and policy drawn in turn, so
that every value of every axis meets every size and sampling. ``tests/test_matrix.py`` runs a
subset in CI; ``focuspress bench matrix`` runs as many as asked.
"""

from __future__ import annotations

import io
import itertools
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np
from PIL import Image

#: (height, width) of the upright photo: 1 pixel, under a block, odd MCU remainders, a few hundred
SIZES: tuple[tuple[int, int], ...] = (
    (1, 1),
    (2, 3),
    (7, 13),
    (8, 8),
    (9, 17),
    (15, 16),
    (16, 16),
    (17, 33),
    (33, 65),
    (47, 63),
    (64, 64),
    (65, 129),
    (95, 127),
    (241, 321),
    (401, 299),  # a tile and one margin fit across, not the tile estimator's window (a crash once)
    (451, 601),
)
#: cjpeg's -sample for each sampling (grey: -grayscale); cmyk and png are written by Pillow
SAMPLINGS: dict[str, str | None] = {
    "444": "1x1",
    "422": "2x1",
    "420": "2x2",
    "440": "1x2",
    "411": "4x1",
    # valid layouts no camera writes, per component (Y, Cb, Cr): Cb and Cr sampled unlike each other,
    # and chroma finer than luma (both ended as internal errors on the DCT route until round 4)
    "apart": "2x1,1x1,1x2",
    "finer": "1x1,2x2,1x1",
    "grey": None,
    "cmyk": None,
    "png": None,
}
#: (arithmetic: T.81's other entropy coder, which Pillow decoded only up to its first 64 KB read)
SCANS = ("baseline", "progressive", "arithmetic")
#: restart interval in MCU rows (0: none)
RESTARTS = (0, 1)
ORIENTATIONS = tuple(range(1, 9))
ROUTES = ("auto", "pixel")
MODES = ("contract", "quality")
POLICIES = ("keep", "no-location", "strip")
#: cjpeg where installed: ``bench matrix`` refuses in one line without it (:func:`_tool` writes through it)
CJPEG = shutil.which("cjpeg")


@dataclass(frozen=True)
class MatrixCase:
    """One valid photo and how it is compressed."""

    height: int
    width: int
    sampling: str
    scan: str = "baseline"
    restart: int = 0
    orientation: int = 1
    route: str = "auto"
    mode: str = "contract"
    policy: str = "keep"

    @property
    def name(self) -> str:
        scan = {"progressive": "prog", "arithmetic": "arith"}.get(self.scan, "base")
        return (
            f"{self.width}x{self.height}-{self.sampling}-{scan}-r{self.restart}-o{self.orientation}-"
            f"{self.route}-{self.mode}-{self.policy}"
        )

    @property
    def options(self) -> dict[str, object]:
        """The compress options of this case (the schema's field names)."""
        options: dict[str, object] = {"route": self.route, "metadata": self.policy}
        if self.mode == "quality":
            options["quality"] = 75
        return options


def matrix_cases(*, full: bool = False, per_pair: int = 2, sizes=SIZES, samplings=tuple(SAMPLINGS)) -> list[MatrixCase]:
    """The whole product of the axes (``full``), or ``per_pair`` cases for each (size, sampling): the
    other axes cycle independently (strides that share no factor), so across the pairs every value of
    every axis is met, and every orientation meets every sampling."""
    if full:
        return [
            MatrixCase(h, w, *rest)
            for (h, w), *rest in itertools.product(
                sizes, samplings, SCANS, RESTARTS, ORIENTATIONS, ROUTES, MODES, POLICIES
            )
        ]
    out = []
    n = 0
    for index, ((h, w), sampling) in enumerate(itertools.product(sizes, samplings)):
        shift = index // len(samplings)  # one more per size, so that every orientation meets every sampling
        for _ in range(per_pair):
            out.append(
                MatrixCase(
                    h,
                    w,
                    sampling,
                    scan=SCANS[(n // 7) % 3],
                    restart=RESTARTS[(n // 2) % 2],
                    orientation=ORIENTATIONS[(n + shift) % 8],
                    route=ROUTES[(n // 3) % 2],
                    mode=MODES[(n // 5) % 2],
                    policy=POLICIES[n % 3],
                )
            )
            n += 1
    return out


def upright_photo(height: int, width: int) -> np.ndarray:
    """A photo no flip or turn maps onto itself: a bright top-left corner, a diagonal ramp, colour
    that changes left to right and top to bottom, and some texture."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    fy, fx = yy / max(1, height - 1), xx / max(1, width - 1)
    rng = np.random.default_rng(height * 1000 + width)
    r = 40 + 180 * fx + 6 * rng.standard_normal((height, width))
    g = 40 + 180 * fy
    b = 200 - 150 * (0.7 * fx + 0.3 * fy)
    corner = (fy < 0.3) & (fx < 0.3)
    rgb = np.stack([r, g, b], -1)
    rgb[corner] = 250
    return np.clip(rgb, 0, 255).astype(np.uint8)


#: the turn a viewer applies for each EXIF orientation (Pillow's ``exif_transpose``), and its inverse:
#: what a camera stores. Pillow's own operations, so the matrix does not test the engine with itself.
_VIEWER = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_INVERSE = {**_VIEWER, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def stored_pixels(upright: np.ndarray, orientation: int) -> np.ndarray:
    """What a camera stores for ``upright`` under EXIF ``orientation`` (the inverse of a viewer's turn)."""
    if orientation not in _INVERSE:
        return upright
    return np.asarray(Image.fromarray(upright).transpose(_INVERSE[orientation]))


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Matrix"
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2024:05:01 10:20:30"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (52.0, 31.0, 12.0)
    return exif.tobytes()


def source_bytes(case: MatrixCase) -> bytes:
    """The photo of ``case`` as a file: upright once its EXIF orientation is applied."""
    stored = stored_pixels(upright_photo(case.height, case.width), case.orientation)
    image = Image.fromarray(stored)
    out = io.BytesIO()
    if case.sampling == "png":
        image.save(out, "PNG", exif=_exif(case.orientation))
        return out.getvalue()
    if case.sampling == "cmyk":
        image.convert("CMYK").save(
            out, "JPEG", quality=90, progressive=case.scan == "progressive", exif=_exif(case.orientation)
        )
        if case.scan == "arithmetic":
            return _tool("jpegtran", ["-arithmetic", "-copy", "all"], out.getvalue())
        return out.getvalue()
    args = ["-quality", "90"]
    args += ["-grayscale"] if case.sampling == "grey" else ["-sample", str(SAMPLINGS[case.sampling])]
    if case.scan in ("progressive", "arithmetic"):
        args.append(f"-{case.scan}")
    if case.restart:
        args += ["-restart", str(case.restart)]
    image.save(ppm := io.BytesIO(), "PPM")
    coded = _tool("cjpeg", args, ppm.getvalue())
    from focuspress.engine.io.metadata import Metadata, with_metadata

    return with_metadata(coded, Metadata(exif=_exif(case.orientation)[6:], jfif=True))


def _tool(name: str, args: list[str], data: bytes) -> bytes:
    """``data`` through one of libjpeg-turbo's tools (stdin to stdout)."""
    tool = shutil.which(name)
    if tool is None:
        raise RuntimeError(f"{name} (libjpeg-turbo-progs) is needed to write the matrix's JPEGs")
    return subprocess.run([tool, *args], input=data, capture_output=True, check=True).stdout


@dataclass(frozen=True)
class Verdict:
    """What became of one case: ``ok``, ``refused`` (with its one-line ``message``) or ``wrong``."""

    case: MatrixCase
    outcome: str
    message: str = ""


#: the largest mean absolute difference (0..255) between the upright output and the upright source
#: that counts as the same picture on photos of 16 pixels a side or more (a wrong turn or flip of the
#: test photo differs by 40 or more); on smaller ones a few pixels of strong contrast at q75 can
#: differ by more, and only the nearest-of-all-turns rule below applies
MAX_MEAN_ERROR = 16.0


def _error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def judge(case: MatrixCase, source: bytes, output: bytes | None, refusal: str | None) -> Verdict:
    """Whether ``output`` is ``source`` as a viewer shows it: it decodes, at the upright size, and the
    right way round: nearer to the upright source than any flip or turn of it of the same size is."""
    from focuspress.engine.io import decode_upright

    if output is None:
        text = refusal or "no output and no reason"
        if "\n" in text.strip() or "internal error" in text or "Traceback" in text:
            return Verdict(case, "wrong", f"not a one-line reason: {text}")
        return Verdict(case, "refused", text)
    try:
        shown = decode_upright(output)
    except Exception as exc:  # a JPEG that does not decode is what this matrix exists to catch
        return Verdict(case, "wrong", f"output does not decode: {type(exc).__name__}: {exc}")
    expected = decode_upright(source)
    if shown.shape != expected.shape:
        size = f"{expected.shape[1]}x{expected.shape[0]}"
        return Verdict(case, "wrong", f"shown as {shown.shape[1]}x{shown.shape[0]}, the source as {size}")
    error = _error(shown, expected)
    turned = [np.asarray(Image.fromarray(expected).transpose(_VIEWER[o])) for o in ORIENTATIONS[1:]]
    nearer = [
        o
        for o, other in zip(ORIENTATIONS[1:], turned)
        if other.shape == shown.shape and not np.array_equal(other, expected) and _error(shown, other) < error
    ]
    if nearer:
        return Verdict(case, "wrong", f"shown turned: nearer to the source under orientation {nearer[0]}")
    if min(shown.shape[:2]) >= 16 and error > MAX_MEAN_ERROR:
        return Verdict(case, "wrong", f"differs from the upright source by {error:.1f} levels on average")
    return Verdict(case, "ok")


def run_matrix(cases: list[MatrixCase], *, saliency: str = "combined", batch: int = 16, progress=None) -> list[Verdict]:
    """Every case through the engine's pipeline (batches of ``batch``), each judged by :func:`judge`."""
    from focuspress.engine.api import shared_engine
    from focuspress.engine.options import CompressOptions
    from focuspress.engine.pipeline import Work

    engine = shared_engine(saliency)
    verdicts = []
    for start in range(0, len(cases), batch):
        chunk = cases[start : start + batch]
        sources = [source_bytes(case) for case in chunk]
        works = [Work(data, case.name, CompressOptions.parse(**case.options)) for case, data in zip(chunk, sources)]
        for case, data, outcome in zip(chunk, sources, engine.run(works)):
            output = outcome.result.data if outcome.result is not None else None
            verdicts.append(judge(case, data, output, outcome.error))
        if progress is not None:
            progress(len(chunk))
    return verdicts
