"""``focuspress bench ...``: rate-distortion, latency, throughput, daemon load and fuzzing."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from focuspress.cli.common import EXIT_FAILURE, choice_option, err, note, out, refuse, saliency_option
from focuspress.engine.saliency import DEFAULT_SALIENCY

bench_app = typer.Typer(
    help="Rate-distortion and throughput benchmarks against libjpeg-turbo, mozjpeg, jpegli, WebP, AVIF, JPEG XL.",
    invoke_without_command=True,
    no_args_is_help=False,
)
#: the daemon's executors `bench daemon` can run (ray needs a cluster the load test does not start)
DAEMON_EXECUTORS = ("processes", "local")
DEFAULT_CODECS = (
    "focuspress-block,focuspress-block-roi0,focuspress-pixel,jpeg-turbo,mozjpeg,jpegli,webp,avif-444,avif-420,jxl"
)


@bench_app.callback()
def bench(
    ctx: typer.Context,
    data: Annotated[
        Optional[Path], typer.Option("--data", help="Folder of test images (e.g. ../shared/data/kodak).")
    ] = None,
    codecs_list: Annotated[str, typer.Option("--codecs", help="Comma-separated codec names.")] = DEFAULT_CODECS,
    masks: Annotated[Optional[Path], typer.Option("--masks", help="Folder of ROI masks named like the images.")] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Worker processes.")] = 2,
    quick: Annotated[bool, typer.Option("--quick", help="3 images, every other quality point (CI).")] = False,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Use only the first N images.")] = None,
    anchor: Annotated[str, typer.Option("--anchor", help="Codec the BD-rates are measured against.")] = "jpeg-turbo",
    s2_window: Annotated[str, typer.Option("--s2-window", help="SSIMULACRA2 window for windowed BD-rates.")] = "50,90",
    source_jpeg: Annotated[
        Optional[int],
        typer.Option(
            "--source-jpeg",
            min=1,
            max=100,
            help="Start from JPEGs: re-save each photo with libjpeg-turbo at this quality (4:2:0) and score "
            "against the decoded source (a folder of JPEGs is used as it is without this).",
        ),
    ] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Results folder.")] = Path("benchmarks/results/run"),
) -> None:
    """Sweep every codec's quality over the images, score every output, write
    results.json, summary.md and RD plots to OUTPUT.

    Example: focuspress bench --data ../shared/data/kodak -o benchmarks/results/kodak
    """
    if ctx.invoked_subcommand is not None:
        return
    from rich.progress import Progress

    _require_bench_extra()
    from focuspress.bench import codecs as codec_registry
    from focuspress.bench import report, runner

    if data is None or not data.is_dir():
        refuse(f"--data must be a folder of images (got {data})")
    names = [name.strip() for name in codecs_list.split(",") if name.strip()]
    known = codec_registry.available()
    unknown = [name for name in names if name not in known]
    if unknown:
        refuse(f"unknown codec(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if anchor not in known:
        refuse(f"--anchor: unknown codec {anchor!r}; known: {', '.join(sorted(known))}")
    if anchor not in names:
        names.append(anchor)
    try:
        lo, hi = (float(v) for v in s2_window.split(","))
    except ValueError:
        refuse(f"--s2-window takes two numbers like 50,90 (got {s2_window})")
    report.set_window("ssimulacra2", (lo, hi))
    images = runner.list_images(data, 3 if quick and not limit else limit)
    if not images:
        refuse(f"{data}: no images")
    with Progress(console=err) as progress:
        task = progress.add_task("encoding, decoding, scoring", total=len(images) * len(names))
        try:
            rows = runner.run(
                images,
                names,
                masks=masks,
                jobs=jobs,
                quick=quick,
                progress=lambda _: progress.advance(task),
                source_jpeg=source_jpeg,
            )
        except runner.CodecFailure as exc:
            refuse(str(exc), EXIT_FAILURE)
    runner.save_rows(rows, output)
    summary = report.summary_markdown(rows, anchor, f"focuspress bench: {data.name}")
    (output / "summary.md").write_text(summary)
    report.plot(rows, output)
    out.print(summary, highlight=False)
    out.print(f"results in {output}/ (results.json, summary.md, rd_*.png)", highlight=False)


@bench_app.command("daemon")
def bench_daemon(
    data: Annotated[Path, typer.Option("--data", help="Images to drop (cycled to reach --count).")] = Path(
        "../shared/data/kodak"
    ),
    count: Annotated[int, typer.Option("--count", min=1, help="How many files to drop at once.")] = 200,
    workers: Annotated[int, typer.Option("--workers", min=1)] = 2,
    saliency: Annotated[str, saliency_option()] = DEFAULT_SALIENCY,
    executor: Annotated[
        str,
        choice_option(
            "--executor", DAEMON_EXECUTORS, "The daemon's executor: processes (its default) or local (threads)."
        ),
    ] = "processes",
) -> None:
    """Drop COUNT images at once into a real daemon's inbox; report images/s, latency, memory."""
    from focuspress.bench.daemon_load import run_load

    _image_folder(data)
    report_lines = run_load(data, count, workers=workers, saliency=saliency, executor=executor, console=err)
    for line in report_lines:
        out.print(line, highlight=False, soft_wrap=True)


