"""The ``focuspress`` command: a thin face over the engine (and, later, the daemon).

Exit codes: 0 all done; 2 bad input or options (one line each, no traceback); 1 an
unexpected failure (a bug: the traceback is printed so it can be reported).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from focuspress import __version__

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up chatter off stderr

app = typer.Typer(
    name="focuspress",
    help=(
        "Compress photos into ordinary JPEGs that spend their bits where people look.\n\n"
        "A saliency model (a salient-object decoder on EfficientNet-Lite0, plus a face detector) "
        "marks what matters; the block compositor steers quantization block by block inside the "
        "JPEG encoder. Example: focuspress compress photo.png -o out"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

EXIT_BAD_INPUT = 2


def _version(value: bool) -> None:
    if value:
        out.print(f"focuspress {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = None,
) -> None:
    """focuspress: importance-steered JPEG compression."""


def _fail(message: str) -> None:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)


@app.command()
def compress(
    images: Annotated[
        list[Path],
        typer.Argument(
            help="Photos to compress (PNG, JPEG, WebP, TIFF, BMP, GIF), or folders of them.",
            show_default=False,
            readable=False,  # unreadable files get the engine's one-line reason; the rest still run
        ),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the JPEGs (created if missing).")] = Path(
        "out"
    ),
    quality: Annotated[
        float,
        typer.Option("-q", "--quality", min=1, max=100, help="1..100, as in libjpeg; higher is better and bigger."),
    ] = 75,
    target_size: Annotated[
        Optional[str], typer.Option("--target-size", help="Aim for a file size, e.g. 150KB (met within 3% under).")
    ] = None,
    target_ssimulacra2: Annotated[
        Optional[float],
        typer.Option("--target-ssimulacra2", help="Aim for a perceived quality: 90 excellent, 70 good, 50 fair."),
    ] = None,
    roi_strength: Annotated[
        float,
        typer.Option(
            "--roi-strength",
            min=0,
            max=1,
            help=(
                "How strongly the map moves bits to what matters: 0 = perceptual masking only; 0.5 keeps the "
                "whole photo ahead of libjpeg-turbo; 0.85 puts the subject first (ECSSD: ROI-PSNR about -30% "
                "at equal whole-photo SSIMULACRA2)."
            ),
        ),
    ] = 0.5,
    compositor: Annotated[
        str, typer.Option("--compositor", help="block (steered inside the encoder) or pixel (the original method).")
    ] = "block",
    saliency: Annotated[
        str, typer.Option("--saliency", help="Importance map: combined, trained, cam, faces or none.")
    ] = "combined",
    subsampling: Annotated[
        str, typer.Option("--subsampling", help="Chroma subsampling: 444 (sharper colour) or 420.")
    ] = "444",
    progressive: Annotated[
        str, typer.Option("--progressive", help="auto (whichever is smaller), always or never.")
    ] = "auto",
    metrics: Annotated[
        bool, typer.Option("--metrics", help="Also print PSNR, MS-SSIM and SSIMULACRA2 of each output.")
    ] = False,
    roi_mask: Annotated[
        Optional[Path],
        typer.Option("--roi-mask", help="A mask image (white = region of interest) for ROI-PSNR; one input only."),
    ] = None,
    save_map: Annotated[
        bool, typer.Option("--save-map", help="Also write each photo's importance map and overlay PNGs.")
    ] = False,
    executor: Annotated[
        str, typer.Option("--executor", help="local (this process) or ray (actors on a Ray cluster).")
    ] = "local",
    ray_address: Annotated[
        Optional[str],
        typer.Option("--ray-address", help="Ray cluster, e.g. auto or ray://head:10001 (default: start a local Ray)."),
    ] = None,
    ray_actors: Annotated[int, typer.Option("--ray-actors", min=1, help="Model-holding Ray workers.")] = 2,
    ray_gpus: Annotated[float, typer.Option("--ray-gpus", min=0, help="GPUs per Ray worker (1: model on GPU).")] = 0,
) -> None:
    """Compress IMAGES into OUTPUT/<name>.jpg and print a summary.

    Examples:

      focuspress compress photo.png -o out

      focuspress compress *.png -o out --target-size 150KB

      focuspress compress photo.png -o out -q 85 --metrics

      focuspress compress camera-dump/ -o out --executor ray --ray-address auto
    """
    from focuspress.engine import CompressOptions, FocuspressError, load_image, save_map_images, write_result
    from focuspress.engine.executors import EXECUTORS, WorkerLost, make_executor
    from focuspress.engine.io import refuse_overwrite
    from focuspress.engine.ratecontrol import parse_size

    try:
        options = CompressOptions(
            quality=quality,
            target_size=parse_size(target_size) if target_size else None,
            target_ssimulacra2=target_ssimulacra2,
            roi_strength=roi_strength,
            compositor=compositor,
            saliency=saliency,
            subsampling=subsampling,
            progressive=progressive,
        ).validate()
        if executor not in EXECUTORS:
            raise FocuspressError(f"--executor must be one of {', '.join(EXECUTORS)}")
        images = _expand_folders(images)
        if roi_mask is not None and len(images) != 1:
            raise FocuspressError("--roi-mask goes with exactly one input image")
        targets = _output_paths(images, output)
        for target in targets.values():
            refuse_overwrite(target, list(images))
    except FocuspressError as exc:
        _fail(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None

    table = _summary_table(metrics, roi_mask is not None)
    failures = 0
    total_in = total_out = 0
    started = time.perf_counter()
    try:
        with err.status(f"starting the {executor} executor and loading the saliency model…"):
            runner = make_executor(executor, saliency, address=ray_address, actors=ray_actors, num_gpus=ray_gpus)
            runner.warm_up()
    except WorkerLost as exc:
        _fail(str(exc))
        raise typer.Exit(1) from None
    t0 = time.perf_counter()
    for image_path, outcome in runner.map(list(targets), options):
        target = targets[image_path]
        try:
            if outcome.result is None:
                raise FocuspressError(outcome.error or f"{image_path}: failed")
            result = outcome.result
            write_result(result, target)
            image = outcome.image
            if image is None and (save_map or metrics):
                image = load_image(image_path)  # remote workers send back only the JPEG and the map
            if save_map:
                save_map_images(image.rgb, result.importance, output, image_path.stem)
            row = [
                image_path.name,
                f"{result.width}x{result.height}",
                _kb(result.input_bytes),
                _kb(result.bytes),
                f"{result.bpp:.3f}",
                f"{1 / result.ratio:.1f}x" if result.ratio > 0 else "-",
                f"{result.quality:.1f}",
                f"{(time.perf_counter() - t0) * 1000:.0f}",
            ]
            if metrics:
                row += _metric_cells(image.rgb, result.decoded(), roi_mask)
            table.add_row(*row)
            total_in += result.input_bytes
            total_out += result.bytes
            for note in outcome.notes:
                err.print(f"[yellow]note:[/yellow] {image_path.name}: {note}", highlight=False)
        except FocuspressError as exc:
            failures += 1
            _fail(str(exc))
        t0 = time.perf_counter()
    device = runner.device
    runner.close()
    if table.row_count:
        out.print(table)
        elapsed = time.perf_counter() - started
        saving = 100.0 * (1 - total_out / total_in) if total_in else 0.0
        out.print(
            f"{table.row_count} written to {output}/ · {_kb(total_in)} → {_kb(total_out)} "
            f"({saving:.0f}% smaller) · {elapsed:.1f} s · model on {device} ({executor})",
            highlight=False,
        )
    if failures:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command(name="map")
def map_command(
    image: Annotated[Path, typer.Argument(help="The photo to analyse.", show_default=False)],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the map PNGs.")] = Path("out"),
    saliency: Annotated[str, typer.Option("--saliency", help="combined, trained, cam, faces or none.")] = "combined",
) -> None:
    """Write IMAGE's importance map: <name>.map.png (grey) and <name>.overlay.png (heatmap).

    This is the original tool's Importance_map.png: white is where bits are spent.
    """
    from focuspress.engine import Engine, FocuspressError, load_image, save_map_images
    from focuspress.engine.saliency import SALIENCY_CHOICES

    if saliency not in SALIENCY_CHOICES:
        _fail(f"saliency must be one of {', '.join(SALIENCY_CHOICES)}")
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        loaded = load_image(image)
        engine = Engine(saliency=saliency)
        importance = engine.importance_maps([loaded.rgb])[0]
        map_path, overlay_path = save_map_images(loaded.rgb, importance, output, image.stem)
    except FocuspressError as exc:
        _fail(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    out.print(f"wrote {map_path} and {overlay_path} (mean importance {importance.mean():.2f})", highlight=False)


@app.command()
def gui(
    output: Annotated[
        Optional[Path],
        typer.Option("-o", "--output", help="Output folder to start with (you can change it on the page)."),
    ] = None,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0: a free one).")] = 0,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open a browser; just print the address.")
    ] = False,
    daemon_url: Annotated[
        Optional[str], typer.Option("--daemon", help="A running daemon's metrics address, e.g. http://127.0.0.1:9464.")
    ] = None,
    saliency: Annotated[
        str, typer.Option("--saliency", help="Importance map: combined, trained, cam, faces or none.")
    ] = "combined",
    max_upload_mb: Annotated[float, typer.Option("--max-upload-mb", min=1, help="Largest upload accepted.")] = 64,
    max_megapixels: Annotated[float, typer.Option("--max-megapixels", min=0.1, help="Largest photo accepted.")] = 50,
) -> None:
    """Open the focuspress window in your browser: drop photos, compare before/after, save.

    Serves a local page on 127.0.0.1 only, protected by a token in the printed address.
    Quit on the page (or Ctrl-C here) stops it.

    Example: focuspress gui -o ~/Pictures/compressed --daemon http://127.0.0.1:9464
    """
    from focuspress.engine.errors import FocuspressError
    from focuspress.engine.saliency import SALIENCY_CHOICES
    from focuspress.gui import GuiSettings, serve
    from focuspress.gui.folders import validate_folder

    if saliency not in SALIENCY_CHOICES:
        _fail(f"saliency must be one of {', '.join(SALIENCY_CHOICES)}")
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        folder = validate_folder(str(output.expanduser().absolute())) if output is not None else None
    except FocuspressError as exc:
        _fail(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    settings = GuiSettings(
        output=folder,
        saliency=saliency,
        daemon_url=daemon_url,
        max_upload_mb=max_upload_mb,
        max_megapixels=max_megapixels,
    )
    try:
        serve(
            settings,
            port=port,
            open_browser=not no_browser,
            announce=lambda url: print(f"focuspress gui on {url}", flush=True),
        )
    except OSError as exc:
        _fail(f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc})")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    out.print("focuspress gui stopped")


@app.command()
def daemon(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="YAML config (see config/focuspress.example.yaml).")
    ] = Path("/etc/focuspress/config.yaml"),
    check_config: Annotated[bool, typer.Option("--check-config", help="Validate the config and exit.")] = False,
) -> None:
    """Watch inbox folders, compress what lands, write outboxes, export Prometheus metrics.

    SIGTERM drains in-flight work and exits 0; SIGHUP reloads the config (a bad file is
    refused and the running config kept). Logs one line per file on stderr (the journal
    under systemd).
    """
    from focuspress.daemon.config import ConfigError, load_config

    try:
        parsed = load_config(config)
    except ConfigError as exc:
        _fail(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if check_config:
        out.print(f"{config}: OK ({len(parsed.inboxes)} inbox(es))", highlight=False)
        return
    from focuspress.daemon.logs import configure

    configure(parsed.log_format)
    from focuspress.daemon.service import Service
    from focuspress.engine.executors import WorkerLost

    try:
        code = Service(parsed, config).run()
    except WorkerLost as exc:  # executor: ray and no cluster: say so; systemd retries later
        _fail(str(exc))
        raise typer.Exit(1) from None
    raise typer.Exit(code)


bench_app = typer.Typer(
    help="Rate-distortion and throughput benchmarks against libjpeg-turbo, mozjpeg, jpegli, WebP, AVIF, JPEG XL.",
    invoke_without_command=True,
    no_args_is_help=False,
)
app.add_typer(bench_app, name="bench")
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
    output: Annotated[Path, typer.Option("-o", "--output", help="Results folder.")] = Path("benchmarks/results/run"),
) -> None:
    """Sweep every codec's quality over the images, score every output, write
    results.json, summary.md and RD plots to OUTPUT.

    Example: focuspress bench --data ../shared/data/kodak -o benchmarks/results/kodak
    """
    if ctx.invoked_subcommand is not None:
        return
    from rich.progress import Progress

    from focuspress.bench import codecs as codec_registry
    from focuspress.bench import report, runner

    if data is None or not data.is_dir():
        _fail(f"--data must be a folder of images (got {data})")
        raise typer.Exit(EXIT_BAD_INPUT)
    names = [name.strip() for name in codecs_list.split(",") if name.strip()]
    known = codec_registry.available()
    unknown = [name for name in names if name not in known]
    if unknown:
        _fail(f"unknown codec(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        raise typer.Exit(EXIT_BAD_INPUT)
    if anchor not in names:
        names.append(anchor)
    try:
        lo, hi = (float(v) for v in s2_window.split(","))
    except ValueError:
        _fail(f"--s2-window takes two numbers like 50,90 (got {s2_window})")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    report.set_window("ssimulacra2", (lo, hi))
    images = runner.list_images(data, 3 if quick and not limit else limit)
    if not images:
        _fail(f"{data}: no images")
        raise typer.Exit(EXIT_BAD_INPUT)
    with Progress(console=err) as progress:
        task = progress.add_task("encoding, decoding, scoring", total=len(images) * len(names))
        try:
            rows = runner.run(
                images, names, masks=masks, jobs=jobs, quick=quick, progress=lambda _: progress.advance(task)
            )
        except runner.CodecFailure as exc:
            _fail(str(exc))
            raise typer.Exit(1) from None
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
    saliency: Annotated[str, typer.Option("--saliency")] = "combined",
) -> None:
    """Drop COUNT images at once into a real daemon's inbox; report images/s, latency, memory."""
    from focuspress.bench.daemon_load import run_load

    if not data.is_dir():
        _fail(f"--data must be a folder of images (got {data})")
        raise typer.Exit(EXIT_BAD_INPUT)
    report_lines = run_load(data, count, workers=workers, saliency=saliency, console=err)
    for line in report_lines:
        out.print(line, highlight=False)


