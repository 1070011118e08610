"""The real daemon as a subprocess over real folders: what the tests and the load, chaos and watch
benchmarks drive (one harness, so a benchmark measures exactly what the tests check)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(root: Path, *, inboxes: int = 1, originals: str = "archive", **overrides) -> Path:
    """A config for ``inboxes`` inboxes under ``root`` (in0/out0/done0/quarantine0...), saliency none,
    quality 70, quick settling; ``overrides`` replace top-level keys."""
    config = {
        "journal": str(root / "state" / "journal.sqlite3"),
        "saliency": "none",
        "settle_seconds": 0.4,
        # broken test files are judged soon after they stop changing (the default, 120 s, is for real uploads)
        "upload_grace_seconds": 1.5,
        "scan_interval_seconds": 5,
        "drain_timeout_seconds": 20,
        "metrics": {"address": "127.0.0.1", "port": free_port()},
        "inboxes": [
            {
                "name": f"cam{i}",
                "path": str(root / f"in{i}"),
                "outbox": str(root / f"out{i}"),
                "originals": originals,
                "archive": str(root / f"done{i}"),
                "quarantine": str(root / f"quarantine{i}"),
                "compress": {"quality": 70},
            }
            for i in range(inboxes)
        ],
    }
    config.update(overrides)
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


class Daemon:
    def __init__(self, config_path: Path, wrap=None, env: dict[str, str] | None = None) -> None:
        self.wrap = wrap or (lambda command: command)  # e.g. run without root's read-anything power
        self.extra_env = env or {}
        self.config_path = config_path
        self.config = yaml.safe_load(config_path.read_text())
        self.log_path = config_path.parent / "daemon.log"
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        m = self.config["metrics"]
        return f"http://{m['address']}:{m['port']}"

    def start(self, wait: bool = True) -> Daemon:
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.extra_env)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.wrap([sys.executable, "-m", "focuspress", "daemon", "--config", str(self.config_path)]),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited {self.proc.returncode}: {self.log()}")
            try:
                with urllib.request.urlopen(self.base_url + "/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"daemon not ready: {self.log()}")

    def metric(self, name: str, labels: str = "") -> float:
        """Sum of every sample of ``name`` whose labels include ``labels`` (e.g. 'inbox="cam0"')."""
        from prometheus_client.parser import text_string_to_metric_families

        with urllib.request.urlopen(self.base_url + "/metrics", timeout=5) as response:
            text = response.read().decode()
        wanted = dict(part.split("=", 1) for part in labels.split(",") if part)
        wanted = {key.strip(): value.strip().strip('"') for key, value in wanted.items()}
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name and all(sample.labels.get(k) == v for k, v in wanted.items())
        )

    def status(self) -> dict:
        import json

        with urllib.request.urlopen(self.base_url + "/status.json", timeout=5) as response:
            return json.loads(response.read())

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *_: object) -> None:
        """However a run ends (done, a failure, Ctrl-C on the benchmark), no daemon it started is left
        running: a SIGTERM and 30 s to drain, then SIGKILL. (``bench chaos`` left one behind when
        interrupted between its kills.)"""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.stop(30)
        except subprocess.TimeoutExpired:
            self.kill()
            self.proc.wait()
        self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_for(predicate, timeout: float = 60, interval: float = 0.1, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(message or "condition not met")