@bench_app.command("publish")
def bench_publish(
    data_root: Annotated[Path, typer.Option("--data-root", help="The shared data folder.")] = Path("../shared/data"),
    output: Annotated[Path, typer.Option("-o", "--output", help="Where README.md and plots/ go.")] = Path("benchmarks"),
    jobs: Annotated[int, typer.Option("--jobs", min=1)] = 2,
    ecssd_images: Annotated[int, typer.Option("--ecssd-images", min=1)] = 80,
    only: Annotated[
        Optional[str], typer.Option("--only", help="Comma-separated sections to run again; the others are reused.")
    ] = None,
    reuse: Annotated[bool, typer.Option("--reuse", help="Run nothing: rewrite from saved results.json files.")] = False,
    savings: Annotated[
        bool, typer.Option("--savings/--no-savings", help="Also run the camera folder at default settings.")
    ] = True,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace README.md even where it holds notes written since publish last wrote it (else the "
            "page goes to README.generated.md beside it).",
        ),
    ] = False,
) -> None:
    """Run the benchmark sections (Kodak, Kodak and photos as q92 JPEG inputs, ECSSD ROI, the camera
    folder at default settings) and rewrite benchmarks/README.md with tables and plots.

    Example: focuspress bench publish --only kodak-q92
    """
    from rich.progress import Progress

    _require_bench_extra()
    from focuspress.bench.publish import SECTIONS, contract_parts, load_rows, sweep, write_readme

    chosen = [name.strip() for name in (only or "").split(",") if name.strip()]
    known = [section.name for section in SECTIONS]
    if any(name not in known for name in chosen):
        refuse(f"--only: sections are {', '.join(known)}")
    results = {}
    with Progress(console=err) as progress:
        for section in SECTIONS:
            saved = output / "results" / section.name / "results.json"
            if reuse or (chosen and section.name not in chosen):
                if saved.exists():
                    results[section.name] = load_rows([saved])
                continue
            if not (data_root / section.data).is_dir():
                err.print(f"skipped {section.name}: {data_root / section.data} not found", highlight=False)
                continue
            task = progress.add_task(section.name, total=None)
            results[section.name] = sweep(
                section,
                data_root,
                output,
                jobs=jobs,
                ecssd_images=ecssd_images,
                progress=functools.partial(_advance, progress, task),
            )
    savings_lines = None
    camera = data_root / "camera"
    if savings and not reuse and camera.is_dir():
        from focuspress.bench.latency import savings as run_savings

        savings_lines = run_savings(_photos([camera]))
        (output / "results").mkdir(parents=True, exist_ok=True)
        (output / "results" / "camera-savings.txt").write_text("\n".join(savings_lines) + "\n")
    elif (output / "results" / "camera-savings.txt").exists():
        savings_lines = (output / "results" / "camera-savings.txt").read_text().splitlines()
    if not results and not savings_lines and not contract_parts(output / "results"):
        refuse(f"nothing to publish: no section's data under {data_root} and no saved results under {output}")
    readme = write_readme(results, output, savings_lines, overwrite=overwrite)
    out.print(readme.read_text(), highlight=False, markup=False)
    if readme.name == "README.md":
        out.print(f"wrote {readme}", highlight=False)
    else:
        note(
            f"{output / 'README.md'} holds notes written since bench publish last wrote it: the page is "
            f"{readme} (merge what you want; --overwrite replaces README.md)"
        )


