"""What systemd, journald and an operator see: the unit, readiness, the watchdog, logs, config checks."""

from __future__ import annotations

import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import encode, synthetic_photo
from tests.daemon_harness import Daemon, wait_for, write_config

ROOT = Path(__file__).resolve().parents[1]
ANALYZE = shutil.which("systemd-analyze")
CLI = [sys.executable, "-m", "focuspress"]


def _unit(tmp_path: Path, dropin: str = "") -> Path:
    unit = (ROOT / "systemd" / "focuspress.service").read_text()
    binary = Path(sys.executable).with_name("focuspress")
    unit = unit.replace("/opt/focuspress/.venv/bin/focuspress", str(binary))
    if dropin:  # a drop-in's section, appended: systemd merges repeated sections as it merges drop-ins
        unit += "\n" + dropin[dropin.index("[Service]") :]
    target = tmp_path / "focuspress.service"
    target.write_text(unit)
    return target


@pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze not installed (apt install systemd)")
def test_unit_and_generated_dropin_verify_and_exposure_is_at_most_2(tmp_path):
    config = write_config(tmp_path)
    dropin = subprocess.run(
        [*CLI, "daemon", "--config", str(config), "--print-systemd-dropin"], capture_output=True, text=True
    )
    assert dropin.returncode == 0, dropin.stderr
    for folder in ("in0", "out0", "done0", "quarantine0", "state"):
        assert f"ReadWritePaths={tmp_path / folder}\n" in dropin.stdout
    unit = _unit(tmp_path, dropin.stdout)
    proc = subprocess.run([ANALYZE, "verify", str(unit)], capture_output=True, text=True)
    problems = [line for line in proc.stderr.splitlines() if "focuspress.service" in line]
    assert proc.returncode == 0 and not problems, proc.stderr
    security = subprocess.run([ANALYZE, "security", "--offline=yes", str(unit)], capture_output=True, text=True)
    exposure = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", security.stdout).group(1))
    assert exposure <= 2.0, security.stdout
    text = unit.read_text()
    for option in ("Type=notify", "WatchdogSec=", "SystemCallFilter=@system-service", "ProtectProc=invisible"):
        assert option in text


def _notify_socket(tmp_path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.settimeout(0.2)
    return sock


def _messages(sock: socket.socket, until: str, timeout: float = 60) -> list[dict[str, str]]:
    """Datagrams (as dicts) up to and including one that has key ``until``."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data = sock.recv(4096).decode()
        except TimeoutError:
            continue
        fields = dict(line.split("=", 1) for line in data.splitlines() if "=" in line)
        seen.append(fields)
        if until in fields:
            return seen
    raise TimeoutError(f"no {until} in {seen}")


@pytest.mark.slow
def test_notify_ready_status_watchdog_reload_and_stopping(tmp_path):
    sock = _notify_socket(tmp_path)
    config = write_config(tmp_path, log_format="json")
    daemon = Daemon(config, env={"NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "1000000"})
    try:
        daemon.start(wait=False)
        ready = _messages(sock, "READY")[-1]
        assert ready["READY"] == "1" and "queued" in ready["STATUS"] and ready["MAINPID"] == str(daemon.proc.pid)
        daemon.wait_ready()  # READY=1 came once /healthz says ready: model loaded, inboxes watched
        pings = [m for m in _messages(sock, "WATCHDOG") if "WATCHDOG" in m]
        assert pings and pings[-1]["WATCHDOG"] == "1"
        (tmp_path / "in0" / "a.png").write_bytes(encode(synthetic_photo()))
        wait_for(lambda: (tmp_path / "out0" / "a.jpg").exists(), 60, message=daemon.log())
        daemon.signal(signal.SIGHUP)
        after_reload = _messages(sock, "READY")
        assert any(m.get("RELOADING") == "1" for m in after_reload)
        status = [m["STATUS"] for m in _messages(sock, "STATUS", timeout=15) if "STATUS" in m]
        assert "1 done" in status[-1]
        daemon.signal(signal.SIGTERM)
        assert any(m.get("STOPPING") == "1" for m in _messages(sock, "STOPPING"))
        assert daemon.proc.wait(30) == 0
    finally:
        sock.close()
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()


@pytest.mark.slow
def test_every_log_line_is_json_with_the_model_and_native_chatter(tmp_path):
    """The real model runtime, a reload and a stop; a JPEG whose decoder prints a warning on stderr.

    The runtime's own chatter on descriptor 2 becomes ``focuspress.native`` records; libjpeg's warning
    is caught around the decode and lands in that photo's record as ``warnings``.
    """
    config = write_config(tmp_path, log_format="json", saliency="combined")
    daemon = Daemon(config).start()
    try:
        inbox = tmp_path / "in0"
        jpeg = encode(synthetic_photo(96, 128), "JPEG", quality=95)
        noisy = jpeg[:-2] + b"\x00\x00" + jpeg[-2:]  # stray bytes before EOI: libjpeg warns on stderr
        (inbox / "noisy.jpg").write_bytes(noisy)
        (inbox / "b.png").write_bytes(encode(synthetic_photo()))
        wait_for(lambda: len(list((tmp_path / "out0").glob("*.jpg"))) == 2, 90, message=daemon.log())
        daemon.signal(signal.SIGHUP)
        wait_for(lambda: "configuration reloaded" in daemon.log(), 30)
        assert daemon.stop() == 0
        lines = [line for line in daemon.log().splitlines() if line.strip()]
        records = [json.loads(line) for line in lines]  # every line parses
        assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
        messages = " | ".join(record["message"] for record in records)
        assert "daemon ready" in messages and "reloaded" in messages and "stopped cleanly" in messages
        noisy_record = [r for r in records if r.get("file") == "noisy.jpg"]
        assert noisy_record, messages  # libjpeg's warning belongs to the photo it is about, not a stray line
        assert any("Corrupt JPEG data" in w for w in noisy_record[0].get("warnings", [])), noisy_record
        assert not any("Corrupt JPEG data" in r["message"] for r in records if r["logger"] == "focuspress.native")
        per_file = [r for r in records if r.get("file") == "b.png"]
        assert per_file and per_file[0]["outcome"] == "recompressed" and per_file[0]["bytes_out"] > 0
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()


def test_check_config_refuses_an_outbox_that_cannot_exist_and_a_loop(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    config = write_config(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["inboxes"][0]["outbox"] = str(blocker / "out")  # under a file: can never be created
    raw["inboxes"][0]["recursive"] = True
    raw["inboxes"][0]["quarantine"] = str(tmp_path / "in0" / "bad")  # inside a recursive inbox
    config.write_text(yaml.safe_dump(raw))
    (tmp_path / "in0").mkdir()
    proc = subprocess.run([*CLI, "daemon", "--config", str(config), "--check-config", "--log-format", "text"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert any("inboxes.0.outbox:" in line and "cannot be created" in line for line in lines), lines
    assert any("inboxes.0.quarantine:" in line and "inside the watched inbox" in line for line in lines), lines
    assert "Traceback" not in proc.stderr


def test_check_config_passes_a_good_world_and_leaves_nothing_behind(tmp_path):
    config = write_config(tmp_path)
    for folder in ("in0", "out0"):
        (tmp_path / folder).mkdir()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    proc = subprocess.run([*CLI, "daemon", "--config", str(config), "--check-config"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # probes removed, nothing created


def test_a_config_error_is_one_json_line_when_not_at_a_terminal(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("inboxes: []\nworkers: lots\n")
    proc = subprocess.run([*CLI, "daemon", "--config", str(config)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    record = json.loads(line)
    assert record["level"] == "error" and "workers: must be a number" in record["message"]
