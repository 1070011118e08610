"""``focuspress bench throughput``: the daemon's pipeline on a photo set, per executor, in images/s.

Runs the daemon's own processing path (journal claim, decode, saliency, compositor, atomic
write, journal ``done``) without the watcher, so that the figure is the pipeline's, not the
settle delay's: the local pool with 1 and 2 worker threads, and the Ray executor on a local Ray
with 1 and 2 actors. Also times each stage on one thread and the journal's transitions per
second, the numbers the scale-out estimate is built from (benchmarks/README.md).
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from daemon.config import DaemonConfig
from daemon.journal import Journal
from daemon.metrics import DaemonMetrics
from daemon.workers import Job, Processor, RemoteProcessor, WorkerPool

MODES = ("local-1", "local-2", "ray-1", "ray-2")


def _config(root: Path, saliency: str, workers: int, executor: str, actors: int) -> DaemonConfig:
    return DaemonConfig.model_validate(
        {
            "journal": str(root / "journal.sqlite3"),
            "saliency": saliency,
            "workers": workers,
            "queue_size": 64,
            "executor": executor,
            "ray": {"actors": actors, "num_cpus": 1},
            "log_format": "text",
            "inboxes": [{"name": "bench", "path": str(root / "in"), "outbox": str(root / "out"), "originals": "keep"}],
        }
    )


def _run_pipeline(images: list[Path], config: DaemonConfig, processor_factory, threads: int) -> float:
    """Seconds for the pool to take every image from pending to done."""
    journal = Journal(config.journal)
    metrics = DaemonMetrics()
    processor = processor_factory(config, journal, metrics)
    pool = WorkerPool(processor, threads, config.queue_size, 1, metrics)
    inbox = config.inboxes[0]
    journal.add_many([(inbox.name, p, p.stat().st_size, p.stat().st_mtime_ns, time.time()) for p in images])
    entries = journal.in_state("pending")
    pool.start()
    start = time.perf_counter()
    for entry in entries:
        pool.put(Job(entry, inbox))
    while journal.counts().get("done", 0) + journal.counts().get("quarantined", 0) < len(images):
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    pool.stop(30)
    journal.close()
    return elapsed


def _link_inputs(images: list[Path], folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    out = []
    for path in images:
        target = folder / path.name
        shutil.copy2(path, target)
        out.append(target)
    return out


def stage_times(images: list[Path], saliency: str) -> dict[str, float]:
    """Median ms per stage on one thread (after a warm-up photo)."""
    from engine import CompressOptions, Engine, load_image
    from engine.io import atomic_write

    engine = Engine(saliency=saliency)
    engine.warm_up()
    options = CompressOptions(saliency=saliency)
    stamps: dict[str, list[float]] = {"decode": [], "saliency": [], "compositor": [], "write": []}
    with tempfile.TemporaryDirectory() as folder:
        for path in images:
            t0 = time.perf_counter()
            image = load_image(path)
            t1 = time.perf_counter()
            importance = engine.importance_maps([image.rgb])[0]
            t2 = time.perf_counter()
            result = engine.compress_with_map(image, importance, options)
            t3 = time.perf_counter()
            atomic_write(Path(folder) / "out.jpg", result.data)
            t4 = time.perf_counter()
            for key, a, b in (("decode", t0, t1), ("saliency", t1, t2), ("compositor", t2, t3), ("write", t3, t4)):
                stamps[key].append((b - a) * 1000)
    return {key: statistics.median(values) for key, values in stamps.items()}


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
            journal.claim_output(entry.id, Path(folder) / f"{entry.id}.jpg")
            journal.set_state(entry.id, "written")
            journal.set_state(entry.id, "done")
        elapsed = time.perf_counter() - start
        journal.close()
    return n / elapsed


def run(data: Path, modes: list[str], *, saliency: str = "combined", rounds: int = 1, console=None) -> dict:
    sources = sorted(p for p in data.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not sources:
        raise SystemExit(f"{data}: no images")
    sources = sources * rounds
    results: dict = {"images": len(sources), "modes": {}}
    for mode in modes:
        kind, count = mode.split("-")
        count_n = int(count)
        root = Path(tempfile.mkdtemp(prefix="focuspress-throughput-"))
        try:
            images = _link_inputs(sorted(set(sources)), root / "in")
            images = images * rounds
            if kind == "local":
                from engine import Engine

                config = _config(root, saliency, count_n, "local", 1)
                engine = Engine(saliency=saliency)
                engine.warm_up()

                def factory(cfg, journal, metrics, engine=engine):
                    return Processor(cfg, journal, metrics, engine)

                threads = count_n
                executor = None
            else:
                from engine.executors import make_executor

                config = _config(root, saliency, 1, "ray", count_n)
                executor = make_executor("ray", saliency, actors=count_n, num_cpus=1)
                executor.warm_up()

                def factory(cfg, journal, metrics, executor=executor):
                    return RemoteProcessor(cfg, journal, metrics, executor)

                threads = 2 * count_n
            if rounds > 1:  # repeated files are one journal identity: distinct copies per round
                images = []
                for r in range(rounds):
                    for path in sorted(set(sources)):
                        copy = root / "in" / f"r{r}-{path.name}"
                        shutil.copy2(path, copy)
                        images.append(copy)
            seconds = _run_pipeline(images, config, factory, threads)
            if executor is not None:
                executor.close()
            results["modes"][mode] = {"seconds": seconds, "images_per_s": len(images) / seconds}
            if console is not None:
                console.print(f"{mode}: {len(images)} photos in {seconds:.1f} s = {len(images) / seconds:.2f} images/s")
        finally:
            shutil.rmtree(root, ignore_errors=True)
    results["stages_ms"] = stage_times(sorted(set(sources))[:8], saliency)
    results["journal_files_per_s"] = journal_rate()
    return results
