"""``focuspress bench throughput``: the daemon's pipeline on a photo set, per executor, in images/s.

Runs the daemon's own processing path (journal claim, decode, saliency, compositor, atomic
write, journal ``done``) without the watcher, so that the figure is the pipeline's, not the
settle delay's: the local pool with 1 and 2 worker threads, and the Ray executor on a local Ray
with 1 and 2 actors. Also times each stage on one thread and the journal's transitions per
second, the numbers the scale-out estimate is built from (benchmarks/README.md).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from focuspress.bench.latency import STAGES, time_stages
from focuspress.bench.runner import list_images
from focuspress.daemon.config import DaemonConfig
from focuspress.daemon.journal import Journal
from focuspress.daemon.prometheus import DaemonMetrics
from focuspress.daemon.service import make_processor_plan
from focuspress.daemon.workers import Job, WorkerPool
from focuspress.engine.saliency import DEFAULT_SALIENCY

MODES = ("local-1", "local-2", "ray-1", "ray-2")


def _config(root: Path, saliency: str, executor: str, count: int) -> DaemonConfig:
    return DaemonConfig.model_validate(
        {
            "journal": str(root / "journal.sqlite3"),
            "saliency": saliency,
            "workers": count,
            "queue_size": 64,
            "executor": executor,
            "ray": {"actors": count, "num_cpus": 1},
            "log_format": "text",
            "inboxes": [{"name": "bench", "path": str(root / "in"), "outbox": str(root / "out"), "originals": "keep"}],
        }
    )


def _run_pipeline(images: list[Path], config: DaemonConfig) -> float:
    """Seconds for the daemon's own pipeline (:func:`make_processor_plan`) to take every image to done."""
    journal = Journal(config.journal)
    metrics = DaemonMetrics()
    pipeline = make_processor_plan(config, journal, metrics)
    pool = WorkerPool(pipeline.processor, pipeline.threads, config.queue_size, pipeline.batch_size, metrics)
    inbox = config.inboxes[0]
    journal.add_many([(inbox.name, p, p.stat().st_size, p.stat().st_mtime_ns, time.time()) for p in images])
    entries = journal.in_state("pending")
    pool.start()
    start = time.perf_counter()
    for entry in entries:
        pool.put(Job(entry, inbox))
    while True:
        counts = journal.counts()
        if counts.get("done", 0) + counts.get("quarantined", 0) >= len(images):
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    pool.stop(30)
    pipeline.executor.close()
    journal.close()
    return elapsed


def _copy_inputs(sources: list[Path], folder: Path, rounds: int) -> list[Path]:
    """A distinct copy per photo and round (a repeated file is one journal identity)."""
    folder.mkdir(parents=True)
    copies = []
    for r in range(rounds):
        for path in sources:
            target = folder / f"r{r}-{path.name}"
            shutil.copy2(path, target)
            copies.append(target)
    return copies


def stage_times(images: list[Path], saliency: str) -> dict[str, float]:
    """Median ms per stage on one thread (after a warm-up photo)."""
    from focuspress.engine import CompressOptions, Engine

    engine = Engine(saliency=saliency)
    engine.warm_up()
    options = CompressOptions()
    with tempfile.TemporaryDirectory() as folder:
        rows = [time_stages(engine, path, options, Path(folder))[0] for path in images]
    return dict(zip(STAGES, np.median(np.array(rows), axis=0).tolist()))


def journal_rate(transitions: int = 2000) -> float:
    """File lifecycles per second the journal sustains (claim, output, written, done: fsynced each)."""
    with tempfile.TemporaryDirectory() as folder:
        journal = Journal(Path(folder) / "j.sqlite3")
        n = transitions // 4
        journal.add_many([("b", Path(folder) / f"{i}.png", 1, i, 0.0) for i in range(n)])
        entries = journal.in_state("pending")
        start = time.perf_counter()
        for entry in entries:
            journal.claim(entry.id)
            journal.set_output(entry.id, Path(folder) / f"{entry.id}.jpg", b"")
            journal.set_state(entry.id, "written")
            journal.set_state(entry.id, "done")
        elapsed = time.perf_counter() - start
        journal.close()
    return n / elapsed


def run(data: Path, modes: list[str], *, saliency: str = DEFAULT_SALIENCY, rounds: int = 1, console=None) -> dict:
    sources = list_images(data)
    if not sources:
        raise SystemExit(f"{data}: no images")
    results: dict = {"images": len(sources) * rounds, "modes": {}}
    for mode in modes:
        kind, count = mode.split("-")
        root = Path(tempfile.mkdtemp(prefix="focuspress-throughput-"))
        try:
            images = _copy_inputs(sources, root / "in", rounds)
            config = _config(root, saliency, kind, int(count))
            seconds = _run_pipeline(images, config)
            results["modes"][mode] = {"seconds": seconds, "images_per_s": len(images) / seconds}
            if console is not None:
                console.print(f"{mode}: {len(images)} photos in {seconds:.1f} s = {len(images) / seconds:.2f} images/s")
        finally:
            shutil.rmtree(root, ignore_errors=True)
    results["stages_ms"] = stage_times(sources[:8], saliency)
    results["journal_files_per_s"] = journal_rate()
    return results
