"""``focuspress bench latency | startup | memory | savings``: time, memory and savings per photo.

* latency: each photo through the daemon's stages (the pipeline's :data:`STAGES`: read; decode,
  a big JPEG's 1/8-scale preview plus any full-size decode the encoder asks for; map; encode,
  the DCT read, quantization and entropy coding; write: atomic and fsynced), warm, in ms and
  ms per megapixel; beside it
  mozjpeg's and libjpeg-turbo's encoders on the same (decoded) pixels at the same quality (``-q``,
  or the quality the contract settled on for that photo), the same run on the same machine.
* startup: whole ``focuspress compress`` processes, wall time: one photo, and a missing input.
* memory: peak RSS of whole ``focuspress compress`` processes on a photo of a given size
  (a camera photo resized, saved as a q95 JPEG), with and without ``--metrics``.
* savings: a folder of real JPEGs at default settings: bytes in and out, outcome, SSIMULACRA2
  against the source, and the medians.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from focuspress.engine.pipeline import STAGES
from focuspress.engine.saliency import DEFAULT_SALIENCY


def time_stages(engine, image: Path, options, folder: Path):
    """One photo through the daemon's stages (the pipeline's, plus the read and the durable write):
    (ms per stage of :data:`STAGES` as an array, the loaded image, the result)."""
    from focuspress.engine.errors import FocuspressError, InputError, Reason
    from focuspress.engine.io import atomic_write
    from focuspress.engine.io.load import read_bytes
    from focuspress.engine.pipeline import Work

    t0 = time.perf_counter()
    data = read_bytes(image)
    read_ms = (time.perf_counter() - t0) * 1000.0
    outcome = engine.run([Work(data, image.name, options, keep_image=True)])[0]
    if outcome.result is None:
        # a photo it refuses is the user's input (one line from the CLI); a bug stays one (a traceback)
        error = InputError if outcome.reason is not Reason.INTERNAL else FocuspressError
        raise error(outcome.error or f"{image.name}: refused")
    t1 = time.perf_counter()
    atomic_write(folder / "out.jpg", outcome.result.data)
    timings = dict(outcome.result.timings_ms, read=read_ms, write=(time.perf_counter() - t1) * 1000.0)
    return np.array([timings.get(stage, 0.0) for stage in STAGES]), outcome.image, outcome.result


def _encode_ms(rgb: np.ndarray, encoder: str, repeat: int, quality: int) -> float:
    """Median ms of an anchor encoder (at ``quality``, its defaults otherwise) on ``rgb``."""
    import io

    import jpeglib
    from PIL import Image

    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        if encoder == "mozjpeg":
            fd, name = tempfile.mkstemp(suffix=".jpg")
            os.close(fd)
            with jpeglib.version("mozjpeg403"):
                jpeglib.from_spatial(rgb).write_spatial(name, qt=quality)
            os.unlink(name)
        else:
            Image.fromarray(rgb).save(io.BytesIO(), "JPEG", quality=quality, optimize=True, subsampling=2)
        times.append((time.perf_counter() - t0) * 1000.0)
    return float(np.median(times))


@dataclass
class PhotoTiming:
    name: str
    megapixels: float
    stages_ms: np.ndarray
    mozjpeg_ms: float
    turbo_ms: float
    outcome: str
    route: str


def measure(
    paths: list[Path],
    *,
    repeat: int = 1,
    saliency: str = DEFAULT_SALIENCY,
    anchors: bool = True,
    quality: float | None = None,
) -> list[str]:
    """Per-photo and total lines for ``focuspress bench latency``."""
    t_start = time.perf_counter()
    from focuspress.engine import CompressOptions, Engine
    from focuspress.engine.io import load_image

    import_s = time.perf_counter() - t_start
    engine = Engine(saliency=saliency)
    t0 = time.perf_counter()
    engine.warm_up()
    load_s = time.perf_counter() - t0
    options = CompressOptions(quality=quality)
    timings: list[PhotoTiming] = []
    how = f"-q {quality:g}" if quality is not None else "the fidelity contract (default)"
    lines = [f"{len(paths)} photo(s), {how}, saliency {saliency}, model on {engine.device}, {os.cpu_count()} cores"]
    lines.append(f"imports {import_s * 1000:.0f} ms, model load and first call {load_s * 1000:.0f} ms")
    with tempfile.TemporaryDirectory() as folder:
        time_stages(engine, paths[0], options, Path(folder))  # warm caches and code paths
        for path in paths:
            rounds = [time_stages(engine, path, options, Path(folder)) for _ in range(repeat)]
            ms = np.median(np.array([r[0] for r in rounds]), axis=0)
            image, result = rounds[-1][1], rounds[-1][2]
            megapixels = image.width * image.height / 1e6
            moz = turbo = float("nan")
            at = int(round(min(100.0, max(1.0, quality if quality is not None else result.quality))))
            if anchors:
                rgb = load_image(path).rgb  # the same pixels, decoded (not timed)
                moz, turbo = _encode_ms(rgb, "mozjpeg", repeat, at), _encode_ms(rgb, "turbo", repeat, at)
                del rgb
            timings.append(PhotoTiming(path.name, megapixels, ms, moz, turbo, result.outcome, result.route))
            stage_text = ", ".join(f"{n} {v:.0f}" for n, v in zip(STAGES, ms))
            total = ms.sum()
            lines.append(
                f"{path.name}: {megapixels:.1f} MP, {stage_text} = {total:.0f} ms = {total / megapixels:.0f} ms/MP "
                f"({result.route}, {result.outcome}); at q{at}: mozjpeg {moz / megapixels:.0f} ms/MP, "
                f"libjpeg-turbo {turbo / megapixels:.0f} ms/MP"
            )
    total_mp = sum(t.megapixels for t in timings)
    per_stage = np.sum([t.stages_ms for t in timings], axis=0) / total_mp
    ours = per_stage.sum()
    moz = sum(t.mozjpeg_ms for t in timings) / total_mp
    turbo = sum(t.turbo_ms for t in timings) / total_mp
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    lines.append(
        "all photos, ms/MP: " + ", ".join(f"{n} {v:.0f}" for n, v in zip(STAGES, per_stage)) + f" = {ours:.0f} ms/MP"
    )
    if anchors:
        verdict = "faster than" if ours <= moz else "slower than"
        lines.append(
            f"focuspress end to end {ours:.0f} ms/MP vs mozjpeg encode at the same quality {moz:.0f} ms/MP "
            f"({moz / ours:.2f}x: {verdict} "
            f"mozjpeg) and libjpeg-turbo encode {turbo:.0f} ms/MP"
        )
    lines.append(f"peak RSS of this process: {peak:.0f} MB")
    return lines


def _peak_of(command: list[str]) -> tuple[float, float, int, str]:
    """Wall time and peak RSS of one process, measured by a fresh helper so earlier children do not count."""
    helper = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE); "
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0; "
        "print(time.perf_counter() - t, peak, p.returncode); "
        "sys.stderr.write(p.stderr.decode(errors='replace'))"
    )
    proc = subprocess.run([sys.executable, "-c", helper, *command], capture_output=True, text=True)
    wall, peak, code = proc.stdout.split()
    return float(wall), float(peak), int(code), proc.stderr


def startup(photo: Path, *, repeat: int = 3) -> list[str]:
    """Whole-process times: compress one photo; and a missing input (refused before any model)."""
    cli = [sys.executable, "-m", "focuspress", "compress"]
    with tempfile.TemporaryDirectory() as folder:
        runs = [_peak_of([*cli, str(photo), "-o", folder, "--overwrite"]) for _ in range(repeat)]
        missing = [_peak_of([*cli, str(Path(folder) / "no-such-photo.jpg"), "-o", folder]) for _ in range(repeat)]
    ok = [r for r in runs if r[2] == 0]
    if not ok:
        raise RuntimeError(runs[0][3])
    return [
        f"focuspress compress {photo.name}: median {np.median([r[0] for r in ok]):.2f} s wall "
        f"(runs: {', '.join(f'{r[0]:.2f}' for r in ok)}), peak RSS {max(r[1] for r in ok):.0f} MB",
        f"missing input: median {np.median([r[0] for r in missing]):.2f} s wall, exit {missing[0][2]}: "
        f"{missing[0][3].strip()}",
    ]


def big_jpeg(source: Path, megapixels: float, target: Path) -> Path:
    """``source`` resized (Lanczos) to about ``megapixels`` and saved as a q95 4:2:0 JPEG."""
    from PIL import Image

    from focuspress.engine.io import load_image

    rgb = load_image(source).rgb
    scale = (megapixels * 1e6 / (rgb.shape[0] * rgb.shape[1])) ** 0.5
    size = (int(rgb.shape[1] * scale) // 16 * 16, int(rgb.shape[0] * scale) // 16 * 16)
    Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS).save(target, "JPEG", quality=95, subsampling=2)
    return target


def memory(source: Path, megapixels: float = 24.0) -> list[str]:
    """Peak RSS of ``focuspress compress`` on a photo of ``megapixels``, without and with --metrics."""
    cli = [sys.executable, "-m", "focuspress", "compress"]
    with tempfile.TemporaryDirectory() as folder:
        photo = big_jpeg(source, megapixels, Path(folder) / f"photo-{megapixels:.0f}mp.jpg")
        from PIL import Image

        with Image.open(photo) as image:
            size = f"{image.size[0]}x{image.size[1]} ({image.size[0] * image.size[1] / 1e6:.1f} MP)"
        lines = [f"photo: {source.name} resized to {size}, q95 4:2:0, {photo.stat().st_size / 1e6:.1f} MB"]
        for extra in ([], ["--metrics"]):
            wall, peak, code, err = _peak_of([*cli, str(photo), "-o", str(Path(folder) / "out"), "--overwrite", *extra])
            if code != 0:
                raise RuntimeError(err)
            label = "focuspress compress" + (" --metrics" if extra else "")
            lines.append(f"{label}: peak RSS {peak:.0f} MB, {wall:.1f} s wall")
    return lines


def savings(paths: list[Path], *, saliency: str = DEFAULT_SALIENCY) -> list[str]:
    """Default settings over real JPEGs: per photo and median saving and SSIMULACRA2 against the source."""
    from focuspress.engine import CompressOptions, Engine
    from focuspress.engine.io import decode_upright, load_image
    from focuspress.engine.jpegfile.rescan import mozjpeg_progressive
    from focuspress.engine.metrics import ssimulacra2

    engine = Engine(saliency=saliency)
    lines, saved, scores, lossless = [], [], [], []
    for path in paths:
        image = load_image(path)
        result = engine.compress(image, CompressOptions())
        score = ssimulacra2(image.rgb, decode_upright(result.data))
        saving = 1.0 - result.bytes / image.source_bytes
        moz = float("nan")
        if image.jpeg is not None and image.data is not None:
            moz = 1.0 - len(mozjpeg_progressive(image.data)) / image.source_bytes
        saved.append(saving)
        scores.append(score)
        lossless.append(moz)
        sizes = f"{image.source_bytes / 1e6:.2f} MB -> {result.bytes / 1e6:.2f} MB"
        lines.append(
            f"{path.name}: {image.width}x{image.height}, {sizes} "
            f"({100 * saving:.1f}% smaller, {result.outcome}), SSIMULACRA2 {score:.1f} vs the source; "
            f"mozjpeg's lossless re-scan alone: {_rescan_size(moz)}"
        )
    jpegs = [value for value in lossless if value == value]
    lines.append(
        f"median saving {100 * np.median(saved):.1f}% (mean {100 * np.mean(saved):.1f}%), median SSIMULACRA2 "
        f"{np.median(scores):.1f} vs the source; "
        f"mozjpeg's lossless re-scan alone: median {_rescan_size(float(np.median(jpegs)) if jpegs else float('nan'))}"
    )
    return lines


def _rescan_size(saving: float) -> str:
    """A lossless re-scan's size change, or why there is none (the source is not a JPEG)."""
    return "n/a (not a JPEG)" if saving != saving else f"{-100 * saving:+.1f}% size"


