"""Regenerate ``benchmarks/README.md``: the Kodak table and the ECSSD ROI table, with plots.

    focuspress bench publish            # full sweeps: about 40 minutes on 2 cores

Runs both benchmarks into ``benchmarks/results/{kodak,ecssd}`` (ignored by git), copies the RD
plots into ``benchmarks/plots/`` and writes the README from the two summaries. Saved
``results.json`` files can be given instead of sweeping again (they are merged).
"""

from __future__ import annotations

import json
import shutil
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
ECSSD_CODECS = (
    "focuspress-block",
    "focuspress-block-roi085",
    "focuspress-block-roi1",
    "focuspress-pixel",
    "jpeg-turbo",
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


def sweep(data_root: Path, out_root: Path, *, jobs: int = 2, ecssd_images: int = 80, progress=None):
    kodak_rows = runner.run(runner.list_images(data_root / "kodak"), KODAK_CODECS, jobs=jobs, progress=progress)
    runner.save_rows(kodak_rows, out_root / "results" / "kodak")
    ecssd = held_out_ecssd(data_root / "ecssd" / "images")[:ecssd_images]
    ecssd_rows = runner.run(ecssd, ECSSD_CODECS, masks=data_root / "ecssd" / "masks", jobs=jobs, progress=progress)
    runner.save_rows(ecssd_rows, out_root / "results" / "ecssd")
    return kodak_rows, ecssd_rows


def write_readme(kodak_rows: list[dict], ecssd_rows: list[dict], out_root: Path) -> Path:
    plots = out_root / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    sections = []
    for name, rows, window, title in (
        ("kodak", kodak_rows, (50.0, 90.0), "Kodak (24 images)"),
        ("ecssd", ecssd_rows, (30.0, 90.0), "ECSSD (held-out images; ROI = the salient-object mask)"),
    ):
        report.set_window("ssimulacra2", window)
        images = len({r["image"] for r in rows})
        sections.append(report.summary_markdown(rows, "jpeg-turbo", title.replace("held-out", f"{images} held-out")))
        folder = out_root / "results" / name
        folder.mkdir(parents=True, exist_ok=True)
        for path in report.plot(rows, folder):
            shutil.copy(path, plots / f"{name}_{path.name}")
    report.set_window("ssimulacra2", (50.0, 90.0))
    text = [
        "# Benchmarks",
        "",
        f"Regenerated {date.today().isoformat()} by `focuspress bench publish` (data: `../shared/data`).",
        "Every codec encodes and decodes in process; PSNR and MS-SSIM on RGB, SSIMULACRA2 on the",
        "decoded RGB; BD-rates are means of per-image BD-rates against libjpeg-turbo (Pillow,",
        "optimize=True, 4:2:0). Windowed columns integrate over PSNR 30..40 and SSIMULACRA2 50..90",
        "(ECSSD: 30..90). ECSSD images are the validation split (never used to train the map) from",
        "index 300 on (never used to tune the ROI settings).",
        "",
        *[section.replace("# ", "## ", 1) for section in sections],
        "## Plots",
        "",
        "![Kodak SSIMULACRA2](plots/kodak_rd_ssimulacra2.png) ![Kodak PSNR](plots/kodak_rd_psnr.png)",
        "",
        "![ECSSD ROI-PSNR](plots/ecssd_rd_roi_psnr.png) ![ECSSD SSIMULACRA2](plots/ecssd_rd_ssimulacra2.png)",
        "",
    ]
    readme = out_root / "README.md"
    readme.write_text("\n".join(text))
    return readme