@bench_app.command("publish")
def bench_publish(
    data_root: Annotated[Path, typer.Option("--data-root", help="The shared data folder.")] = Path("../shared/data"),
    output: Annotated[Path, typer.Option("-o", "--output", help="Where README.md and plots/ go.")] = Path("benchmarks"),
    jobs: Annotated[int, typer.Option("--jobs", min=1)] = 2,
    ecssd_images: Annotated[int, typer.Option("--ecssd-images", min=1)] = 80,
    kodak_results: Annotated[
        Optional[str], typer.Option("--kodak-results", help="Comma-separated results.json files to reuse.")
    ] = None,
    ecssd_results: Annotated[Optional[str], typer.Option("--ecssd-results", help="Same, for ECSSD.")] = None,
) -> None:
    """Run the full Kodak and ECSSD sweeps and rewrite benchmarks/README.md with tables and plots."""
    from rich.progress import Progress

    from focuspress.bench.publish import load_rows, sweep, write_readme

    if kodak_results and ecssd_results:
        kodak_rows = load_rows([Path(p) for p in kodak_results.split(",")])
        ecssd_rows = load_rows([Path(p) for p in ecssd_results.split(",")])
    else:
        if not (data_root / "kodak").is_dir():
            _fail(f"{data_root}/kodak not found")
            raise typer.Exit(EXIT_BAD_INPUT)
        with Progress(console=err) as progress:
            task = progress.add_task("benchmarking", total=None)
            kodak_rows, ecssd_rows = sweep(
                data_root, output, jobs=jobs, ecssd_images=ecssd_images, progress=lambda _: progress.advance(task)
            )
    readme = write_readme(kodak_rows, ecssd_rows, output)
    out.print(readme.read_text(), highlight=False)
    out.print(f"wrote {readme}", highlight=False)