@bench_app.command("latency")
def bench_latency(
    images: Annotated[
        list[Path], typer.Argument(help="Photos or folders of photos (e.g. ../shared/data/camera).", show_default=False)
    ],
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="Rounds per photo (the median is shown).")] = 1,
    saliency: Annotated[str, saliency_option()] = DEFAULT_SALIENCY,
    anchors: Annotated[
        bool, typer.Option("--anchors/--no-anchors", help="Also time mozjpeg and libjpeg-turbo.")
    ] = True,
    quality: Annotated[
        Optional[float],
        typer.Option("-q", "--quality", min=1, max=100, help="A fixed quality (default: the contract)."),
    ] = None,
    sizes: Annotated[
        bool,
        typer.Option(
            "--sizes",
            help="The size sweep: lossless crops at 640x480, 1280x720, 1920x1080, 2560x1440 and whole photos; "
            "the contract, -q (75 unless given), mozjpeg and libjpeg-turbo in ms/MP per size.",
        ),
    ] = False,
    plot: Annotated[
        Optional[Path], typer.Option("--plot", help="With --sizes: write the ms/MP-by-size plot here (PNG).")
    ] = None,
) -> None:
    """Per photo: load, map, compositor and write (warm) in ms and ms/MP, against mozjpeg's and
    libjpeg-turbo's encoders on the same pixels in the same run; peak RSS. With --sizes, the same
    by photo size (JPEG photos, cropped losslessly), best of --repeat runs (2 at least).

    Examples: focuspress bench latency ../shared/data/camera;
    focuspress bench latency ../shared/data/camera-native --sizes --plot benchmarks/plots/latency_sizes.png
    """
    from focuspress.bench.latency import measure
    from focuspress.engine.api import rescan_backend

    paths = _photos(images)
    # the figures depend on it: without libturbojpeg the encodes take mozjpeg's slower re-scan
    out.print(rescan_backend()[1], highlight=False, markup=False, soft_wrap=True)
    if sizes:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        from focuspress.bench.latency import SWEEP_SIZES, plot_sweep, size_sweep, sweep_lines

        jpegs = [p for p in paths if p.suffix.lower() in (".jpg", ".jpeg")]
        if not jpegs:
            refuse("--sizes crops JPEG photos losslessly: give JPEGs (e.g. ../shared/data/camera-native)")
        at = quality if quality is not None else 75.0
        with Progress(
            "{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err, transient=True
        ) as bar:
            task = bar.add_task("sizes", total=len(jpegs) * len(SWEEP_SIZES))
            rows = size_sweep(
                jpegs, quality=at, repeat=max(2, repeat), saliency=saliency, progress=lambda: bar.advance(task)
            )
        for line in sweep_lines(rows, at):
            out.print(line, highlight=False, markup=False, soft_wrap=True)
        if plot is not None:
            out.print(f"plot: {plot_sweep(rows, at, plot)}", highlight=False)
        return
    for line in measure(paths, repeat=repeat, saliency=saliency, anchors=anchors, quality=quality):
        out.print(line, highlight=False, markup=False, soft_wrap=True)


@bench_app.command("startup")
def bench_startup(
    image: Annotated[Path, typer.Argument(help="A photo (e.g. ../shared/data/kodak/kodim01.png).")],
    repeat: Annotated[int, typer.Option("--repeat", min=1)] = 3,
) -> None:
    """Whole `focuspress compress` processes: one photo, and a missing input, wall time and peak RSS."""
    from focuspress.bench.latency import startup

    for line in startup(image, repeat=repeat):
        out.print(line, highlight=False, markup=False, soft_wrap=True)


@bench_app.command("memory")
def bench_memory(
    image: Annotated[Path, typer.Argument(help="A photo to resize (e.g. a camera photo).")],
    megapixels: Annotated[float, typer.Option("--megapixels", min=0.1, help="Size to test at.")] = 24.0,
) -> None:
    """Peak RSS of `focuspress compress` (and with --metrics) on a photo of --megapixels (a q95 JPEG)."""
    from focuspress.bench.latency import memory

    for line in memory(image, megapixels):
        out.print(line, highlight=False, markup=False, soft_wrap=True)


