"""The progressive re-scan of a finished baseline JPEG: the same coefficients, a smaller file.

A progressive JPEG codes the same levels in several scans (DC first, then bands of AC
frequencies), which Huffman-codes them 3-8% smaller on camera photos. Two implementations of
that one lossless transform (``jpegtran -progressive``):

* **libjpeg-turbo's TurboJPEG** (``tjTransform`` with ``TJXOPT_PROGRESSIVE``, ``turbojpeg.py``):
  libjpeg's standard progression script, coded with optimized tables; about 20 ms per megapixel.
* **mozjpeg's** (``mozjpeg-lossless-optimization``, always installed): it also searches the scan
  script (``optimize_scans``), which saves about 1% more and costs about three times as long.

Which one, per file, by its bits per pixel (:data:`MOZJPEG_BELOW_BPP`). Measured on the 22
camera-native photos at q30-95 (110 files): under 0.5 bpp TurboJPEG's file is 4.6% larger than
mozjpeg's (median; 28% on a flat Leica frame at 0.08 bpp), from 0.5 to 1 bpp 1.8%, above 1 bpp
0.8-1.0%; mozjpeg's extra time is 11, 18 and 28-58 ms per megapixel. So sparse files (where the
scan search pays most and costs least) get mozjpeg's, the rest TurboJPEG's: the re-scan is the
largest single cost of a camera photo's encode, and the default must keep at least mozjpeg's own
speed (``focuspress bench latency --sizes``). Until round 4 the line was 1 bpp; the contract's
camera outputs mostly fall between 0.5 and 1.5 bpp, where mozjpeg's re-scan was a quarter of the
whole photo's time (the daemon did 1.46 camera photos a second with it, 1.69 without) for 1.8% of
bytes: the line is 0.5 bpp since. Without TurboJPEG every file gets mozjpeg's.

Photos under a megapixel (IoT snapshots, Kodak's 0.4 MP, ECSSD's) had mozjpeg's at any density
until round 4's fourth session. Measured then at the contract's defaults, against TurboJPEG's
one-pass file for the same levels: mozjpeg's scan search made the 22 camera-native photos cropped
to 1280x720 0.8% smaller (coded image, median 0.7%, at most 3.6%) and Kodak's 24 0.7% smaller, and
it cost 50-90 ms a photo, a sixth of a 720p snapshot's whole time. On Kodak re-saved at q92 the
BD-rate against libjpeg-turbo (SSIMULACRA2 60..90) went from -23.0% to -22.0%. The daemon's
throughput at 720p is what IoT operators buy, so the density line now holds at every size.
TurboJPEG's side lives in ``turbojpeg.py`` (with the one-pass write that makes this re-scan's
file without a baseline, which ``writer.py`` uses wherever TurboJPEG is installed; there the
mozjpeg line reads the progressive file's bits per pixel, about 8% under its baseline's).
"""

from __future__ import annotations

import mozjpeg_lossless_optimization as mozjpeg_opt

from focuspress.engine.jpegfile import turbojpeg
from focuspress.engine.jpegfile.levels import within_baseline

#: the system's TurboJPEG, or None (``turbojpeg.py``)
_turbojpeg = turbojpeg.library


def backend() -> str:
    """Which implementation :func:`progressive` uses here: ``turbojpeg`` or ``mozjpeg``."""
    return "turbojpeg" if _turbojpeg() is not None else "mozjpeg"


#: what an operator is told where TurboJPEG is missing (the daemon's start, ``--version``, the
#: latency bench). A pip install cannot bring it (no wheel ships TurboJPEG's API, and jpeglib's
#: libjpeg builds write coefficients as one sequential scan whatever their flags), and its absence
#: is otherwise silent: on camera-native's 22 photos cropped to 1920x1080 the final write took 121
#: ms a photo instead of 27 and the contract 237 ms instead of 155, for 0.8% fewer bytes.
SLOW_RESCAN = (
    "progressive re-scan: mozjpeg's, about 4x slower than libjpeg-turbo's TurboJPEG, which is not "
    "installed (a 1080p photo's contract takes about 1.5x as long): install libturbojpeg "
    "(Debian/Ubuntu: apt install libturbojpeg0)"
)


def backend_line() -> str:
    """The re-scan in one line for an operator: which implementation, and what to do where it is
    the slow one."""
    return "progressive re-scan: libjpeg-turbo's TurboJPEG" if backend() == "turbojpeg" else SLOW_RESCAN


#: a file under this many bits per pixel is re-scanned by mozjpeg (see the module's docstring)
MOZJPEG_BELOW_BPP = 0.5


def progressive(baseline: bytes, *, pixels: int) -> bytes:
    """``baseline`` (a JPEG without markers, ``pixels`` in the image) re-scanned progressive,
    losslessly, by the implementation its size calls for (see the module's docstring)."""
    dense = len(baseline) * 8 >= MOZJPEG_BELOW_BPP * pixels
    if dense and _turbojpeg() is not None:
        try:
            return turbojpeg_progressive(baseline)
        except RuntimeError:
            pass  # a file TurboJPEG will not transform: mozjpeg's transform is the same kind
    return mozjpeg_progressive(baseline)


def mozjpeg_progressive(baseline: bytes) -> bytes:
    """mozjpeg's progressive re-scan with its scan search."""
    return mozjpeg_opt.optimize(baseline, copy=mozjpeg_opt.COPY_MARKERS.NONE)


def turbojpeg_progressive(baseline: bytes) -> bytes:
    """libjpeg-turbo's progressive re-scan (``RuntimeError`` with TurboJPEG's message when it fails)."""
    return turbojpeg.progressive(baseline)


def source_rescan(jpeg: bytes) -> bytes:
    """A source JPEG (as a camera wrote it, markers and all) re-scanned losslessly: the smaller of
    TurboJPEG's and mozjpeg's progressive files, without markers (the never-larger path's lossless
    outcome). ``ValueError`` where the source is refused.

    Why the checks: mozjpeg's library ends the whole process (``exit(1)``, no message) on levels it
    cannot code, and a damaged source can decode to such levels (the fuzz test found one: a mutated
    64x48 JPEG whose bad Huffman codes decode to a chroma DC of 4474, past the 11 bits a baseline
    DC holds). Where TurboJPEG is installed its re-scan reads the source first and raises on any
    warning (a damaged source is kept as it is), and its file is one of the two weighed; elsewhere
    jpeglib reads the levels (a fatal libjpeg error raises) and a level out of a baseline's range
    refuses the source."""
    turbo = None
    if _turbojpeg() is not None:
        try:
            turbo = turbojpeg_progressive(jpeg)
        except RuntimeError as exc:
            raise ValueError(f"TurboJPEG refused to re-scan it: {exc}") from None
    else:
        _check_levels(jpeg)
    moz = mozjpeg_progressive(jpeg)
    return moz if turbo is None or len(moz) <= len(turbo) else turbo


def _check_levels(jpeg: bytes) -> None:
    """``ValueError`` unless jpeglib reads ``jpeg``'s levels and each fits a baseline JPEG's codes."""
    # (jpeglib and its libjpeg build, loaded only where TurboJPEG is missing)
    from focuspress.engine.jpegfile.reader import read_dct

    try:
        coefficients = read_dct(jpeg)
    except (OSError, ValueError, IndexError) as exc:
        raise ValueError(f"libjpeg cannot read its levels: {exc}") from None
    for name in ("Y", "Cb", "Cr", "K"):
        levels = getattr(coefficients, name, None)
        if levels is not None and not within_baseline(levels):
            raise ValueError(f"its {name} levels are out of a baseline JPEG's range (damaged entropy data)")