@bench_app.command("latency")
def bench_latency(
    image: Annotated[Path, typer.Argument(help="A photo (e.g. ../shared/data/kodak/kodim01.png).")],
    repeat: Annotated[int, typer.Option("--repeat", min=1)] = 5,
    saliency: Annotated[str, typer.Option("--saliency")] = "combined",
) -> None:
    """Time one photo through decode, saliency, compositor and write, cold and warm."""
    from focuspress.bench.latency import measure

    for line in measure(image, repeat=repeat, saliency=saliency):
        out.print(line, highlight=False)


@bench_app.command("throughput")
def bench_throughput(
    data: Annotated[Path, typer.Option("--data", help="Photo folder (e.g. ../shared/data/kodak).")],
    modes: Annotated[
        str, typer.Option("--modes", help="Comma-separated: local-1, local-2 (threads), ray-1, ray-2 (actors).")
    ] = "local-1,local-2,ray-1,ray-2",
    saliency: Annotated[str, typer.Option("--saliency", help="Map model, as in the daemon config.")] = "combined",
    rounds: Annotated[int, typer.Option("--rounds", min=1, help="Pass over the folder this many times.")] = 1,
) -> None:
    """Images/s of the daemon's pipeline (journal, decode, saliency, compositor, durable write)
    with the local pool and with Ray, plus per-stage times and the journal's ceiling.

    Example: focuspress bench throughput --data ../shared/data/kodak
    """
    from focuspress.bench.throughput import MODES, run

    chosen = [m.strip() for m in modes.split(",") if m.strip()]
    bad = [m for m in chosen if m not in MODES]
    if bad or not data.is_dir():
        _fail(f"unknown mode(s) {', '.join(bad)} (known: {', '.join(MODES)})" if bad else f"{data}: not a folder")
        raise typer.Exit(EXIT_BAD_INPUT)
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

    from focuspress.bench.fuzz.cases import OUTCOMES
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
    for outcome in OUTCOMES:
        table.add_column(outcome, justify="right")
    for name in sorted(report.by_seed):
        table.add_row(name, *[str(report.by_seed[name][o]) for o in OUTCOMES])
    table.add_row("[b]total[/b]", *[f"[b]{report.counts[o]}[/b]" for o in OUTCOMES])
    out.print(table)
    for finding in report.findings[:10]:
        out.print(f"{finding['outcome']}: case {finding['index']} ({finding['seed_file']})", highlight=False)
        out.print(finding["detail"].strip().splitlines()[-1] if finding["detail"].strip() else "", highlight=False)
    if report.failures:
        raise typer.Exit(1)


