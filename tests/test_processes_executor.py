"""The processes executor (the daemon's default): worker processes with a model each give the
same outcome as the in-process pipeline, survive a worker's death, and the daemon uses them."""

from __future__ import annotations

import os
import signal

import pytest

from focuspress.engine.executors import WorkerLost, make_executor
from focuspress.engine.options import CompressOptions
from focuspress.engine.pipeline import Work
from tests.conftest import encode, synthetic_photo


@pytest.fixture
def workers():
    executor = make_executor("processes", "none", workers=2)
    executor.warm_up()
    yield executor
    executor.close()


def test_worker_processes_give_the_local_pipelines_bytes(workers, tmp_path):
    from focuspress.engine.executors.local import LocalExecutor

    photos = [encode(synthetic_photo(120, 160, seed=seed), "JPEG", quality=95) for seed in (1, 2, 3)]
    items = [Work(data, f"p{i}.jpg", CompressOptions()) for i, data in enumerate(photos)]
    here = LocalExecutor("none").run_batch(items)
    there = workers.run_batch(items)
    assert [o.result.data for o in there] == [o.result.data for o in here]  # type: ignore[union-attr]
    assert all(o.image is None for o in there)  # pixels do not cross the pipe
    assert len(set(workers.pids)) == 2 and os.getpid() not in workers.pids
    paths = []
    for i, data in enumerate(photos):
        path = tmp_path / f"m{i}.jpg"
        path.write_bytes(data)
        paths.append(path)
    mapped = dict(workers.map(paths, CompressOptions(quality=80)))
    assert set(mapped) == set(paths) and all(o.ok for o in mapped.values())


def test_a_dead_worker_loses_its_batch_and_is_replaced(workers):
    item = Work(encode(synthetic_photo(96, 128, seed=4), "JPEG", quality=95), "a.jpg", CompressOptions(quality=80))
    before = set(workers.pids)
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    lost = 0
    for _ in range(2):  # each dead worker fails the batch it is given, once
        with pytest.raises(WorkerLost, match="worker process died"):
            workers.run_batch([item])
        lost += 1
    assert lost == 2
    after = set(workers.pids)
    assert len(after) == 2 and not (after & before)
    assert workers.run_batch([item])[0].ok


def _children(pid: int) -> list[int]:
    from focuspress.bench.daemon_load import _descendants

    return [child for child in _descendants(pid) if "spawn_main" in _cmdline(child)]


def _cmdline(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_the_daemon_compresses_in_worker_processes_by_default_and_takes_them_down(tmp_path):
    """The default config runs ``workers`` worker processes; a clean stop leaves none behind, and
    after a kill -9 of the daemon they exit on their own (their pipe to it closes)."""
    from tests.daemon_harness import Daemon, wait_for, write_config

    path = write_config(tmp_path, workers=2)
    daemon = Daemon(path).start()
    try:
        assert daemon.proc is not None
        workers = _children(daemon.proc.pid)
        assert len(workers) == 2
        (tmp_path / "in0" / "a.jpg").write_bytes(encode(synthetic_photo(96, 128, seed=5), "JPEG", quality=95))
        wait_for(lambda: (tmp_path / "out0" / "a.jpg").exists(), 60, message=daemon.log())
        assert daemon.stop() == 0
        wait_for(lambda: not any(os.path.exists(f"/proc/{pid}") and _cmdline(pid) for pid in workers), 15)
        daemon.start()
        workers = _children(daemon.proc.pid)
        assert len(workers) == 2
        daemon.kill()
        wait_for(lambda: not any(os.path.exists(f"/proc/{pid}") and _cmdline(pid) for pid in workers), 15)
    finally:
        if daemon.proc is not None and daemon.proc.poll() is None:
            daemon.kill()


def test_compress_runs_a_folder_on_worker_processes_and_a_few_photos_here(tmp_path):
    """``--executor auto``: four photos or more on worker processes, fewer in the CLI's own process;
    the bytes are the same either way."""
    import subprocess
    import sys

    from focuspress.cli.compress import PROCESSES_FROM_PHOTOS, auto_executor

    assert auto_executor(1) == "local" and auto_executor(PROCESSES_FROM_PHOTOS) in ("processes", "local")
    folder = tmp_path / "dump"
    folder.mkdir()
    for seed in range(PROCESSES_FROM_PHOTOS):
        (folder / f"p{seed}.jpg").write_bytes(encode(synthetic_photo(96, 128, seed=seed), "JPEG", quality=95))

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "focuspress", "compress", str(folder), "--saliency", "none", *extra]
        return subprocess.run(command, capture_output=True, text=True, timeout=300)

    auto = run("-o", str(tmp_path / "auto"))
    here = run("-o", str(tmp_path / "here"), "--executor", "local")
    assert auto.returncode == 0 and here.returncode == 0, auto.stderr + here.stderr
    if (os.cpu_count() or 1) > 1:
        assert "(processes)" in auto.stdout + auto.stderr
    assert "(local)" in here.stdout + here.stderr
    for photo in folder.iterdir():
        assert (tmp_path / "auto" / photo.name).read_bytes() == (tmp_path / "here" / photo.name).read_bytes()


_FAULTS = """
import resource, sys
import numpy as np
if sys.argv[1] == "keep":
    from focuspress.engine.allocator import keep_freed_memory
    assert keep_freed_memory()
np.ones(4 << 20, np.float32)  # the first one faults in either way
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    np.ones(4 << 20, np.float32)  # 16 MB, freed at once: a trial's plane
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_the_compressing_processes_allocator_reuses_freed_pages():
    """With glibc's defaults a freed 16 MB array goes back to the kernel and the next one faults
    every page in again; set as the focuspress command and its workers set it, it is reused."""
    import subprocess
    import sys

    def faults(mode: str) -> int:
        run = subprocess.run([sys.executable, "-c", _FAULTS, mode], capture_output=True, text=True, check=True)
        return int(run.stdout)

    default, kept = faults("default"), faults("keep")
    assert kept < default / 10, (kept, default)
