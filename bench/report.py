"""BD-rate tables, summary.md and RD plots from benchmark rows."""

from __future__ import annotations

import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

from focuspress.engine.metrics import bd_rate

METRICS = ("psnr", "ms_ssim", "ssimulacra2", "roi_psnr")
LABELS = {"psnr": "PSNR (dB)", "ms_ssim": "MS-SSIM", "ssimulacra2": "SSIMULACRA2", "roi_psnr": "ROI-PSNR (dB)"}
WINDOWS = {"psnr": (30.0, 40.0), "ssimulacra2": (50.0, 90.0), "roi_psnr": (30.0, 40.0), "ms_ssim": None}
TARGETS = {"ssimulacra2": (70.0, 80.0, 90.0), "psnr": (32.0, 36.0, 40.0)}


def _curves(rows: list[dict]) -> dict[str, dict[str, np.ndarray]]:
    """codec -> image -> array of (bpp, psnr, ms_ssim, ssimulacra2, roi_psnr) sorted by knob."""
    grouped: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        roi = r["roi_psnr"] if r["roi_psnr"] is not None else np.nan
        grouped[r["codec"]][r["image"]].append((r["knob"], r["bpp"], r["psnr"], r["ms_ssim"], r["ssimulacra2"], roi))
    out: dict[str, dict[str, np.ndarray]] = {}
    for codec, images in grouped.items():
        out[codec] = {img: np.array(sorted(points))[:, 1:] for img, points in images.items()}
    return out


_COLUMN = {"psnr": 1, "ms_ssim": 2, "ssimulacra2": 3, "roi_psnr": 4}


def set_window(metric: str, window: tuple[float, float]) -> None:
    """Change the useful-quality window of ``metric`` (e.g. SSIMULACRA2 30..90 for ECSSD)."""
    WINDOWS[metric] = window


def bd_table(rows: list[dict], anchor: str, window: bool = False) -> dict[str, dict[str, float]]:
    """codec -> metric -> mean per-image BD-rate (%) against ``anchor``."""
    curves = _curves(rows)
    if anchor not in curves:
        raise ValueError(f"anchor {anchor!r} not in results")
    table: dict[str, dict[str, float]] = {}
    for codec, images in curves.items():
        table[codec] = {}
        for metric, column in _COLUMN.items():
            values = []
            for image, points in images.items():
                base = curves[anchor].get(image)
                if base is None or np.isnan(points[:, column]).all():
                    continue
                w = WINDOWS[metric] if window else None
                if metric == "ms_ssim" and window:
                    continue
                values.append(bd_rate(base[:, 0], base[:, column], points[:, 0], points[:, column], window=w))
            table[codec][metric] = float(np.nanmean(values)) if values and not np.all(np.isnan(values)) else np.nan
    return table


