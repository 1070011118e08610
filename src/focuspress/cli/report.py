"""What ``focuspress compress`` tells its user: progress while it works, then a summary that fits.

One :class:`PhotoReport` per input (written, refused or skipped), built once and rendered three
ways:

* **progress** on stderr while the photos are done, when stderr is a terminal (rich's live bar:
  photos done of total, bytes in and out so far, photos per second, time left); nothing of it in
  a log or a pipe;
* **the summary** on stdout: for a small batch (:data:`COMPACT_UP_TO` photos or fewer) a compact
  table whose columns are those that matter first (name, saving, scores, outcome), each name cut
  in the middle to fit; for a big one the totals, the spread of savings and scores, and only the
  photos that need a look (refused, warnings, kept, larger, a target missed). ``--table full``
  gives every photo with every column (sizes, bpp, quality, ms, and ``--metrics``'s);
  ``--table none`` the totals alone. An 80-column terminal holds every line without wrapping;
* **JSON lines** (``--json``): one object per photo, then one summary object, and nothing else on
  stdout (notes, errors and progress stay on stderr), for scripts and cron jobs.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

TableMode = Literal["auto", "full", "none"]
TABLE_MODES: tuple[str, ...] = ("auto", "full", "none")
#: batches up to this many photos get a row each in the default summary
COMPACT_UP_TO = 20


@dataclass
class PhotoReport:
    """One input as the summary and ``--json`` report it. ``status``: written, refused or skipped."""

    name: str
    source: str
    status: str
    output: str | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    width: int = 0
    height: int = 0
    quality: float | None = None
    photo: float | None = None
    subject: float | None = None
    exact: bool | None = None
    outcome: str | None = None
    route: str | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    reason: str | None = None
    ms: dict[str, float] = field(default_factory=dict)
    #: the contract's targets this photo was held to (None outside the contract)
    targets: tuple[float, float] | None = None
    #: --metrics: PSNR, MS-SSIM, SSIMULACRA2 (and ROI-PSNR) of the written file
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def saving(self) -> float | None:
        """1 - out / in (negative: larger), for a written photo."""
        if self.status != "written" or not self.bytes_in:
            return None
        return 1.0 - self.bytes_out / self.bytes_in

    @property
    def bpp(self) -> float | None:
        return 8.0 * self.bytes_out / (self.width * self.height) if self.width and self.height else None

    @property
    def missed(self) -> bool:
        """The contract's own scores fall short of a target (a source already coarser than it)."""
        if self.targets is None or self.photo is None:
            return False
        photo_target, subject_target = self.targets
        return self.photo < photo_target or (self.subject is not None and self.subject < subject_target)

    def needs_a_look(self) -> list[str]:
        """Why a person should look at this photo (empty: nothing to see)."""
        why = []
        if self.status == "refused":
            why.append("refused")
        if self.warnings:
            why.append("warnings")
        if self.outcome == "kept":
            why.append("kept")
        saving = self.saving
        if saving is not None and saving < 0:
            why.append("larger")
        if self.missed:
            why.append("target missed")
        return why

    def as_json(self) -> dict:
        record: dict[str, object] = {"type": "photo", "name": self.name, "source": self.source, "status": self.status}
        if self.status == "written":
            record.update(
                output=self.output,
                bytes_in=self.bytes_in,
                bytes_out=self.bytes_out,
                saving=round(self.saving or 0.0, 4),
                width=self.width,
                height=self.height,
                bpp=round(self.bpp or 0.0, 4),
                quality=None if self.quality is None else round(self.quality, 2),
                photo_ssimulacra2=None if self.photo is None else round(self.photo, 2),
                subject_ssimulacra2=None if self.subject is None else round(self.subject, 2),
                scores=None if self.exact is None else ("exact" if self.exact else "estimated"),
                outcome=self.outcome,
                route=self.route,
                ms={stage: round(value, 1) for stage, value in self.ms.items()},
            )
            if self.metrics:
                record["metrics"] = {key: round(value, 4) for key, value in self.metrics.items()}
        if self.status == "skipped":
            record["output"] = self.output
        if self.error is not None:
            record.update(error=self.error, reason=self.reason)
        record["warnings"] = list(self.warnings)
        record["notes"] = list(self.notes)
        return record


class _Bytes(ProgressColumn):
    """Bytes in and out so far, and the saving."""

    def render(self, task: Task) -> Text:
        bytes_in, bytes_out = task.fields.get("bytes_in", 0), task.fields.get("bytes_out", 0)
        if not bytes_in:
            return Text("")
        return Text(f"{_size(bytes_in)} → {_size(bytes_out)}", style="progress.data.speed")


class _Rate(ProgressColumn):
    """Photos per second over the run so far."""

    def render(self, task: Task) -> Text:
        elapsed = task.finished_time if task.finished else task.elapsed
        if not elapsed or not task.completed:
            return Text("")
        return Text(f"{task.completed / elapsed:.1f}/s", style="progress.data.speed")