train_app = typer.Typer(help="Train the models the engine ships (see training/).", no_args_is_help=True)
app.add_typer(train_app, name="train")


@train_app.command("saliency")
def train_saliency_command(
    data: Annotated[
        Path, typer.Option("--data", help="images/ + masks/ (e.g. ../shared/data/ecssd), or class folders.")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Run folder: checkpoints, log.csv, weights.")] = Path(
        "runs/saliency"
    ),
    minutes: Annotated[Optional[float], typer.Option("--minutes", help="Stop after this many minutes.")] = None,
    epochs: Annotated[
        int, typer.Option("--epochs", min=1, help="Epochs (the learning-rate schedule spans them).")
    ] = 12,
    views: Annotated[int, typer.Option("--views", min=1, help="Augmented views per training image.")] = 4,
    install: Annotated[bool, typer.Option("--install", help="Copy the weights into the engine when done.")] = False,
) -> None:
    """Train the saliency decoder (masks layout) or a CAM classifier (class folders).

    Resumes from OUTPUT/ckpt when present. Every fifth image (sorted by name) is validation.

    Example: focuspress train saliency --data ../shared/data/ecssd --minutes 10 --install
    """
    import shutil

    from focuspress.training.datasets import layout
    from focuspress.training.saliency import train_saliency

    try:
        layout(data)
    except ValueError as exc:
        _fail(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    result = train_saliency(data, output, minutes=minutes, epochs=epochs, views=views, console=err)
    out.print(
        f"{result.epochs} epochs in {result.seconds:.0f} s · val MAE {result.val_mae:.3f} · "
        f"val max F {result.val_max_f:.3f} · weights {result.weights}",
        highlight=False,
    )
    if install:
        target = Path(__file__).resolve().parents[1] / "engine" / "saliency" / "weights" / result.weights.name
        shutil.copy(result.weights, target)
        out.print(f"installed {target}", highlight=False)


@app.command("eval-map")
def eval_map(
    data: Annotated[Path, typer.Option("--data", help="images/ + masks/ folder (e.g. ../shared/data/ecssd).")],
    saliency: Annotated[str, typer.Option("--saliency", help="Map to judge: combined, trained, cam, faces, none.")] = (
        "combined"
    ),
    split_name: Annotated[str, typer.Option("--split", help="val (never trained on), train or all.")] = "val",
    limit: Annotated[Optional[int], typer.Option("--limit", min=1)] = None,
) -> None:
    """Judge an importance map against salient-object masks: MAE, max F-measure, AUC."""
    from rich.progress import Progress

    from focuspress.engine.saliency import SALIENCY_CHOICES, load_saliency
    from focuspress.training.datasets import layout, mask_pairs, split
    from focuspress.training.eval_map import evaluate

    if saliency not in SALIENCY_CHOICES:
        _fail(f"saliency must be one of {', '.join(SALIENCY_CHOICES)}")
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        if layout(data) != "masks":
            raise ValueError(f"{data}: eval-map needs images/ and masks/")
    except ValueError as exc:
        _fail(str(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    model = load_saliency(saliency)
    total = len(split(mask_pairs(data), split_name)[:limit])
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task(f"judging {saliency}", total=total)
        scores = evaluate(model, data, split_name, limit, progress=lambda: progress.advance(task))
    out.print(
        f"{saliency} on {scores.images} {split_name} images: MAE {scores.mae:.3f} · max F {scores.max_f:.3f} · "
        f"AUC {scores.auc:.3f} · {scores.ms_per_image:.0f} ms/image",
        highlight=False,
    )


def _expand_folders(paths: list[Path]) -> list[Path]:
    """Folders become their photos (by suffix, sorted, not recursive, no dotfiles); files stay as given."""
    from focuspress.engine import FocuspressError
    from focuspress.engine.io import SUPPORTED_SUFFIXES

    expanded: list[Path] = []
    for path in paths:
        if path.is_dir():
            candidates = sorted(
                p for p in path.iterdir() if p.suffix.lower() in SUPPORTED_SUFFIXES and not p.name.startswith(".")
            )
            found = [p for p in candidates if p.is_file()]
            for skipped in sorted(set(candidates) - set(found)):
                err.print(f"[yellow]note:[/yellow] {skipped}: skipped (not a regular file)", highlight=False)
            if not found:
                raise FocuspressError(f"{path}: folder has no photos ({', '.join(SUPPORTED_SUFFIXES)})")
            expanded.extend(found)
        else:
            expanded.append(path)
    return expanded


def _output_paths(images: list[Path], output: Path) -> dict[Path, Path]:
    from focuspress.engine import FocuspressError

    targets: dict[Path, Path] = {}
    seen: dict[Path, Path] = {}
    for path in images:
        target = output / f"{path.stem}.jpg"
        if target in seen:
            raise FocuspressError(f"{path} and {seen[target]} would both be written to {target}")
        seen[target] = path
        targets[path] = target
    return targets


def _summary_table(metrics: bool, roi: bool) -> Table:
    table = Table(title="focuspress", title_justify="left")
    for name in ("file", "size", "in", "out", "bpp", "smaller", "quality", "ms"):
        table.add_column(name, justify="left" if name == "file" else "right")
    if metrics:
        for name in ("PSNR", "MS-SSIM", "SSIMULACRA2") + (("ROI-PSNR",) if roi else ()):
            table.add_column(name, justify="right")
    return table


def _metric_cells(reference, decoded, roi_mask: Optional[Path]) -> list[str]:
    from focuspress.engine.metrics import ms_ssim, psnr, roi_psnr, ssimulacra2

    cells = [
        f"{psnr(reference, decoded):.2f}",
        f"{ms_ssim(reference, decoded):.4f}",
        f"{ssimulacra2(reference, decoded):.1f}",
    ]
    if roi_mask is not None:
        from focuspress.engine import load_image

        mask = load_image(roi_mask).rgb[..., 0] > 127
        if mask.shape != reference.shape[:2]:
            from focuspress.engine import FocuspressError

            mask_size = f"{mask.shape[1]}x{mask.shape[0]}"
            image_size = f"{reference.shape[1]}x{reference.shape[0]}"
            raise FocuspressError(f"{roi_mask}: mask is {mask_size}, image is {image_size}")
        cells.append(f"{roi_psnr(reference, decoded, mask):.2f}")
    return cells


def _kb(n: int) -> str:
    return f"{n / 1000:.1f} KB" if n < 1_000_000 else f"{n / 1e6:.2f} MB"


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        _fail("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