@bench_app.command("savings")
def bench_savings(
    data: Annotated[Path, typer.Option("--data", help="A folder of JPEGs (e.g. ../shared/data/camera).")],
    saliency: Annotated[str, saliency_option()] = DEFAULT_SALIENCY,
) -> None:
    """What an inbox of real JPEGs saves at default settings: per photo and median, with SSIMULACRA2 vs the source."""
    from focuspress.bench.latency import savings

    for line in savings(_photos([data]), saliency=saliency):
        out.print(line, highlight=False, markup=False, soft_wrap=True)


def _advance(progress, task, _result=None) -> None:
    progress.advance(task)


def _image_folder(data: Path) -> None:
    """Refuse (one line, exit 2) a ``--data`` that is not a folder holding images, before any work:
    the load tests would otherwise end with a bare exit 1 on an empty folder."""
    from focuspress.bench.runner import list_images

    if not data.is_dir():
        refuse(f"--data must be a folder of images (got {data})")
    if not list_images(data):
        refuse(f"{data}: no images")


def _photos(paths: list[Path]) -> list[Path]:
    from focuspress.engine.io.plan import photos_in

    found: list[Path] = []
    for path in paths:
        if not path.exists():
            refuse(f"{path}: no such file or folder")
        found += photos_in(path)[0] if path.is_dir() else [path]
    if not found:
        refuse("no photos given")
    return found


@bench_app.command("throughput")
def bench_throughput(
    data: Annotated[Path, typer.Option("--data", help="Photo folder (e.g. ../shared/data/kodak).")],
    modes: Annotated[
        str, typer.Option("--modes", help="Comma-separated: local-1, local-2 (threads), ray-1, ray-2 (actors).")
    ] = "local-1,local-2,ray-1,ray-2",
    saliency: Annotated[str, saliency_option()] = DEFAULT_SALIENCY,
    rounds: Annotated[int, typer.Option("--rounds", min=1, help="Pass over the folder this many times.")] = 1,
) -> None:
    """Images/s of the daemon's pipeline (journal, decode, saliency, compositor, durable write)
    with the local pool and with Ray, plus per-stage times and the journal's ceiling.

    Example: focuspress bench throughput --data ../shared/data/kodak
    """
    from focuspress.bench.throughput import MODES, run

    chosen = [m.strip() for m in modes.split(",") if m.strip()]
    bad = [m for m in chosen if m not in MODES]
    if bad:
        refuse(f"unknown mode(s) {', '.join(bad)} (known: {', '.join(MODES)})")
    _image_folder(data)
    results = run(data, chosen, saliency=saliency, rounds=rounds, console=err)
    table = Table(
        title=f"throughput: {results['images']} photos from {data}, saliency {saliency}, {os.cpu_count()} cores"
    )
    table.add_column("mode")
    table.add_column("seconds", justify="right")
    table.add_column("images/s", justify="right")
    for mode, row in results["modes"].items():
        table.add_row(mode, f"{row['seconds']:.1f}", f"{row['images_per_s']:.2f}")
    out.print(table)
    stages = results["stages_ms"]
    out.print(
        "per photo, one thread (median ms): "
        + ", ".join(f"{k} {v:.0f}" for k, v in stages.items())
        + f"; total {sum(stages.values()):.0f}",
        highlight=False,
    )
    out.print(f"journal ceiling: {results['journal_files_per_s']:.0f} files/s (4 fsynced transitions each)")