def per_image_markdown(rows: list[dict], anchor: str, codecs: tuple[str, ...], metric: str = "ssimulacra2") -> str:
    """A table of each image's windowed BD-rate for ``codecs`` (the per-photo view of a mean)."""
    curves = _curves(rows)
    column, window = _COLUMN[metric], WINDOWS[metric]
    present = [c for c in codecs if c in curves]
    lines = [
        f"Per photo, {metric.upper() if metric != 'ssimulacra2' else 'SSIMULACRA2'} "
        f"{window[0]:.0f}..{window[1]:.0f} BD-rate against `{anchor}`:"
        if window
        else "",
        "",
        "| image | " + " | ".join(present) + " |",
        "|---|" + "---|" * len(present),
    ]
    for image in sorted(curves.get(anchor, {})):
        base = curves[anchor][image]
        cells = []
        for codec in present:
            points = curves[codec].get(image)
            value = (
                np.nan
                if points is None
                else bd_rate(base[:, 0], base[:, column], points[:, 0], points[:, column], window=window)
            )
            cells.append(_fmt(value) if np.isfinite(value) else "n/a")
        lines.append(f"| {Path(image).stem} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def bpp_at(rows: list[dict], metric: str, target: float) -> dict[str, float]:
    """codec -> mean bpp needed to reach ``target`` (log-linear interpolation per image)."""
    out = {}
    for codec, images in _curves(rows).items():
        values = []
        for points in images.values():
            q, r = points[:, _COLUMN[metric]], points[:, 0]
            order = np.argsort(q)
            if q.min() <= target <= q.max():
                values.append(float(np.exp(np.interp(target, q[order], np.log(r[order])))))
        out[codec] = float(np.mean(values)) if len(values) == len(images) else np.nan
    return out


def speed(rows: list[dict]) -> dict[str, tuple[float, float, float]]:
    """codec -> (median encode ms/MP, median decode ms/MP, max peak RSS MB)."""
    by_codec: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_codec[r["codec"]].append(r)
    return {
        codec: (
            float(np.median([r["encode_ms_per_mp"] for r in rs])),
            float(np.median([r["decode_ms_per_mp"] for r in rs])),
            float(max(r["peak_rss_mb"] for r in rs)),
        )
        for codec, rs in by_codec.items()
    }


def _fmt(value: float) -> str:
    return "n/a" if value is None or np.isnan(value) else f"{value:+.1f}%"


def lossless_table(rows: list[dict]) -> list[str]:
    """Markdown lines for size-only codecs (lossless transcodes of a JPEG source): % of the source."""
    sized = [r for r in rows if r.get("size_only")]
    if not sized:
        return []
    by_codec: dict[str, list[dict]] = defaultdict(list)
    for r in sized:
        by_codec[r["codec"]].append(r)
    lines = [
        "",
        "## Lossless transcodes of the source (size only; the pixels are the source's)",
        "",
        "| codec | bpp | bytes, % of the source (mean) | median |",
        "|---|---|---|---|",
    ]
    for codec, rs in sorted(by_codec.items()):
        shares = [100.0 * r["bytes"] / r["source_bytes"] for r in rs]
        bpp = float(np.mean([r["bpp"] for r in rs]))
        lines.append(f"| {codec} | {bpp:.3f} | {np.mean(shares):.1f}% | {np.median(shares):.1f}% |")
    return lines


def summary_markdown(rows: list[dict], anchor: str, title: str) -> str:
    sized = [r for r in rows if r.get("size_only")]
    rows = [r for r in rows if not r.get("size_only")]
    whole = bd_table(rows, anchor)
    windowed = bd_table(rows, anchor, window=True)
    has_roi = any(r["roi_psnr"] is not None for r in rows)
    metrics = [m for m in METRICS if m != "roi_psnr" or has_roi]
    images = sorted({r["image"] for r in rows})
    sources = [r["source_bytes"] for r in rows if r.get("source_bytes")]
    source_note = []
    if sources:
        source_bpp = np.mean(
            [8.0 * r["source_bytes"] / (r["width"] * r["height"]) for r in rows if r.get("source_bytes")]
        )
        source_note = [
            f"Sources are JPEGs (mean {source_bpp:.3f} bpp): every score is against the decoded source; the",
            "re-encoders get its pixels, focuspress gets the file.",
            "",
        ]
    lines = [
        f"# {title}",
        "",
        f"{len(images)} images; BD-rates against `{anchor}` (negative = smaller files at equal quality),",
        "mean of per-image BD-rates (PCHIP on log-rate).",
        "",
        *source_note,
    ]
    header = "| codec | " + " | ".join(f"{LABELS[m]} all" for m in metrics) + " | "
    spans = [(m, w) for m in metrics if (w := WINDOWS[m]) is not None]
    header += " | ".join(f"{LABELS[m]} {w[0]:.0f}..{w[1]:.0f}" for m, w in spans) + " |"
    lines.append(header)
    lines.append("|" + "---|" * (1 + len(metrics) + sum(1 for m in metrics if WINDOWS[m])))
    for codec in sorted(whole, key=lambda c: whole[c].get("ssimulacra2", 0.0)):
        cells = [_fmt(whole[codec][m]) for m in metrics] + [_fmt(windowed[codec][m]) for m in metrics if WINDOWS[m]]
        lines.append(f"| {codec} | " + " | ".join(cells) + " |")
    lines += ["", "## Bits per pixel to reach a quality", ""]
    targets = [(m, t) for m in ("ssimulacra2", "psnr") for t in TARGETS[m]]
    lines.append("| codec | " + " | ".join(f"{LABELS[m]} {t:g}" for m, t in targets) + " |")
    lines.append("|" + "---|" * (1 + len(targets)))
    table = {(m, t): bpp_at(rows, m, t) for m, t in targets}
    for codec in sorted(whole):
        cells = [("n/a" if np.isnan(table[(m, t)][codec]) else f"{table[(m, t)][codec]:.3f}") for m, t in targets]
        lines.append(f"| {codec} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Speed (this machine, one process per core)",
        "",
        "| codec | encode ms/MP | decode ms/MP | peak RSS MB |",
        "|---|---|---|---|",
    ]
    for codec, (enc, dec, rss) in sorted(speed(rows).items()):
        lines.append(f"| {codec} | {enc:.0f} | {dec:.0f} | {rss:.0f} |")
    lines += lossless_table(sized)
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], folder: Path) -> list[Path]:
    """One PNG per metric: mean bpp against mean quality per knob, one line per codec."""
    rows = [r for r in rows if not r.get("size_only")]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = _curves(rows)
    written = []
    for metric, column in _COLUMN.items():
        if all(np.isnan(p[:, column]).all() for imgs in curves.values() for p in imgs.values()):
            continue
        fig, ax = plt.subplots(figsize=(7, 5), dpi=110)
        for codec in sorted(curves):
            stacks = [p for p in curves[codec].values()]
            n = min(len(p) for p in stacks)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (no ROI masks) are expected
                mean = np.nanmean(np.stack([p[:n] for p in stacks]), axis=0)
            style = "-" if codec.startswith("focuspress") else "--"
            ax.plot(mean[:, 0], mean[:, column], style, marker="o", markersize=3, label=codec)
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(LABELS[metric])
        ax.set_xlim(0, 3.2)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_title(f"{LABELS[metric]} vs rate")
        path = folder / f"rd_{metric}.png"
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written
