"""Regenerate ``benchmarks/README.md``: every benchmark section, with tables and plots.

    focuspress bench publish                      # every sweep: about an hour on 2 cores
    focuspress bench publish --reuse              # rewrite from benchmarks/results/*/results.json
    focuspress bench publish --only kodak-q92     # one section again (the others reused)

Sections (:data:`SECTIONS`): Kodak as lossless sources; Kodak and a second set of photos re-saved
as q92 4:2:0 JPEGs (camera-JPEG inputs, scored against the decoded source, against what users
would do instead); ECSSD held-out images with salient-object masks (ROI); and the camera folder
(real camera JPEGs) at default settings. Results go to ``benchmarks/results/<section>`` (ignored
by git), plots to ``benchmarks/plots/``.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from focuspress.bench import report, runner

KODAK_CODECS = (
    "focuspress-block",
    "focuspress-block-roi0",
    "focuspress-pixel",
    "jpeg-turbo",
    "mozjpeg",
    "jpegli",
    "webp",
    "avif-444",
    "avif-420",
    "jxl",
)
#: For JPEG sources: focuspress (default, roi 0, and the pixel route), what users would do instead.
JPEG_CODECS = (
    "focuspress-block",
    "focuspress-block-roi0",
    "focuspress-block-roi0-pixel-route",
    "jpeg-turbo",
    "mozjpeg",
    "jpegli",
    "mozjpeg-recompress",
    "mozjpeg-lossless",
    "jxl-jpeg",
)
#: The same for bigger photos, without the search anchor (seven mozjpeg encodes and scores a point).
JPEG_CODECS_LARGE = tuple(name for name in JPEG_CODECS if name not in ("mozjpeg-recompress",))
ECSSD_CODECS = (
    "focuspress-block",
    "focuspress-block-roi085",
    "focuspress-block-roi1",
    "focuspress-pixel",
    "jpeg-turbo",
)


#: Camera files as the cameras wrote them (lossless crops): the issue's method and what users pick instead.
CAMERA_CODECS = (
    "focuspress-block",
    "focuspress-block-roi0",
    "focuspress-block-with-metadata",
    "jpeg-turbo",
    "mozjpeg",
    "jpegli",
    "mozjpeg-lossless",
    "jxl-jpeg",
)
#: The qualities of the camera-native method (focuspress's -q and the re-encoders' quality).
CAMERA_KNOBS = (40.0, 55.0, 68.0, 78.0, 86.0, 92.0, 96.0)


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    data: str  # below the data root
    codecs: tuple[str, ...]
    window: tuple[float, float]
    source_jpeg: int | None = None
    masks: str | None = None
    held_out: bool = False
    #: JPEG files used as decoded pixels (lossless sources), as round 1 measured ECSSD's ROI figure
    as_pixels: bool = False
    #: lossless 1280x960 crops of the files (the cameras' own coefficients), reported per split
    crops: bool = False
    knobs: tuple[float, ...] | None = None


SECTIONS = (
    Section(
        "camera-native",
        "Camera JPEGs as cameras and phones wrote them (1280x960 lossless crops, the cameras' own coefficients)",
        "camera-native",
        CAMERA_CODECS,
        (60.0, 90.0),
        crops=True,
        knobs=CAMERA_KNOBS,
    ),
    Section("kodak", "Kodak (24 images, lossless sources)", "kodak", KODAK_CODECS, (50.0, 90.0)),
    Section(
        "kodak-q92",
        "Camera-JPEG inputs: Kodak re-saved by libjpeg-turbo at q92 4:2:0",
        "kodak",
        JPEG_CODECS,
        (60.0, 90.0),
        source_jpeg=92,
    ),
    Section(
        "unsplash-q92",
        "Camera-JPEG inputs: 20 modern photos (1-2 MP, train/unsplash, never used for tuning) at q92 4:2:0",
        "train/unsplash",
        JPEG_CODECS_LARGE,
        (60.0, 90.0),
        source_jpeg=92,
    ),
    Section(
        "ecssd",
        "ECSSD (held-out images as decoded pixels; ROI = the salient-object mask)",
        "ecssd/images",
        ECSSD_CODECS,
        (30.0, 90.0),
        masks="ecssd/masks",
        held_out=True,
        as_pixels=True,
    ),
)


def held_out_ecssd(folder: Path) -> list[Path]:
    """ECSSD images used for no training and no tuning: validation-split images (every fifth by
    name, never used to train the map) from index 300 on (the ROI settings were tuned on the
    validation images before index 300)."""
    images = runner.list_images(folder)
    return [path for index, path in enumerate(images) if index % 5 == 0 and index >= 300]


def load_rows(paths: list[Path]) -> list[dict]:
    """Merge several results.json files (later files win for the same image, codec and knob)."""
    merged: dict[tuple, dict] = {}
    for path in paths:
        for row in json.loads(Path(path).read_text()):
            merged[(row["image"], row["codec"], row["knob"])] = row
    return sorted(merged.values(), key=lambda r: (r["codec"], r["image"], r["knob"]))


def sweep(section: Section, data_root: Path, out_root: Path, *, jobs: int = 2, ecssd_images: int = 80, progress=None):
    folder = data_root / section.data
    images = held_out_ecssd(folder)[:ecssd_images] if section.held_out else runner.list_images(folder)
    if section.crops:
        from focuspress.evaluation import write_crops

        images = write_crops(folder, out_root / "results" / section.name / "crops")
    rows = runner.run(
        images,
        section.codecs,
        masks=data_root / section.masks if section.masks else None,
        jobs=jobs,
        progress=progress,
        source_jpeg=section.source_jpeg,
        as_pixels=section.as_pixels,
        knobs=section.knobs,
    )
    runner.save_rows(rows, out_root / "results" / section.name)
    return rows


def camera_split_tables(rows: list[dict]) -> str:
    """The camera section per split (tuned on train, reported on val) and per photo against mozjpeg."""
    from focuspress.evaluation import TRAIN

    out = []
    for label, keep in (("the tuning split (train)", True), ("photos the tuning never saw (val)", False)):
        subset = [r for r in rows if (Path(r["image"]).stem in TRAIN) == keep]
        if subset:
            images = len({r["image"] for r in subset})
            text = report.summary_markdown(subset, "jpeg-turbo", f"{label}: {images} photos")
            out.append(text.replace("# ", "### ", 1))
    out.append(
        report.per_image_markdown(
            rows, "jpeg-turbo", ("focuspress-block", "focuspress-block-roi0", "mozjpeg", "jpegli")
        )
    )
    return "\n".join(out)


def contract_parts(results: Path) -> list[str]:
    """The fidelity contract's sections, from ``bench contract`` and ``bench objects`` results where
    they were run (they are their own commands: whole camera photos, minutes each)."""
    parts = []
    contract = results / "contract" / "summary.md"
    if contract.exists():
        parts.append(
            "\n".join(
                [
                    "## Bytes at the fidelity contract (whole camera photos)",
                    "",
                    "`focuspress bench contract --data ../shared/data/camera-native`: focuspress at its default",
                    "(subject >= 90, photo >= 80, SSIMULACRA2 against the source) against mozjpeg and jpegli",
                    "searched for the lowest quality that meets the same two targets with the full metric; the",
                    "no-loss floor (mozjpeg's lossless re-scan, JPEG XL's lossless transcode); scores afterwards",
                    "with the full metric; the in-loop estimate's error; the time against one `-q 85` encode",
                    "(one worker alone, best of two). Sizes are the coded image (no metadata: the re-encoders",
                    "write none). train: the 11 photos the camera tuning and the estimate's bias were fitted on.",
                    "",
                    contract.read_text().rstrip(),
                    "",
                ]
            )
        )
    objects = results / "objects" / "summary.md"
    if objects.exists():
        parts.append(
            "\n".join(
                [
                    "## The contract seen from ground-truth objects (ECSSD)",
                    "",
                    "`focuspress bench objects --data ../shared/data/ecssd` (held-out images, default settings):",
                    "",
                    objects.read_text().rstrip(),
                    "",
                ]
            )
        )
    return parts


#: what ``bench publish`` last wrote to README.md (beside the results): README.md is replaced only
#: while it still holds exactly that, so notes written there by hand are never lost
LAST_WRITTEN = Path("results") / "README.published.md"


def write_readme(
    results: dict[str, list[dict]], out_root: Path, savings_lines: list[str] | None = None, *, overwrite: bool = False
) -> Path:
    """The benchmark page from ``results``: ``out_root/README.md`` where that is what publish last
    wrote there (or there is none, or ``overwrite``); else, beside it, ``README.generated.md`` (the
    README holds notes written since: merging is a person's job). Returns the path written."""
    plots = out_root / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    parts = []
    for section in SECTIONS:
        rows = results.get(section.name)
        if not rows:
            continue
        report.set_window("ssimulacra2", section.window)
        images = len({r["image"] for r in rows})
        title = section.title.replace("held-out", f"{images} held-out")
        parts.append(report.summary_markdown(rows, "jpeg-turbo", title).replace("# ", "## ", 1))
        if section.crops:
            parts.append(camera_split_tables(rows))
        folder = out_root / "results" / section.name
        folder.mkdir(parents=True, exist_ok=True)
        for path in report.plot(rows, folder):
            shutil.copy(path, plots / f"{section.name}_{path.name}")
    report.set_window("ssimulacra2", (50.0, 90.0))
    if savings_lines:
        parts.append(
            "\n".join(
                [
                    "## Real camera JPEGs at default settings",
                    "",
                    "`focuspress bench savings --data ../shared/data/camera` (defaults: the fidelity contract):",
                    "",
                    *[f"* {line}" for line in savings_lines],
                    "",
                ]
            )
        )
    parts += contract_parts(out_root / "results")
    plot_lines = [
        f"![{name} SSIMULACRA2](plots/{name}_rd_ssimulacra2.png)"
        for name in ("camera-native", "kodak", "kodak-q92", "unsplash-q92")
        if (plots / f"{name}_rd_ssimulacra2.png").exists()
    ]
    if (plots / "ecssd_rd_roi_psnr.png").exists():
        plot_lines.append("![ECSSD ROI-PSNR](plots/ecssd_rd_roi_psnr.png)")
    text = [
        "# Benchmarks",
        "",
        f"Regenerated {date.today().isoformat()} by `focuspress bench publish` (data: `../shared/data`).",
        "Every codec encodes and decodes in process; PSNR and MS-SSIM on RGB, SSIMULACRA2 on the",
        "decoded RGB; BD-rates are means of per-image BD-rates against libjpeg-turbo (Pillow,",
        "optimize=True, 4:2:0). Windowed columns integrate over PSNR 30..40 and the SSIMULACRA2 window",
        "each section names. For JPEG inputs the source is the reference: every score is against the",
        "decoded source; the re-encoders (libjpeg-turbo, mozjpeg, jpegli, a jpeg-recompress-style",
        "mozjpeg search) get its pixels, focuspress gets the file (``-pixel-route``: decoded and",
        "re-encoded instead of requantized in the DCT domain), and two lossless transcodes give the",
        "size a photo can reach without any change. focuspress's quality knob runs with `min_saving`",
        "0 here (its own curve). The DCT route's tuning: software re-saves (libjpeg's tables, q<=92,",
        "4:2:0) use the fit on BSDS500 photos; camera files the fit on camera-native's training split",
        "(11 photos, reported apart from the 11 it never saw). ECSSD images are the validation split",
        "(never used to train the map) from index 300 on.",
        "",
        *parts,
        "## Plots",
        "",
        " ".join(plot_lines),
        "",
    ]
    content = "\n".join(text)
    readme, last = out_root / "README.md", out_root / LAST_WRITTEN
    untouched = not readme.exists() or (last.exists() and last.read_text() == readme.read_text())
    if not (untouched or overwrite):
        generated = out_root / "README.generated.md"
        generated.write_text(content)
        return generated
    readme.write_text(content)
    last.parent.mkdir(parents=True, exist_ok=True)
    last.write_text(content)
    return readme