@bench_app.command("fuzz")
def bench_fuzz(
    cases: Annotated[int, typer.Option("--cases", min=1, help="How many mutated files to try.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Run seed: the same seed gives the same cases.")] = 0,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Worker processes.")] = 2,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Per-case time limit (s): over it = hang.")] = 20,
    memory_mb: Annotated[
        int, typer.Option("--memory-mb", min=0, help="Address-space cap per worker (0: none).")
    ] = 2048,
    findings: Annotated[
        Optional[Path], typer.Option("--save-findings", help="Folder for the bytes of every finding.")
    ] = None,
) -> None:
    """Mutate valid images (every supported format and mode) and push each through decode and
    compress. Prints counts per outcome; exits 1 if any case crashed, hung, died or wrote a bad JPEG.

    Example: focuspress bench fuzz --cases 10000 --seed 0
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from focuspress.bench.fuzz.cases import VERDICTS
    from focuspress.bench.fuzz.runner import fuzz

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("fuzzing", total=cases)
        report = fuzz(
            cases,
            seed=seed,
            jobs=jobs,
            timeout=timeout,
            memory_mb=memory_mb,
            save_findings=findings,
            progress=lambda n: bar.advance(task, n),
        )
    table = Table(
        title=f"fuzz: {report.cases} cases, seed {seed}, {report.seconds:.1f} s "
        f"({report.cases / max(report.seconds, 1e-9):.0f}/s), worker peak RSS {report.peak_rss_mb:.0f} MB"
    )
    table.add_column("seed file")
    for outcome in VERDICTS:
        table.add_column(outcome, justify="right")
    for name in sorted(report.by_seed):
        table.add_row(name, *[str(report.by_seed[name][o]) for o in VERDICTS])
    table.add_row("[b]total[/b]", *[f"[b]{report.counts[o]}[/b]" for o in VERDICTS])
    out.print(table)
    for finding in report.findings[:10]:
        out.print(f"{finding['outcome']}: case {finding['index']} ({finding['seed_file']})", highlight=False)
        out.print(finding["detail"].strip().splitlines()[-1] if finding["detail"].strip() else "", highlight=False)
    if report.failures:
        raise typer.Exit(1)


@bench_app.command("matrix")
def bench_matrix(
    per_pair: Annotated[
        int, typer.Option("--per-pair", min=1, help="Cases per (size, sampling) pair, the other axes cycling.")
    ] = 8,
    full: Annotated[
        bool, typer.Option("--full", help="The whole product of every axis (about 92,000 cases: hours).")
    ] = False,
    saliency: Annotated[str, saliency_option()] = DEFAULT_SALIENCY,
) -> None:
    """Valid photos of every size class (1x1 to 601x451), sampling (4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1,
    grey, CMYK, PNG), scan (baseline, progressive, arithmetic-coded), restart interval, EXIF
    orientation, route, mode and metadata policy through compress: each output must decode, upright
    at the source's size and the right way round. Prints counts; exits 1 if any case is wrong (needs
    cjpeg: apt install libjpeg-turbo-progs).

    Example: focuspress bench matrix --per-pair 8
    """
    from collections import Counter

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from focuspress.bench.fuzz.matrix import CJPEG, matrix_cases, run_matrix

    if CJPEG is None:
        refuse("bench matrix writes its JPEGs with cjpeg: apt install libjpeg-turbo-progs")
    cases = matrix_cases(full=full, per_pair=per_pair)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("matrix", total=len(cases))
        verdicts = run_matrix(cases, saliency=saliency, progress=lambda n: bar.advance(task, n))
    counts = Counter(verdict.outcome for verdict in verdicts)
    out.print(
        f"matrix: {len(cases)} cases: {counts['ok']} ok, {counts['refused']} refused, {counts['wrong']} wrong",
        highlight=False,
    )
    for verdict in verdicts:
        if verdict.outcome != "ok":
            out.print(f"{verdict.outcome}: {verdict.case.name}: {verdict.message}", highlight=False)
    if counts["wrong"]:
        raise typer.Exit(EXIT_FAILURE)


@bench_app.command("contract")
def bench_contract(
    data: Annotated[Path, typer.Option("--data", help="A folder of camera JPEGs.")] = Path(
        "../shared/data/camera-native"
    ),
    output: Annotated[Path, typer.Option("-o", "--output", help="Results folder.")] = Path(
        "benchmarks/results/contract"
    ),
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Worker processes.")] = 2,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Only the first N photos.")] = None,
) -> None:
    """Bytes at the fidelity contract (subject >= 90, photo >= 80) on whole photos: focuspress's
    default against mozjpeg and jpegli searched for the same two targets (full SSIMULACRA2), the
    lossless floor (mozjpeg re-scan, JPEG XL), the full metric's view of focuspress's scores, the
    in-loop estimate's error, and the contract's time against one fixed-quality encode.

    Example: focuspress bench contract --data ../shared/data/camera-native
    """
    from rich.progress import Progress

    from focuspress.bench.contract import run, save, summary
    from focuspress.evaluation import photos

    _require_bench_extra()
    if not data.is_dir():
        refuse(f"--data must be a folder of JPEGs (got {data})")
    paths = photos(data)[:limit] if limit else photos(data)
    if not paths:
        refuse(f"{data}: no JPEGs")
    with Progress(console=err) as progress:
        task = progress.add_task("contract: focuspress, mozjpeg and jpegli searches", total=len(paths))
        rows = run(paths, jobs=jobs, progress=lambda _: progress.advance(task))
    save(rows, output)
    lines = summary(rows)
    (output / "summary.md").write_text("\n".join(lines) + "\n")
    for line in lines:
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    out.print(f"results in {output}/ (results.json, summary.md)", highlight=False)


def _require_bench_extra() -> None:
    """The benchmark's codecs and plots come with the bench extra: say so before any work starts."""
    from focuspress.engine.errors import MissingExtra, require

    try:
        for module, purpose in (
            ("pyjpegli", "the jpegli anchor"),
            ("imagecodecs", "the AVIF, JPEG XL and WebP anchors"),
            ("matplotlib", "the benchmark's plots"),
        ):
            require(module, "bench", purpose)
    except MissingExtra as exc:
        refuse(str(exc))


