"""The Ray executor on a local Ray: outcomes, a worker killed mid-run, the daemon and the CLI on it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from focuspress.engine import CompressOptions
from tests.conftest import encode, synthetic_photo
from tests.daemon_harness import Daemon, wait_for, write_config

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")
pytestmark = pytest.mark.slow


def _actor_pids() -> list[int]:
    """Ray names its actor processes ``ray::CompressActor...`` (read from /proc: no procps needed)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(b"ray::CompressActor"):
                pids.append(int(entry.name))
    return pids


def test_executor_outcomes_and_a_lost_worker():
    from focuspress.engine.executors import WorkerLost, make_executor
    from focuspress.engine.executors.ray_cluster import RayOptions
    from focuspress.engine.pipeline import Work

    executor = make_executor("ray", "none", RayOptions(actors=1, num_cpus=1))
    try:
        executor.warm_up()
        options = CompressOptions(quality=70)
        good = encode(synthetic_photo(seed=1))
        outcome, bad = executor.run_batch([Work(good, "a.png", options), Work(b"not an image", "b.jpg", options)])
        assert outcome.ok and outcome.result.data[:2] == b"\xff\xd8" and outcome.result.width == 128
        assert not bad.ok and bad.error.startswith("b.jpg: cannot decode image")
        os.kill(executor.worker_pids()[0], signal.SIGKILL)
        with pytest.raises(WorkerLost):
            executor.run_batch([Work(good, "c.png", options)])
        (again,) = executor.run_batch([Work(good, "c.png", options)])  # the actor restarted with its model
        assert again.ok and again.result.data == outcome.result.data  # same photo, same bytes
    finally:
        executor.close()
        ray.shutdown()


def test_daemon_on_ray_loses_nothing_when_a_worker_is_killed(tmp_path):
    config = write_config(tmp_path, executor="ray", ray={"actors": 2, "num_cpus": 1}, settle_seconds=0.3)
    daemon = Daemon(config).start()
    try:
        inbox, outbox = tmp_path / "in0", tmp_path / "out0"
        names = [f"p{i}.png" for i in range(10)]
        for i, name in enumerate(names):
            (tmp_path / name).write_bytes(encode(synthetic_photo(320, 480, seed=i)))
            os.rename(tmp_path / name, inbox / name)
        wait_for(lambda: len(list(outbox.glob("*.jpg"))) >= 2, 120, message=daemon.log())
        victims = _actor_pids()
        assert victims, "no Ray actor processes found"
        os.kill(victims[0], signal.SIGKILL)  # a worker dies mid-burst
        wait_for(lambda: len(list(outbox.glob("*.jpg"))) == len(names), 180, message=daemon.log())
        assert sorted(p.name for p in outbox.iterdir()) == sorted(n.replace(".png", ".jpg") for n in names)
        for path in outbox.iterdir():
            Image.open(path).load()
        wait_for(lambda: len(list((tmp_path / "done0").iterdir())) == len(names), 30)
        assert daemon.metric("focuspress_files_processed_total", 'inbox="cam0"') == len(names)
        assert not (tmp_path / "quarantine0").exists() or not list((tmp_path / "quarantine0").iterdir())
        assert daemon.status()["executor"] == "ray"
        assert daemon.stop(60) == 0
        with sqlite3.connect(tmp_path / "state" / "journal.sqlite3") as db:
            states = dict(db.execute("SELECT state, COUNT(*) FROM files GROUP BY state").fetchall())
        assert states == {"done": len(names)}
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()


def test_cli_executor_ray_over_a_folder(tmp_path):
    folder = tmp_path / "dump"
    folder.mkdir()
    for i in range(4):
        (folder / f"c{i}.png").write_bytes(encode(synthetic_photo(seed=i)))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8garbage")
    start = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "focuspress",
            "compress",
            str(folder),
            "-o",
            str(tmp_path / "out"),
            "--saliency",
            "none",
            "--executor",
            "ray",
            "--ray-actors",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert "broken.jpg: cannot decode image" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"c{i}.jpg" for i in range(4)]
    assert "(ray)" in proc.stdout
    assert time.monotonic() - start < 300


def test_an_unreachable_cluster_is_one_line_not_a_hang(tmp_path):
    from tests.daemon_harness import free_port

    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    (tmp_path / "a.png").write_bytes(encode(synthetic_photo()))
    command = [sys.executable, "-m", "focuspress", "compress", str(tmp_path / "a.png"), "-o", str(tmp_path / "out")]
    proc = subprocess.run(
        [*command, "--saliency", "none", "--executor", "ray", "--ray-address", address],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and f"cannot reach the Ray cluster at {address}" in proc.stderr
    assert "Traceback" not in proc.stderr
    config = write_config(tmp_path, executor="ray", ray={"address": address})
    daemon = subprocess.run(
        [sys.executable, "-m", "focuspress", "daemon", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # With json logs every line is a record on stdout (journald reads both streams).
    records = [json.loads(line) for line in daemon.stdout.splitlines() if line.strip()]
    fatal = [r for r in records if "cannot reach the Ray cluster" in r["message"]]
    assert daemon.returncode == 1 and len(fatal) == 1 and fatal[0]["level"] == "error", daemon.stdout
    assert "stream" not in fatal[0], "the message must be a record, not a captured stderr line"
    assert "Traceback" not in daemon.stdout + daemon.stderr