class LiveProgress:
    """The live bar on stderr (a no-op where stderr is not a terminal, or for a single photo)."""

    def __init__(self, console: Console, total: int) -> None:
        self.enabled = console.is_terminal and total > 1
        self.started = time.perf_counter()
        self._bytes_in = 0
        self._bytes_out = 0
        self._bar: Progress | None = None
        if self.enabled:
            self._bar = Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(bar_width=20),
                MofNCompleteColumn(),
                _Bytes(),
                _Rate(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            self._task = self._bar.add_task("compressing", total=total)

    def __enter__(self) -> LiveProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, report: PhotoReport) -> None:
        if report.status == "written":
            self._bytes_in += report.bytes_in
            self._bytes_out += report.bytes_out
        if self._bar is not None:
            self._bar.update(self._task, advance=1, bytes_in=self._bytes_in, bytes_out=self._bytes_out)


def _size(n: int) -> str:
    if n < 1_000_000:
        return f"{n / 1000:.1f} KB"
    if n < 1_000_000_000:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e9:.2f} GB"


def _score(value: float | None, exact: bool | None) -> str:
    if value is None:
        return "-"
    return f"{'=' if exact else '~'}{value:.1f}"


def _saving(report: PhotoReport) -> str:
    saving = report.saving
    if saving is None:
        return "-"
    return f"{100 * saving:.0f}%" if saving >= 0 else f"+{-100 * saving:.0f}%"


def _outcome(report: PhotoReport) -> str:
    if report.status != "written":
        return report.status
    return (report.outcome or "") + ("*" if report.warnings else "")


#: the compact table's columns after the name: (header, width), each wide enough for its longest
#: cell ("123.4 KB", "+100%", "~100.0", "recompressed*")
_COMPACT = (("out", 8), ("saved", 5), ("photo", 6), ("subject", 7), ("outcome", 13))


def compact_table(reports: list[PhotoReport], width: int = 80) -> Table:
    """A row per photo, the columns that matter first; names are cut to what is left of ``width``."""
    rest = sum(w for _, w in _COMPACT) + 2 * len(_COMPACT)  # a column and its padding
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    longest = max((len(r.name) for r in reports), default=4)
    table.add_column("file", overflow="ellipsis", no_wrap=True, width=max(12, min(longest, width - rest - 1)))
    for header, column_width in _COMPACT:
        table.add_column(
            header, justify="left" if header == "outcome" else "right", no_wrap=True, min_width=column_width
        )
    for report in reports:
        table.add_row(
            report.name,
            _size(report.bytes_out) if report.status == "written" else "-",
            _saving(report),
            _score(report.photo, report.exact),
            _score(report.subject, report.exact),
            _outcome(report),
        )
    return table


def full_table(reports: list[PhotoReport], metric_names: list[str]) -> Table:
    """Every column for every written photo (what the summary held before round 4, and --metrics's)."""
    table = Table(title="focuspress", title_justify="left")
    names = ["file", "size", "in", "out", "bpp", "smaller", "quality", "photo", "subject", "outcome", "ms"]
    for name in names + metric_names:
        table.add_column(name, justify="left" if name == "file" else "right", overflow="fold")
    for report in reports:
        if report.status != "written":
            continue
        ratio = report.bytes_in / report.bytes_out if report.bytes_out else 0.0
        table.add_row(
            report.name,
            f"{report.width}x{report.height}",
            _size(report.bytes_in),
            _size(report.bytes_out),
            f"{report.bpp:.3f}" if report.bpp is not None else "-",
            f"{ratio:.1f}x" if ratio else "-",
            f"{report.quality:.1f}" if report.quality is not None else "-",
            _score(report.photo, report.exact),
            _score(report.subject, report.exact),
            _outcome(report),
            f"{report.ms.get('total', sum(report.ms.values())):.0f}",
            *[_metric(report.metrics.get(name)) for name in metric_names],
        )
    return table


