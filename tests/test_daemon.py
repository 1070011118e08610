"""The daemon on real folders, with the real watchdog observer and real signals."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from focuspress.daemon.config import ConfigError, load_config
from focuspress.daemon.watcher import Settler
from tests.conftest import encode, synthetic_photo
from tests.daemon_harness import Daemon, wait_for, write_config


def photo_bytes(seed: int, size=(96, 128)) -> bytes:
    return encode(synthetic_photo(*size, seed=seed), "PNG")


def drop(path: Path, data: bytes) -> None:
    """Write like an uploader that is careful: temp name, then rename."""
    tmp = path.with_name("." + path.name + ".part")
    tmp.write_bytes(data)
    os.rename(tmp, path)


def outputs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*")) if folder.exists() else []


def test_config_errors_name_the_key(tmp_path):
    path = write_config(tmp_path)
    raw = yaml.safe_load(path.read_text())
    raw["inboxes"][0]["compress"]["roi_strength"] = 3
    raw["inboxes"][0]["colour"] = "blue"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "inboxes.0.compress.roi_strength" in str(info.value) and "inboxes.0.colour: unknown key" in str(info.value)
    proc = subprocess.run(
        [sys.executable, "-m", "focuspress", "daemon", "--config", str(path), "--check-config"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "unknown key" in proc.stderr and "Traceback" not in proc.stderr


def test_example_config_is_valid():
    root = Path(__file__).resolve().parents[1]
    config = load_config(root / "config" / "focuspress.example.yaml")
    assert config.inboxes[0].originals == "archive"


def test_a_benchmark_interrupted_leaves_no_daemon_running(tmp_path):
    """The harness's daemon as a context manager (what `bench chaos`, `bench daemon` and `bench watch`
    run theirs in): however the block ends, here with Ctrl-C's KeyboardInterrupt while the daemon
    serves, the process is gone afterwards (`bench chaos` interrupted between its kills left one
    running, on the inboxes it had made)."""
    with pytest.raises(KeyboardInterrupt):
        with Daemon(write_config(tmp_path)) as daemon:
            daemon.start()
            assert daemon.proc is not None and daemon.proc.poll() is None
            raise KeyboardInterrupt
    assert daemon.proc.poll() is not None


def test_settler_waits_for_a_growing_file(tmp_path):
    from focuspress.daemon.config import InboxConfig

    inbox = InboxConfig(name="a", path=tmp_path, outbox=tmp_path / "out", originals="keep")
    now = [0.0]
    settler = Settler(1.0, clock=lambda: now[0])
    target = tmp_path / "x.jpg"
    target.write_bytes(b"a" * 10)
    settler.nominate(inbox, target)
    settler.nominate(inbox, tmp_path / "x.jpg.part")  # temp names are never taken
    for _ in range(5):  # keeps growing: never settles
        now[0] += 0.6
        assert settler.settled() == []
        with open(target, "ab") as handle:
            handle.write(b"b" * 10)
    now[0] += 0.6
    assert settler.settled() == []  # first look after the last change
    now[0] += 1.1
    ready = settler.settled()
    assert [c.path for c in ready] == [target] and ready[0].size == 60
    assert len(settler) == 0


@pytest.mark.slow
def test_drop_files_and_chunked_upload(tmp_path):
    daemon = Daemon(write_config(tmp_path)).start()
    try:
        inbox, outbox = tmp_path / "in0", tmp_path / "out0"
        for i in range(3):
            drop(inbox / f"p{i}.png", photo_bytes(i))
        # A slow upload straight into the final name, in chunks with pauses shorter than settle.
        data = photo_bytes(9, size=(256, 256))
        with open(inbox / "slow.png", "wb") as handle:
            for start in range(0, len(data), len(data) // 6 + 1):
                handle.write(data[start : start + len(data) // 6 + 1])
                handle.flush()
                time.sleep(0.2)
                assert not (outbox / "slow.jpg").exists()
        wait_for(lambda: len(outputs(outbox)) == 4, 60, message=daemon.log())
        for name in outputs(outbox):
            Image.open(outbox / name).load()  # complete, decodable JPEGs
        slow = np.asarray(Image.open(outbox / "slow.jpg").convert("RGB"))
        assert slow.shape == (256, 256, 3)  # the whole upload was compressed, not a prefix
        assert outputs(tmp_path / "done0") == ["p0.png", "p1.png", "p2.png", "slow.png"]
        assert outputs(inbox) == []
        assert daemon.metric("focuspress_files_processed_total", 'inbox="cam0"') == 4
        assert daemon.stop() == 0
        assert '"outcome": "recompressed"' in daemon.log()
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()


@pytest.mark.slow
def test_quarantine_and_service_keeps_running(tmp_path):
    daemon = Daemon(write_config(tmp_path)).start()
    try:
        inbox = tmp_path / "in0"
        drop(inbox / "text.jpg", b"this is not a jpeg")
        drop(inbox / "trunc.png", photo_bytes(1)[:200])
        drop(inbox / "good.png", photo_bytes(2))
        quarantine = tmp_path / "quarantine0"
        wait_for(lambda: len(outputs(quarantine)) == 4 and outputs(tmp_path / "out0") == ["good.jpg"], 60)
        reason = (quarantine / "text.jpg.error.txt").read_text()
        assert "cannot decode image" in reason
        assert daemon.metric("focuspress_files_failed_total", 'inbox="cam0"') == 2
        assert daemon.stop() == 0
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()


@pytest.mark.slow
def test_files_present_at_start_are_processed_and_keep_mode(tmp_path):
    path = write_config(tmp_path, originals="keep")
    inbox = tmp_path / "in0"
    inbox.mkdir()
    for i in range(2):
        (inbox / f"early{i}.png").write_bytes(photo_bytes(i))
    daemon = Daemon(path).start()
    try:
        wait_for(lambda: len(outputs(tmp_path / "out0")) == 2, 60, message=daemon.log())
        assert daemon.stop() == 0
        # restart: kept originals are known to the journal and not done again
        daemon.start()
        time.sleep(2.0)
        assert daemon.metric("focuspress_files_seen_total", 'inbox="cam0"') == 0
        assert outputs(inbox) == ["early0.png", "early1.png"]
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.stop()


@pytest.mark.slow
def test_sighup_reload_adds_an_inbox_and_refuses_a_bad_config(tmp_path):
    path = write_config(tmp_path, inboxes=1)
    daemon = Daemon(path).start()
    try:
        good = write_config(tmp_path, inboxes=2)  # same file, one more inbox
        raw = yaml.safe_load(good.read_text())
        raw["metrics"] = daemon.config["metrics"]
        path.write_text(yaml.safe_dump(raw))
        daemon.signal(signal.SIGHUP)
        wait_for(lambda: "configuration reloaded: 2 inbox(es)" in daemon.log(), 20)
        drop(tmp_path / "in1" / "new.png", photo_bytes(5))
        wait_for(lambda: outputs(tmp_path / "out1") == ["new.jpg"], 60, message=daemon.log())
        path.write_text("inboxes: [{name: x}]\nunknown_key: 1\n")
        daemon.signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in daemon.log(), 20)
        drop(tmp_path / "in0" / "still.png", photo_bytes(6))
        wait_for(lambda: outputs(tmp_path / "out0") == ["still.jpg"], 60, message=daemon.log())
        assert daemon.stop() == 0
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()


@pytest.mark.slow
def test_kill_9_at_random_points_loses_nothing_and_does_nothing_twice(tmp_path):
    rng = random.Random(1234)
    path = write_config(tmp_path, workers=2, queue_size=4)
    inbox, outbox = tmp_path / "in0", tmp_path / "out0"
    inbox.mkdir()
    names = [f"img{i:02d}.png" for i in range(24)]
    for i, name in enumerate(names):
        (inbox / name).write_bytes(photo_bytes(i, size=(160, 200)))
    daemon = Daemon(path)
    for _round in range(4):
        daemon.start(wait=False)
        time.sleep(rng.uniform(0.5, 3.0))
        daemon.kill()
        # no partial output is ever visible under a final name
        for name in outputs(outbox):
            if not name.startswith("."):
                Image.open(outbox / name).load()
    daemon.start()
    try:
        wait_for(
            lambda: len([n for n in outputs(outbox) if not n.startswith(".")]) == len(names), 120, message=daemon.log()
        )
        wait_for(lambda: len(outputs(tmp_path / "done0")) == len(names), 30)
        final = [n for n in outputs(outbox) if not n.startswith(".")]
        assert final == sorted(n.replace(".png", ".jpg") for n in names)  # each exactly once, no "-1" twins
        assert outputs(tmp_path / "done0") == sorted(names)  # every original archived once
        assert outputs(inbox) == []
        # the running daemon holds its journal exclusively: its counts come from /status.json
        assert daemon.status()["inboxes"][0]["states"] == {"done": len(names)}
        assert daemon.stop() == 0
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()
    # temp files a kill left behind are dotfiles: ignored by watchers and viewers; clean them
    leftovers = [n for n in outputs(outbox) if n.startswith(".")]
    assert all(n.endswith(".tmp") for n in leftovers)


@pytest.mark.slow
def test_sigterm_drains_and_exits_zero(tmp_path):
    daemon = Daemon(write_config(tmp_path)).start()
    for i in range(4):
        drop(tmp_path / "in0" / f"d{i}.png", photo_bytes(i, size=(256, 320)))
    wait_for(lambda: daemon.metric("focuspress_files_seen_total", 'inbox="cam0"') >= 1, 30)
    started = time.monotonic()
    assert daemon.stop(timeout=40) == 0
    assert time.monotonic() - started < 25
    assert "stopped cleanly" in daemon.log()
    # whatever was not finished is pending and completes at the next start
    daemon.start()
    try:
        wait_for(lambda: len(outputs(tmp_path / "out0")) == 4, 60, message=daemon.log())
    finally:
        daemon.stop()


def test_shipped_schema_matches_the_code():
    import json

    from focuspress.daemon.config import DaemonConfig

    root = Path(__file__).resolve().parents[1]
    shipped = json.loads((root / "config" / "focuspress.schema.json").read_text())
    # regenerate with: python -m focuspress.daemon.config > config/focuspress.schema.json
    assert shipped == json.loads(json.dumps(DaemonConfig.model_json_schema(), default=str))


def test_journal_add_many_is_idempotent(tmp_path):
    from focuspress.daemon.journal import Journal

    journal = Journal(tmp_path / "j.sqlite3")
    items = [("a", tmp_path / f"{i}.jpg", 10 + i, 1000 + i, 1.0) for i in range(50)]
    assert journal.add_many(items) == 50
    assert journal.add_many(items + [("a", tmp_path / "new.jpg", 1, 2, 1.0)]) == 1
    assert journal.counts() == {"pending": 51}
    assert [e.path.name for e in journal.pending_due(3)] == ["0.jpg", "1.jpg", "2.jpg"]
    journal.close()


@pytest.mark.slow
def test_outcome_labels_for_jpeg_inputs(tmp_path):
    """A PNG and a q95 JPEG are recompressed; a q30 JPEG is not worth it: lossless (or kept), never larger."""
    import json

    from PIL import Image as PILImage

    config = write_config(tmp_path, log_format="json")
    daemon = Daemon(config).start()
    try:
        inbox, outbox = tmp_path / "in0", tmp_path / "out0"
        rgb = synthetic_photo(192, 256, seed=2)
        (inbox / "a.png").write_bytes(encode(rgb))
        for name, quality in (("high.jpg", 95), ("low.jpg", 30)):
            PILImage.fromarray(rgb).save(inbox / name, quality=quality)
        sizes = {p.name: p.stat().st_size for p in inbox.iterdir()}

        def logged() -> dict:
            return {r["file"]: r for r in map(json.loads, daemon.log().splitlines()) if r.get("file")}

        # the log line follows the durable output: wait for both (under load the line comes later)
        wait_for(lambda: len(list(outbox.glob("*.jpg"))) == 3 and len(logged()) == 3, 60, message=daemon.log())
        records = logged()
        assert records["a.png"]["outcome"] == "recompressed"
        assert records["high.jpg"]["outcome"] == "recompressed" and records["high.jpg"]["route"] == "dct"
        assert records["low.jpg"]["outcome"] in ("lossless", "kept")
        assert (outbox / "low.jpg").stat().st_size <= sizes["low.jpg"]
        low = records["low.jpg"]["outcome"]
        assert daemon.metric("focuspress_files_processed_total", f'inbox="cam0",outcome="{low}"') == 1
        assert daemon.metric("focuspress_files_processed_total", 'inbox="cam0",outcome="recompressed"') == 2
        assert daemon.stop() == 0
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()


@pytest.mark.parametrize("turbojpeg", [True, False], ids=["libturbojpeg", "without-libturbojpeg"])
def test_the_progressive_rescan_in_use_is_logged_and_exported(tmp_path, monkeypatch, caplog, turbojpeg):
    """Without the system's libturbojpeg every encode takes mozjpeg's re-scan, about 4x slower, and a
    pip install cannot bring it: the daemon says so at start (a warning naming the package) and
    exports which one it uses, so an operator sees it instead of a slow service."""
    import logging
    import urllib.request

    from focuspress.daemon.config import DaemonConfig
    from focuspress.daemon.service import Service
    from focuspress.engine.jpegfile import rescan

    if turbojpeg and rescan.backend() != "turbojpeg":
        pytest.skip("libturbojpeg is not installed (apt-get install libturbojpeg0)")
    if not turbojpeg:
        monkeypatch.setattr(rescan, "_turbojpeg", lambda: None)
    config_path = write_config(tmp_path, metrics={"address": "127.0.0.1", "port": 0})
    service = Service(DaemonConfig.model_validate(yaml.safe_load(config_path.read_text())), config_path)
    with caplog.at_level(logging.INFO, logger="focuspress.daemon"):
        service.start()
    try:
        assert service.server is not None
        with urllib.request.urlopen(f"http://127.0.0.1:{service.server.port}/metrics", timeout=5) as response:
            body = response.read().decode()
        used, other = ("turbojpeg", "mozjpeg") if turbojpeg else ("mozjpeg", "turbojpeg")
        assert f'focuspress_rescan_backend{{backend="{used}"}} 1.0' in body
        assert f'focuspress_rescan_backend{{backend="{other}"}} 0.0' in body
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("apt install libturbojpeg0" in message for message in warned) is not turbojpeg
        assert any(f"re-scan by {used}" in r.getMessage() for r in caplog.records if "daemon ready" in r.getMessage())
    finally:
        service.shutdown()
