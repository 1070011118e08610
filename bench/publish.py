"""Regenerate ``benchmarks/README.md``: the Kodak table and the ECSSD ROI table, with plots.

    focuspress bench publish            # full sweeps: about 40 minutes on 2 cores

Runs both benchmarks into ``benchmarks/results/{kodak,ecssd}`` (ignored by git), copies the RD
plots into ``benchmarks/plots/`` and writes the README from the two summaries.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from bench import report, runner

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
ECSSD_CODECS = ("focuspress-block", "focuspress-pixel", "jpeg-turbo")


def held_out_ecssd(folder: Path) -> list[Path]:
    """ECSSD images used for no training and no tuning (see the comment in :func:`publish`)."""
    images = runner.list_images(folder)
    return [path for index, path in enumerate(images) if index % 5 == 0 and index >= 300]


def publish(data_root: Path, out_root: Path, *, jobs: int = 2, ecssd_images: int = 80, progress=None) -> Path:
    sections = []
    plots = out_root / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    kodak = runner.list_images(data_root / "kodak")
    rows = runner.run(kodak, KODAK_CODECS, jobs=jobs, progress=progress)
    runner.save_rows(rows, out_root / "results" / "kodak")
    report.set_window("ssimulacra2", (50.0, 90.0))
    sections.append(report.summary_markdown(rows, "jpeg-turbo", "Kodak (24 images)").replace("# ", "## ", 1))
    for path in report.plot(rows, out_root / "results" / "kodak"):
        shutil.copy(path, plots / f"kodak_{path.name}")
    # ECSSD: validation-split images (every fifth by name, never used to train the map) from
    # index 300 on; the ROI settings were tuned on the validation images before index 300.
    ecssd = held_out_ecssd(data_root / "ecssd" / "images")[:ecssd_images]
    rows = runner.run(ecssd, ECSSD_CODECS, masks=data_root / "ecssd" / "masks", jobs=jobs, progress=progress)
    runner.save_rows(rows, out_root / "results" / "ecssd")
    report.set_window("ssimulacra2", (30.0, 90.0))
    sections.append(
        report.summary_markdown(
            rows, "jpeg-turbo", f"ECSSD ({len(ecssd)} held-out images, ROI = salient-object mask)"
        ).replace("# ", "## ", 1)
    )
    for path in report.plot(rows, out_root / "results" / "ecssd"):
        shutil.copy(path, plots / f"ecssd_{path.name}")
    text = [
        "# Benchmarks",
        "",
        f"Regenerated {date.today().isoformat()} by `focuspress bench publish` (data: `../shared/data`).",
        "Every codec encodes and decodes in process; PSNR and MS-SSIM on RGB, SSIMULACRA2 on the",
        "decoded RGB; BD-rates are means of per-image BD-rates against libjpeg-turbo (Pillow,",
        "optimize=True, 4:2:0). Windowed columns integrate over PSNR 30..40 / SSIMULACRA2 50..90",
        "(ECSSD: 30..90).",
        "",
        *sections,
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