#: (width, height) of the sweep's crops: what IoT and security cameras drop, then bigger frames;
#: None: the whole photo (3.8-16 MP on camera-native)
SWEEP_SIZES: tuple[tuple[int, int] | None, ...] = ((640, 480), (1280, 720), (1920, 1080), (2560, 1440), None)


@dataclass
class SizeRow:
    """One size of the sweep: ms per megapixel of each encoder, summed over the photos, and how many;
    ``worst``: the highest contract / ``-q`` of one photo (a sum hides a photo whose fixed encode
    has less to do: a 4:2:0 source has no chroma sampling to choose)."""

    label: str
    megapixels: float
    photos: int
    contract: float
    fixed: float
    mozjpeg: float
    turbo: float
    worst: float = float("nan")

    @property
    def ratio(self) -> float:
        return self.contract / self.fixed if self.fixed else float("nan")


def _best(engine, work: list, repeat: int) -> float:
    """The fastest of ``repeat`` pipeline runs of ``work``, in ms (a warm engine; the machine's other
    work costs the others)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        engine.run(work)
        times.append((time.perf_counter() - t0) * 1000.0)
    return min(times)


def size_sweep(
    paths: list[Path],
    *,
    sizes=SWEEP_SIZES,
    quality: float = 75.0,
    repeat: int = 2,
    saliency: str = DEFAULT_SALIENCY,
    progress=None,
) -> list[SizeRow]:
    """The contract and one fixed-quality encode (``-q``), end to end through the pipeline (decode,
    map, encode; in memory), and mozjpeg's and libjpeg-turbo's encoders at the same quality on the
    same decoded pixels, on lossless centre crops of ``paths`` at each of ``sizes`` (photos smaller
    than a size are left out of it). Each time is the best of ``repeat``."""
    import io

    from PIL import Image

    from focuspress.engine import CompressOptions, Engine
    from focuspress.engine.io import decode_upright
    from focuspress.engine.pipeline import Work
    from focuspress.evaluation import lossless_crop

    engine = Engine(saliency=saliency)
    engine.warm_up()
    contract, fixed = CompressOptions(), CompressOptions(quality=quality)
    rows = []
    for size in sizes:
        totals = {"contract": 0.0, "fixed": 0.0, "mozjpeg": 0.0, "turbo": 0.0}
        megapixels, count, worst = 0.0, 0, 0.0
        for path in paths:
            data = path.read_bytes()
            if size is not None:
                with Image.open(io.BytesIO(data)) as whole:
                    if whole.size[0] < size[0] or whole.size[1] < size[1]:
                        continue
                data = lossless_crop(data, size)
            work = [Work(data, path.name, contract)]
            engine.run(work)  # caches warm for this photo (its first run pays for them)
            spent, once = _best(engine, work, repeat), _best(engine, [Work(data, path.name, fixed)], repeat)
            totals["contract"] += spent
            totals["fixed"] += once
            worst = max(worst, spent / once)
            rgb = decode_upright(data)
            totals["mozjpeg"] += min(_encode_ms(rgb, "mozjpeg", 1, int(quality)) for _ in range(repeat))
            totals["turbo"] += min(_encode_ms(rgb, "turbo", 1, int(quality)) for _ in range(repeat))
            megapixels += rgb.shape[0] * rgb.shape[1] / 1e6
            count += 1
            if progress is not None:
                progress()
        if count:
            label = "whole photos" if size is None else f"{size[0]}x{size[1]}"
            per = {key: value / megapixels for key, value in totals.items()}
            rows.append(SizeRow(label, megapixels / count, count, **per, worst=worst))
    return rows


def sweep_lines(rows: list[SizeRow], quality: float) -> list[str]:
    """Markdown: per size, ms per megapixel of each encoder and the contract's ratio to ``-q``."""
    q = f"{quality:g}"
    lines = [
        f"| size | MP | photos | contract ms/MP | `-q {q}` ms/MP | contract / `-q {q}` | worst photo "
        f"| mozjpeg q{q} ms/MP | libjpeg-turbo q{q} ms/MP | contract / mozjpeg |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.label} | {row.megapixels:.1f} | {row.photos} | {row.contract:.0f} | {row.fixed:.0f} "
            f"| {row.ratio:.2f}x | {row.worst:.2f}x | {row.mozjpeg:.0f} | {row.turbo:.0f} "
            f"| {row.contract / row.mozjpeg:.2f}x |"
        )
    return lines


def plot_sweep(rows: list[SizeRow], quality: float, path: Path) -> Path:
    """ms per megapixel against megapixels, one line per encoder (log-scaled megapixels)."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.2))
    x = [row.megapixels for row in rows]
    for key, label in (
        ("contract", "focuspress, the contract (default)"),
        ("fixed", f"focuspress -q {quality:g}"),
        ("mozjpeg", f"mozjpeg q{quality:g} (encoder alone)"),
        ("turbo", f"libjpeg-turbo q{quality:g} (encoder alone)"),
    ):
        axes.plot(x, [getattr(row, key) for row in rows], marker="o", label=label)
    axes.set_xscale("log")
    axes.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    labels = [f"{row.label.replace('whole photos', 'whole')}\n{row.megapixels:.1f} MP" for row in rows]
    axes.set_xticks(x, labels, fontsize=8)
    axes.set_xlabel("photo size (megapixels, log scale)")
    axes.set_ylabel("ms per megapixel (warm, end to end)")
    axes.set_title("Time per megapixel by photo size (2 cores)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