@bench_app.command("chaos")
def bench_chaos(
    cycles: Annotated[int, typer.Option("--cycles", min=1, help="Start, drop, SIGKILL cycles.")] = 100,
    per_cycle: Annotated[int, typer.Option("--per-cycle", min=1, help="Photos dropped per cycle.")] = 2,
    seed: Annotated[int, typer.Option("--seed", help="The same seed gives the same kill moments.")] = 0,
) -> None:
    """Start the daemon, drop photos, SIGKILL it at a random moment, again and again; then check that
    every photo has exactly one output, none is lost or quarantined, and no temp file is left.

    Example: focuspress bench chaos --cycles 1000
    """
    from rich.progress import Progress

    from focuspress.bench.chaos import report, run

    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("chaos", total=cycles)
        result = run(cycles, per_cycle=per_cycle, seed=seed, progress=lambda _: progress.advance(task))
    for line in report(result):
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    if result["lost"] or result["duplicated"] or result["wrongly_quarantined"] or result["temp_files"]:
        raise typer.Exit(1)


@bench_app.command("watch")
def bench_watch(
    folders: Annotated[int, typer.Option("--folders", min=1, help="Subfolders in the recursive inbox.")] = 20_000,
    idle: Annotated[float, typer.Option("--idle-seconds", min=1, help="How long idle CPU is measured.")] = 30.0,
    storm: Annotated[int, typer.Option("--storm", min=0, help="Files created and deleted at once.")] = 30_000,
) -> None:
    """A recursive inbox with a big folder tree: start-up, idle CPU, a new photo's latency, and the
    same after an event storm that overflows the kernel's queue.

    Example: focuspress bench watch --folders 20000
    """
    from focuspress.bench.watch import run

    for line in run(folders, idle_seconds=idle, storm=storm):
        out.print(line, highlight=False, markup=False, soft_wrap=True)


@bench_app.command("objects")
def bench_objects(
    data: Annotated[Path, typer.Option("--data", help="ECSSD: images/ and masks/.")] = Path("../shared/data/ecssd"),
    images: Annotated[int, typer.Option("--images", min=1, help="Held-out validation images to use.")] = 80,
    jobs: Annotated[int, typer.Option("--jobs", min=1)] = 2,
    output: Annotated[Path, typer.Option("-o", "--output", help="Results folder.")] = Path(
        "benchmarks/results/objects"
    ),
) -> None:
    """The contract seen from a salient-object dataset: SSIMULACRA2 of each ground-truth object's
    box at default settings (the subject is the map's: where the map misses the object, so does
    the contract), on ECSSD images used for no training and no tuning.

    Example: focuspress bench objects --data ../shared/data/ecssd
    """
    from rich.progress import Progress

    from focuspress.bench.contract import objects_summary, run_objects
    from focuspress.bench.publish import held_out_ecssd

    folder, masks = data / "images", data / "masks"
    if not folder.is_dir() or not masks.is_dir():
        refuse(f"--data must hold images/ and masks/ (got {data})")
    pairs = [(path, masks / (path.stem + ".png")) for path in held_out_ecssd(folder)[:images]]
    pairs = [(a, b) for a, b in pairs if b.exists()]
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("objects", total=len(pairs))
        rows = run_objects(pairs, jobs=jobs, progress=lambda _: progress.advance(task))
    lines = objects_summary(rows)
    output.mkdir(parents=True, exist_ok=True)
    (output / "results.json").write_text(json.dumps(rows, indent=1) + "\n")
    (output / "summary.md").write_text("\n".join(lines) + "\n")
    for line in lines:
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    out.print(f"results in {output}/ (results.json, summary.md)", highlight=False)