def _metric(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if value <= 1.0 else f"{value:.2f}" if value > 10 else f"{value:.1f}"


def _spread(values: list[float], fmt: str) -> str:
    if not values:
        return "-"
    p10, median, p90 = np.percentile(values, [10, 50, 90])
    return f"p10 {fmt.format(p10)}, median {fmt.format(median)}, p90 {fmt.format(p90)}"


def summary_lines(reports: list[PhotoReport], seconds: float, output: str) -> list[str]:
    """The totals: counts by outcome, bytes, the spread of savings and scores, time."""
    written = [r for r in reports if r.status == "written"]
    bytes_in = sum(r.bytes_in for r in written)
    bytes_out = sum(r.bytes_out for r in written)
    counts: dict[str, int] = {}
    for report in reports:
        key = report.outcome if report.status == "written" and report.outcome else report.status
        counts[key] = counts.get(key, 0) + 1
    change = ""
    if bytes_in:
        saving = 1.0 - bytes_out / bytes_in
        change = f" ({100 * saving:.0f}% smaller)" if saving >= 0 else f" ({-100 * saving:.0f}% larger)"
    rate = len(written) / seconds if seconds > 0 else 0.0
    lines = [
        f"{len(written)} of {len(reports)} written to {output}/: "
        + ", ".join(f"{n} {name}" for name, n in sorted(counts.items())),
        f"{_size(bytes_in)} → {_size(bytes_out)}{change} · {seconds:.1f} s · {rate:.2f} photos/s",
    ]
    if len(written) > 1:
        lines.append("saved: " + _spread([100 * (r.saving or 0.0) for r in written], "{:.0f}%"))
        photo = [r.photo for r in written if r.photo is not None]
        subject = [r.subject for r in written if r.subject is not None]
        if photo:
            lines.append("photo SSIMULACRA2: " + _spread(photo, "{:.1f}"))
        if subject:
            lines.append("subject SSIMULACRA2: " + _spread(subject, "{:.1f}"))
    return lines


def attention_table(reports: list[PhotoReport], width: int = 80) -> Table | None:
    """Only the photos that need a look, with why (None: none do)."""
    flagged = [(r, r.needs_a_look()) for r in reports]
    flagged = [(r, why) for r, why in flagged if why]
    if not flagged:
        return None
    reasons = max(len(", ".join(why)) for _, why in flagged)
    columns = (("why", max(3, reasons)), ("saved", 5), ("photo", 6), ("subject", 7))
    rest = sum(w for _, w in columns) + 2 * len(columns)
    longest = max(len(r.name) for r, _ in flagged)
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False)
    table.add_column("needs a look", overflow="ellipsis", no_wrap=True, width=max(12, min(longest, width - rest - 1)))
    for header, column_width in columns:
        table.add_column(header, justify="left" if header == "why" else "right", no_wrap=True, min_width=column_width)
    for report, why in flagged:
        table.add_row(
            report.name,
            ", ".join(why),
            _saving(report),
            _score(report.photo, report.exact),
            _score(report.subject, report.exact),
        )
    return table


def print_summary(
    console: Console,
    reports: list[PhotoReport],
    *,
    mode: str,
    seconds: float,
    output: str,
    device: str,
    metric_names: list[str],
) -> None:
    """The summary of the module's docstring, on ``console`` (stdout)."""
    shown = [r for r in reports if r.status != "skipped"]
    if mode == "full" or metric_names:
        if any(r.status == "written" for r in shown):
            console.print(full_table(shown, metric_names))
    elif mode == "auto" and shown and len(shown) <= COMPACT_UP_TO:
        console.print(compact_table(shown, console.width))
        if any(r.warnings for r in shown):
            console.print("* decoder warnings (printed above as note: lines)", highlight=False)
    elif mode == "auto":
        attention = attention_table(shown, console.width)
        if attention is not None:
            console.print(attention)
    for line in summary_lines(reports, seconds, output):
        console.print(line, highlight=False)
    skipped = sum(1 for r in reports if r.status == "skipped")
    if skipped:
        console.print(f"{skipped} skipped: already done (--skip-existing)", highlight=False)
    if mode == "auto" and len(shown) > COMPACT_UP_TO:
        console.print("--table full lists every photo", highlight=False)
    console.print(f"model on {device}; photo, subject: SSIMULACRA2 (~ estimated, = exact)", highlight=False)


def summary_record(reports: list[PhotoReport], seconds: float, output: str) -> dict:
    """The last ``--json`` object: totals, counts and spreads."""
    written = [r for r in reports if r.status == "written"]
    counts: dict[str, int] = {}
    for report in reports:
        key = report.outcome if report.status == "written" and report.outcome else report.status
        counts[key] = counts.get(key, 0) + 1
    bytes_in = sum(r.bytes_in for r in written)
    bytes_out = sum(r.bytes_out for r in written)

    def median(values: list[float]) -> float | None:
        return round(float(np.median(values)), 4) if values else None

    return {
        "type": "summary",
        "output": output,
        "photos": len(reports),
        "written": len(written),
        "refused": sum(1 for r in reports if r.status == "refused"),
        "skipped": sum(1 for r in reports if r.status == "skipped"),
        "outcomes": counts,
        "bytes_in": bytes_in,
        "bytes_out": bytes_out,
        "saving": round(1.0 - bytes_out / bytes_in, 4) if bytes_in else None,
        "median_saving": median([r.saving for r in written if r.saving is not None]),
        "median_photo_ssimulacra2": median([r.photo for r in written if r.photo is not None]),
        "median_subject_ssimulacra2": median([r.subject for r in written if r.subject is not None]),
        "needs_a_look": [r.name for r in reports if r.needs_a_look()],
        "seconds": round(seconds, 2),
    }


def json_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False)
