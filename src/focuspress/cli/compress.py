"""``focuspress compress`` and ``focuspress map``: photos in, JPEGs (or maps) out, a summary printed.

The order matters for a new user: options and inputs are checked first (one line each, in
well under a second), the model loads only when there is something to do, and a refused input
never stops the others. The photos go through the engine's one pipeline on an executor.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from focuspress.cli.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    choice_option,
    err,
    fail,
    note,
    out,
    refuse,
    saliency_option,
)
from focuspress.cli.report import TABLE_MODES, LiveProgress, PhotoReport, json_line, print_summary, summary_record
from focuspress.cli.schema import schema_options
from focuspress.engine.executors import EXECUTORS
from focuspress.engine.executors.ray_cluster import RayOptions
from focuspress.engine.io.load import FORMAT_NAMES
from focuspress.engine.options import CompressOptions
from focuspress.engine.saliency import DEFAULT_SALIENCY

if TYPE_CHECKING:
    from focuspress.engine.io.plan import PlannedFile
    from focuspress.engine.pipeline import Outcome

_RAY = RayOptions()


@dataclass
class Extras:
    """What ``compress`` does besides writing each JPEG."""

    metrics: bool = False
    roi_mask: Path | None = None
    save_map: bool = False
    json_lines: bool = False


@dataclass
class Totals:
    """The summary line: files, bytes, and how many got each outcome."""

    failures: int = 0
    #: of those, bugs of ours (reason internal): the run exits 1, not 2
    bugs: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


@schema_options(CompressOptions)
def compress(
    images: Annotated[
        list[Path],
        typer.Argument(
            help=f"Photos to compress ({', '.join(FORMAT_NAMES)}), or folders of them.",
            show_default=False,
            readable=False,  # unreadable files get the engine's one-line reason; the rest still run
        ),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the JPEGs (created if missing).")] = Path(
        "out"
    ),
    recursive: Annotated[
        bool,
        typer.Option(
            "--recursive", "-r", help="Folders: also their subfolders, the tree mirrored under OUTPUT (a camera dump)."
        ),
    ] = False,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite", help="Replace existing files in OUTPUT (default: write name-1.jpg beside). Never inputs."
        ),
    ] = False,
    saliency: Annotated[str, saliency_option()] = DEFAULT_SALIENCY,
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
        str,
        choice_option(
            "--executor",
            ("auto", *EXECUTORS),
            "auto (worker processes, one per core, for a folder of photos; this process for a few), "
            "processes, local (this process) or ray (actors on a Ray cluster).",
        ),
    ] = "auto",
    ray_address: Annotated[
        Optional[str],
        typer.Option("--ray-address", help="Ray cluster, e.g. auto or ray://head:10001 (default: start a local Ray)."),
    ] = _RAY.address,
    ray_actors: Annotated[int, typer.Option("--ray-actors", min=1, help="Model-holding Ray workers.")] = _RAY.actors,
    ray_gpus: Annotated[
        float, typer.Option("--ray-gpus", min=0, help="GPUs per Ray worker (1: model on GPU).")
    ] = _RAY.num_gpus,
    json_lines: Annotated[
        bool,
        typer.Option(
            "--json",
            help="One JSON object per photo on stdout, then a summary object; nothing else there (for scripts).",
        ),
    ] = False,
    table: Annotated[
        str,
        choice_option(
            "--table",
            TABLE_MODES,
            "auto: a row per photo for up to 20, else totals and the photos that need a look; "
            "full: every photo, every column; none: totals only.",
        ),
    ] = "auto",
    skip_existing: Annotated[
        bool,
        typer.Option(
            "--skip-existing",
            help="Resume: skip photos whose output is already in OUTPUT, complete and newer than the photo.",
        ),
    ] = False,
    options: dict[str, Any] | None = None,
) -> None:
    """Compress IMAGES into OUTPUT/<name>.jpg and print a summary.

    By default each photo gets the fidelity contract: the smallest JPEG whose subject (where
    the importance map is confident) keeps SSIMULACRA2 --subject-ssimulacra2 (90: visually
    lossless) and whose whole photo keeps --photo-ssimulacra2 (80: high quality) against the
    source; the photo and subject columns show the scores it measured (~ estimated from tiles
    on camera-sized photos, = exact). -q N is a fixed quality instead.

    On a terminal a progress bar shows photos done, bytes in and out, photos per second and time
    left (on stderr; none in logs). The summary fits 80 columns: a row per photo for small
    batches, else the totals and the photos that need a look (--table full: every photo and
    column). --json prints one JSON object per photo and a summary object instead, and nothing else
    on stdout. --skip-existing resumes an interrupted run: a photo whose output is there, complete
    and newer than the photo, is skipped (and counted).

    A JPEG input is the reference: it is recompressed in its own DCT coefficients where it can
    be, never with steps finer than its own, and never grows: if recompressing saves less than
    --min-saving, the output is the input made smaller losslessly ("lossless") or the input
    itself ("kept"); the outcome column says which. Metadata: --metadata keep|no-location|strip
    (keep carries everything: EXIF with maker notes and thumbnail, XMP, IPTC, ICC, MPF images
    such as gain maps, a motion photo's video). HEIC or AVIF in, a JPEG out.

    An existing OUTPUT/<name>.jpg is kept: the new file is <name>-1.jpg (as the daemon does),
    unless --overwrite. An input is never overwritten. A bad input prints one error line and
    the others are still done (exit 2); a bug of ours met on a photo is named the same way and
    exits 1.

    Examples:

      focuspress compress photo.jpg -o out

      focuspress compress camera-dump/ -o out --recursive

      focuspress compress camera-dump/ -o out --recursive --skip-existing --json | jq .saving

      focuspress compress IMG_0001.HEIC -o out --subject-ssimulacra2 92

      focuspress compress *.png -o out --target-size 150KB

      focuspress compress photo.png -o out -q 85 --metrics

      focuspress compress camera-dump/ -o out --metadata no-location

      focuspress compress camera-dump/ -o out --executor ray --ray-address auto
    """
    from focuspress.engine.errors import FocuspressError
    from focuspress.engine.io.plan import plan_outputs

    try:
        parsed = CompressOptions.parse(**(options or {}))
    except FocuspressError as exc:
        refuse(str(exc))
    plan = plan_outputs(images, output, overwrite=overwrite, recursive=recursive, skip_existing=skip_existing)
    for message in plan.notes:
        note(message)
    for item in plan.refused:
        fail(item.error or "")
    if roi_mask is not None and len(plan.files) != 1:
        refuse("--roi-mask goes with exactly one input image")
    reports = [_refused_report(item) for item in plan.refused] + [_skipped_report(item) for item in plan.skipped]
    if json_lines:
        for report in reports:
            _emit(report.as_json())
    if not plan.runnable:
        if plan.skipped and not plan.refused:
            _finish(reports, output, json_lines, table, 0.0, "-", [])
            return
        raise typer.Exit(EXIT_BAD_INPUT)
    _output_folder(output)
    _note_slow_rescan(len(plan.runnable))
    if executor == "auto":
        executor = auto_executor(len(plan.runnable))
    ray = RayOptions(address=ray_address, actors=ray_actors, num_gpus=ray_gpus) if executor == "ray" else None
    extras = Extras(metrics=metrics, roi_mask=roi_mask, save_map=save_map, json_lines=json_lines)
    totals = _run(plan.runnable, parsed, output, saliency, executor, ray, extras, reports, table)
    if totals.bugs:
        raise typer.Exit(EXIT_FAILURE)
    if totals.failures or plan.refused:
        raise typer.Exit(EXIT_BAD_INPUT)


def _output_folder(output: Path) -> None:
    """OUTPUT made (where missing) and writable, before the model loads: else one line and exit 2,
    where each photo got its own "cannot create output" line after the model had loaded for nothing."""
    if output.exists() and not output.is_dir():
        refuse(f"{output}: is a file, not a folder")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        refuse(f"{output}: cannot create the output folder ({exc.strerror or exc})")
    if not os.access(output, os.W_OK | os.X_OK):
        refuse(f"{output}: the output folder is not writable")


def _note_slow_rescan(photos: int) -> None:
    """One note before a folder's worth of photos where this machine re-scans with mozjpeg (no
    libturbojpeg: every encode about 4x slower in that step, and pip cannot install it); a photo or
    two is not worth the line."""
    if photos < PROCESSES_FROM_PHOTOS:
        return
    from focuspress.engine.api import rescan_backend

    backend, line = rescan_backend()
    if backend != "turbojpeg":
        note(line)


#: ``--executor auto`` starts worker processes (a model each, a second or two to load) from this
#: many photos, where there is more than one core; fewer run in this process
PROCESSES_FROM_PHOTOS = 4


def auto_executor(photos: int) -> str:
    """What ``--executor auto`` runs ``photos`` photos on: worker processes for a folder's worth on a
    machine with cores to spare (a photo's search is Python-bound between its C calls, so threads
    would share one core), this process for a few (no start-up to pay)."""
    return "processes" if photos >= PROCESSES_FROM_PHOTOS and (os.cpu_count() or 1) > 1 else "local"


def _run(
    runnable: list[PlannedFile],
    options: CompressOptions,
    output: Path,
    saliency: str,
    executor: str,
    ray: RayOptions | None,
    extras: Extras,
    reports: list[PhotoReport],
    table: str,
) -> Totals:
    """Compress every planned file through an executor, with progress; each failure is one line, counted;
    then the summary (or the JSON summary object)."""
    from focuspress.engine.executors import WorkerLost, make_executor

    targets = {item.source: item.target for item in runnable}
    totals = Totals()
    started = time.perf_counter()
    try:
        with err.status(f"starting the {executor} executor and loading the saliency model…"):
            runner = make_executor(executor, saliency, ray)
            runner.warm_up()
    except WorkerLost as exc:
        refuse(str(exc), EXIT_FAILURE)
    t0 = time.perf_counter()
    with LiveProgress(err, len(targets)) as progress:
        keep = extras.metrics or extras.save_map  # only these need the decoded photo back
        for source, outcome in runner.map(list(targets), options, keep_image=keep):
            target = targets[source]
            assert target is not None
            report = _write_one(source, target, outcome, extras, totals, options)
            report.ms["total"] = (time.perf_counter() - t0) * 1000.0
            t0 = time.perf_counter()
            reports.append(report)
            progress.advance(report)
            if extras.json_lines:
                _emit(report.as_json())
    device = runner.device
    runner.close()
    metric_names = _metric_names(extras) if extras.metrics else []
    _finish(
        reports, output, extras.json_lines, table, time.perf_counter() - started, f"{device} ({executor})", metric_names
    )
    return totals


def _emit(record: dict) -> None:
    """One JSON line on stdout, as it is (no console markup, wrapping or emoji codes), flushed for a pipe."""
    sys.stdout.write(json_line(record) + "\n")
    sys.stdout.flush()


def _finish(
    reports: list[PhotoReport], output: Path, json_lines: bool, table: str, seconds: float, device: str, metric_names
) -> None:
    """The summary on stdout: the JSON summary object (after the photos' objects), or the tables."""
    if json_lines:
        _emit(summary_record(reports, seconds, str(output)))
        return
    print_summary(
        out, reports, mode=table, seconds=seconds, output=str(output), device=device, metric_names=metric_names
    )


def _metric_names(extras: Extras) -> list[str]:
    return ["PSNR", "MS-SSIM", "SSIMULACRA2"] + (["ROI-PSNR"] if extras.roi_mask is not None else [])


def _refused_report(item: PlannedFile) -> PhotoReport:
    from focuspress.engine.io.names import display_name

    return PhotoReport(display_name(item.source.name), display_name(item.source), "refused", error=item.error)


def _skipped_report(item: PlannedFile) -> PhotoReport:
    from focuspress.engine.io.names import display_name

    assert item.done is not None
    return PhotoReport(
        display_name(item.source.name), display_name(item.source), "skipped", output=display_name(item.done)
    )


def _write_one(
    source: Path, target: Path, outcome: Outcome, extras: Extras, totals: Totals, options: CompressOptions
) -> PhotoReport:
    """Save one outcome (and its map, metrics, notes); its report (``refused`` after a one-line failure)."""
    from focuspress.engine.errors import FocuspressError, Reason
    from focuspress.engine.io import load_image
    from focuspress.engine.io.map_images import save_map_images
    from focuspress.engine.io.names import display_name

    name = display_name(source.name)
    report = PhotoReport(name, display_name(source), "refused", warnings=list(outcome.warnings))
    for message in outcome.warnings:
        note(f"{name}: {message}")
    try:
        if outcome.result is None:
            report.reason = str(outcome.reason) if outcome.reason is not None else None
            raise FocuspressError(outcome.error or f"{name}: failed")
        result = outcome.result
        t0 = time.perf_counter()
        result.save(target)
        report.ms = dict(result.timings_ms, write=(time.perf_counter() - t0) * 1000.0)
        image = outcome.image
        if image is None and (extras.save_map or extras.metrics):
            image = load_image(source)  # remote workers send back only the JPEG and the map
        if extras.save_map:
            assert image is not None
            rgb = image.rgb
            save_map_images(rgb, result.importance_at(*rgb.shape[:2]), target.parent, target.stem)
        if extras.metrics:
            assert image is not None
            report.metrics = dict(
                zip(_metric_names(extras), _metric_cells(image.rgb, result.decoded(), extras.roi_mask))
            )
    except FocuspressError as exc:
        totals.failures += 1
        report.error = str(exc)
        if outcome.reason == Reason.INTERNAL:
            totals.bugs += 1
            fail(f"{exc} (a bug in focuspress: please report it with this photo)")
        else:
            fail(str(exc))
        return report
    report.status = "written"
    report.output = display_name(target)
    report.bytes_in, report.bytes_out = result.input_bytes, result.bytes
    report.width, report.height = result.width, result.height
    report.quality, report.outcome, report.route = result.quality, result.outcome, str(result.route)
    if result.scores is not None:
        report.photo, report.subject = result.scores.photo, result.scores.subject
        report.exact = result.contract is not None and result.contract.exact
        report.targets = (options.photo_ssimulacra2, options.subject_ssimulacra2)
    report.notes = list(outcome.notes)
    totals.outcomes[result.outcome] = totals.outcomes.get(result.outcome, 0) + 1
    totals.bytes_in += result.input_bytes
    totals.bytes_out += result.bytes
    for message in outcome.notes:
        note(f"{name}: {message}")
    return report


def _metric_cells(reference, decoded, roi_mask: Optional[Path]) -> list[float]:
    from focuspress.engine.errors import FocuspressError
    from focuspress.engine.io import load_image
    from focuspress.engine.metrics import ms_ssim, psnr, roi_psnr, ssimulacra2

    cells = [psnr(reference, decoded), ms_ssim(reference, decoded), ssimulacra2(reference, decoded)]
    if roi_mask is not None:
        mask = load_image(roi_mask).rgb[..., 0] > 127
        if mask.shape != reference.shape[:2]:
            mask_size = f"{mask.shape[1]}x{mask.shape[0]}"
            image_size = f"{reference.shape[1]}x{reference.shape[0]}"
            raise FocuspressError(f"{roi_mask}: mask is {mask_size}, image is {image_size}")
        cells.append(roi_psnr(reference, decoded, mask))
    return cells


def importance_map(
    image: Annotated[Path, typer.Argument(help="The photo to analyse.", show_default=False)],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the map PNGs.")] = Path("out"),
    saliency: Annotated[str, saliency_option()] = DEFAULT_SALIENCY,
) -> None:
    """Write IMAGE's importance map: <name>.map.png (grey) and <name>.overlay.png (heatmap).

    This is the original tool's Importance_map.png: white is where bits are spent. It is the map
    compress uses (the pipeline's first two stages: a big JPEG is mapped from its preview).
    """
    from focuspress.engine import FocuspressError, save_map_images, shared_engine
    from focuspress.engine.io.load import read_bytes
    from focuspress.engine.pipeline import Work, load_and_map
    from focuspress.engine.results import resize_map

    try:
        name = image.name
        (mapped,) = load_and_map(shared_engine(saliency).maps_for, [Work(read_bytes(image), name)])
        if mapped.refusal is not None or mapped.image is None or mapped.importance is None:
            raise FocuspressError(mapped.refusal.message if mapped.refusal else f"{name}: no map")
        rgb = mapped.image.rgb
        importance = resize_map(mapped.importance, *rgb.shape[:2])
        map_path, overlay_path = save_map_images(rgb, importance, output, image.stem)
    except FocuspressError as exc:
        refuse(str(exc))
    out.print(f"wrote {map_path} and {overlay_path} (mean importance {importance.mean():.2f})", highlight=False)
