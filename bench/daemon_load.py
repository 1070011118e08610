"""``focuspress bench daemon``: a burst of files into a real daemon process, measured.

Copies ``count`` images (cycling through ``data``) into a fresh inbox as fast as possible,
each via a temp name and a rename (as uploaders do), then waits for every output. Reports
sustained images/s (first drop to last output), arrival-to-output latency p50/p99 (output
mtime minus the drop time), the daemon's peak RSS (VmHWM) and its own plus its worker processes'
(the sum of each one's peak: an upper bound of what they held at once), the CPU time per photo the
daemon and its workers spent during the burst (from /proc: where a photo's time goes), and
lost/duplicated counts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from focuspress.bench.harness import Daemon, write_config
from focuspress.bench.runner import list_images
from focuspress.engine.saliency import DEFAULT_SALIENCY


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def _cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds a process has used so far, from /proc (0 where it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks  # utime, stime (fields 14 and 15)


def _descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (worker processes, multiprocessing's helper), from /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def run_load(
    data: Path,
    count: int,
    *,
    workers: int = 2,
    saliency: str = DEFAULT_SALIENCY,
    executor: str = "processes",
    console=None,
) -> list[str]:
    sources = list_images(data)
    if not sources:
        raise SystemExit(f"{data}: no images")
    megapixels = {}
    for source in sources:
        with Image.open(source) as image:  # header only
            megapixels[source] = image.size[0] * image.size[1] / 1e6
    root = Path(tempfile.mkdtemp(prefix="focuspress-load-"))
    config = write_config(
        root,
        originals="delete",
        saliency=saliency,
        workers=workers,
        queue_size=2 * workers,
        settle_seconds=0.5,
        executor=executor,
    )
    raw = yaml.safe_load(config.read_text())
    raw["inboxes"][0].update(path=str(root / "in"), outbox=str(root / "out"), quarantine=str(root / "quarantine"))
    del raw["inboxes"][0]["compress"]  # the default: the fidelity contract
    config.write_text(yaml.safe_dump(raw))
    try:
        with Daemon(config) as daemon:
            daemon.start()
            assert daemon.proc is not None
            proc = daemon.proc
            inbox, outbox = root / "in", root / "out"
            workers_at_start = _descendants(proc.pid)
            cpu_before = {pid: _cpu_seconds(pid) for pid in [proc.pid, *workers_at_start]}
            dropped: dict[str, float] = {}
            dropped_mp: dict[str, float] = {}
            for i in range(count):
                source = sources[i % len(sources)]
                name = f"{i:05d}_{source.stem}{source.suffix}"
                dropped_mp[Path(name).stem] = megapixels[source]
                tmp = inbox / f".{name}.part"
                shutil.copyfile(source, tmp)
                os.rename(tmp, inbox / name)
                dropped[Path(name).stem] = time.time()
            first_drop = min(dropped.values())
            if console:
                console.print(f"dropped {count} files in {time.time() - first_drop:.1f} s; waiting for outputs")
            expected = set(dropped)
            last_progress, last_count = time.monotonic(), 0
            while True:
                done = [p for p in outbox.glob("*.jpg")]
                quarantined = list((root / "quarantine").glob("*.error.txt")) if (root / "quarantine").exists() else []
                if len(done) + len(quarantined) >= count:
                    break
                if len(done) != last_count:
                    last_count, last_progress = len(done), time.monotonic()
                if time.monotonic() - last_progress > 300:
                    break
                time.sleep(0.5)
            outputs = {p.stem: p.stat().st_mtime for p in outbox.glob("*.jpg")}
            latencies = np.array([outputs[s] - dropped[s] for s in expected if s in outputs])
            lost = len(expected - set(outputs)) - len(quarantined)
            duplicated = len([s for s in outputs if s not in expected])
            elapsed = max(outputs.values()) - first_drop if outputs else float("nan")
            written_mp = sum(dropped_mp[s] for s in outputs if s in dropped_mp)
            cpu = {pid: _cpu_seconds(pid) for pid in [proc.pid, *_descendants(proc.pid)]}

            def spent(pids: list[int]) -> tuple[float, float]:
                user = sum(cpu.get(p, (0.0, 0.0))[0] - cpu_before.get(p, (0.0, 0.0))[0] for p in pids)
                system = sum(cpu.get(p, (0.0, 0.0))[1] - cpu_before.get(p, (0.0, 0.0))[1] for p in pids)
                return 1000.0 * user / max(1, len(outputs)), 1000.0 * system / max(1, len(outputs))

            main_cpu = spent([proc.pid])
            worker_cpu = spent([p for p in cpu if p != proc.pid])
            peak = _peak_rss_mb(proc.pid)
            workers_peak = sum(v for v in (_peak_rss_mb(child) for child in _descendants(proc.pid)) if v == v)
            return [
                f"files: {count} dropped, {len(outputs)} written, {len(quarantined)} quarantined, "
                f"{lost} lost, {duplicated} duplicated",
                f"throughput: {len(outputs) / elapsed:.2f} images/s, {written_mp / elapsed:.1f} MP/s sustained "
                f"({written_mp / max(1, len(outputs)):.1f} MP a photo; {workers} workers, executor {executor}, "
                f"saliency {saliency})",
                f"latency arrival->output: p50 {np.percentile(latencies, 50):.1f} s, "
                f"p99 {np.percentile(latencies, 99):.1f} s",
                f"daemon peak RSS: {peak:.0f} MB; with its worker processes {peak + workers_peak:.0f} MB",
                f"CPU per photo: daemon {main_cpu[0]:.0f} ms user + {main_cpu[1]:.0f} ms system; its worker "
                f"processes {worker_cpu[0]:.0f} ms user + {worker_cpu[1]:.0f} ms system",
            ]
    finally:
        shutil.rmtree(root, ignore_errors=True)  # (the daemon stopped first: leaving the with block)
