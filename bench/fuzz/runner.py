"""Run many fuzz cases in worker processes, each case under a time limit and a memory cap.

Why a small supervisor of our own: process pools (multiprocessing, concurrent.futures) cannot
stop one task that hangs or crashes its process; here the parent waits for each answer with a
deadline, kills and replaces a worker that runs over (a ``hang``) or dies (``died``), and each
worker runs under ``RLIMIT_AS`` so a memory blow-up is a ``MemoryError`` in that worker, not
the machine's problem. Cases are rebuilt in the worker from (seed, index): only integers travel.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from focuspress.bench.fuzz.cases import VERDICTS, make_case, run_case


@dataclass
class FuzzReport:
    cases: int = 0
    counts: Counter = field(default_factory=Counter)
    findings: list[dict] = field(default_factory=list)  # everything that is not ok/refused
    seconds: float = 0.0
    peak_rss_mb: float = 0.0  # the largest worker's peak resident memory
    by_seed: dict[str, Counter] = field(default_factory=dict)

    @property
    def failures(self) -> int:
        return sum(self.counts[o] for o in VERDICTS if o not in ("ok", "refused"))


def _worker(conn, seed: int, memory_mb: int) -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)  # native decoders (libtiff) print every damaged scanline: keep the report readable
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    run_case(b"")  # load the engine once before the first timed case
    while True:
        index = conn.recv()
        if index is None:
            return
        name, data, quality = make_case(seed, index)
        outcome, detail = run_case(data, quality)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        conn.send((index, name, outcome, detail, rss))


class _Slot:
    def __init__(self, ctx, seed: int, memory_mb: int) -> None:
        self.parent, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker, args=(child, seed, memory_mb), daemon=True)
        self.process.start()
        child.close()
        self.index: int | None = None
        self.started = 0.0

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)


def fuzz(
    cases: int,
    *,
    seed: int = 0,
    jobs: int = 2,
    timeout: float = 20.0,
    memory_mb: int = 2048,
    save_findings: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> FuzzReport:
    ctx = mp.get_context("spawn")  # a clean interpreter per worker (no inherited threads or locks)
    report = FuzzReport()
    start = time.perf_counter()
    slots = [_Slot(ctx, seed, memory_mb) for _ in range(jobs)]
    next_index = 0

    def record(index: int, name: str, outcome: str, detail: str) -> None:
        report.cases += 1
        report.counts[outcome] += 1
        report.by_seed.setdefault(name, Counter())[outcome] += 1
        if outcome not in ("ok", "refused"):
            report.findings.append({"index": index, "seed_file": name, "outcome": outcome, "detail": detail})
            if save_findings is not None:
                save_findings.mkdir(parents=True, exist_ok=True)
                (save_findings / f"case-{seed}-{index}-{outcome}.bin").write_bytes(make_case(seed, index)[1])
        if progress:
            progress(1)

    try:
        while report.cases < cases:
            for slot in slots:
                if slot.index is None and next_index < cases:
                    slot.index, slot.started = next_index, time.monotonic()
                    slot.parent.send(next_index)
                    next_index += 1
            busy = [slot for slot in slots if slot.index is not None]
            ready = mp.connection.wait([slot.parent for slot in busy] + [s.process.sentinel for s in busy], 0.5)
            now = time.monotonic()
            for i, slot in enumerate(slots):
                if slot.index is None:
                    continue
                if slot.parent in ready and slot.parent.poll():
                    try:
                        index, name, outcome, detail, rss = slot.parent.recv()
                    except (EOFError, OSError):
                        index, name, outcome, detail, rss = slot.index, "?", "died", "worker exited", 0.0
                    report.peak_rss_mb = max(report.peak_rss_mb, rss)
                    record(index, name, outcome, detail)
                    slot.index = None
                    if outcome == "died":
                        slots[i] = _Slot(ctx, seed, memory_mb)
                elif not slot.process.is_alive():
                    code = slot.process.exitcode
                    record(slot.index, make_case(seed, slot.index)[0], "died", f"worker exit code {code}")
                    slots[i] = _Slot(ctx, seed, memory_mb)
                elif now - slot.started > timeout:
                    record(slot.index, make_case(seed, slot.index)[0], "hang", f"over {timeout:.0f} s")
                    slot.kill()
                    slots[i] = _Slot(ctx, seed, memory_mb)
    finally:
        for slot in slots:
            try:
                slot.parent.send(None)
            except (OSError, BrokenPipeError):
                pass
            slot.process.join(2)
            if slot.process.is_alive():
                slot.kill()
    report.seconds = time.perf_counter() - start
    return report
