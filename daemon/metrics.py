"""Prometheus metrics, the /healthz probe and a /status.json summary, on one loopback-by-default address.

``/metrics``: the counters below (``focuspress_`` prefix). ``/healthz``: 200 ``ready`` once
the model is loaded and the watchers run, 503 ``starting``/``draining`` otherwise, so a
load balancer or systemd watchdog script can tell. ``/status.json``: per-inbox journal counts
and the most recent outcomes (with quarantine reasons), for the GUI's daemon view.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, make_wsgi_app

from focuspress import __version__

STAGES = ("decode", "saliency", "compositor", "write")
#: Quarantine reasons as a closed set of label values (a free-text label would grow without bound).
REASONS = (
    ("empty file", "empty"),
    ("decompression-bomb", "too_large"),
    ("megapixels", "too_large"),
    ("permission denied", "permission"),
    ("vanished", "vanished"),
    ("no such file", "vanished"),
    ("truncated", "truncated"),
    ("not a png, jpeg", "not_an_image"),
    ("cannot decode", "undecodable"),
    ("cannot read", "unreadable"),
    ("not a regular file", "not_regular"),
    ("is a symlink", "not_regular"),
    ("not enough memory", "too_large"),
    ("gave up after", "gave_up"),
    ("worker lost", "worker_lost"),
    ("saliency model failed", "model_error"),
    ("internal error", "internal"),
)
OUTPUT_ERRORS = (("no space", "no_space"), ("quota", "quota"), ("read-only", "read_only"))
#: Every label value each labelled series can take, so all series exist (at 0) from start-up:
#: a rate() or an alert over them works before the first event, not only after it.
REASON_LABELS = tuple(dict.fromkeys([label for _, label in REASONS] + ["other"]))
OUTPUT_ERROR_LABELS = tuple(dict.fromkeys([label for _, label in OUTPUT_ERRORS] + ["io_error"]))
FILE_KINDS = ("fifo", "socket", "symlink", "device", "directory")
RECENT = 100


def _label(text: str, table: tuple[tuple[str, str], ...], default: str) -> str:
    lowered = text.lower()
    return next((label for phrase, label in table if phrase in lowered), default)


def reason_label(reason: str) -> str:
    """The metric label for a quarantine reason: the first matching key phrase, else ``other``."""
    return _label(reason, REASONS, "other")


def output_error_label(reason: str) -> str:
    """The metric label for an output that could not be written."""
    return _label(reason, OUTPUT_ERRORS, "io_error")


_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class DaemonMetrics:
    """Every metric the daemon exports, on a private registry (tests create several)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.files_seen = Counter(
            "focuspress_files_seen", "Settled files taken into the journal", ["inbox"], registry=r
        )
        self.files_processed = Counter(
            "focuspress_files_processed",
            "Files written, by outcome: recompressed (steered encode), lossless (a JPEG's own coefficients, "
            "re-scanned smaller) or kept (a JPEG's own bytes: recompressing would not have saved min_saving)",
            ["inbox", "outcome"],
            registry=r,
        )
        self.files_failed = Counter("focuspress_files_failed", "Files that failed (any reason)", ["inbox"], registry=r)
        self.files_quarantined = Counter(
            "focuspress_files_quarantined", "Files moved to quarantine", ["inbox", "reason"], registry=r
        )
        self.bytes_in = Counter("focuspress_bytes_in", "Input bytes of processed files", ["inbox"], registry=r)
        self.bytes_out = Counter("focuspress_bytes_out", "Output bytes written", ["inbox"], registry=r)
        self.saving_ratio = Gauge(
            "focuspress_saving_ratio", "1 - bytes_out/bytes_in over processed files", ["inbox"], registry=r
        )
        self.queue_depth = Gauge("focuspress_queue_depth", "Files settled and waiting for a worker", registry=r)
        self.waiting = Gauge("focuspress_files_waiting", "Files nominated, not yet settled", registry=r)
        self.in_flight = Gauge("focuspress_in_flight", "Files being compressed now", registry=r)
        self.stage_seconds = Histogram(
            "focuspress_stage_seconds", "Time per processing stage", ["stage"], buckets=_BUCKETS, registry=r
        )
        self.latency_seconds = Histogram(
            "focuspress_arrival_to_output_seconds", "From first event to durable output", buckets=_BUCKETS, registry=r
        )
        self.model_device = Gauge(
            "focuspress_model_device", "1 for the device the model runs on", ["device"], registry=r
        )
        self.ready = Gauge("focuspress_ready", "1 once the model is loaded and inboxes are watched", registry=r)
        self.output_errors = Counter(
            "focuspress_output_errors",
            "Outputs that could not be written (disk full, read-only); the files wait and are retried",
            ["inbox", "reason"],
            registry=r,
        )
        self.inbox_paused = Gauge(
            "focuspress_inbox_paused", "1 while an inbox waits after an output error", ["inbox"], registry=r
        )
        self.files_ignored = Counter(
            "focuspress_files_ignored",
            "Matching names that are not regular files (fifo, socket, symlink, device), left in place",
            ["inbox", "kind"],
            registry=r,
        )
        self.files_pending = Gauge(
            "focuspress_files_pending",
            "Files journaled and not finished (pending or in flight): the backlog of each inbox",
            ["inbox"],
            registry=r,
        )
        self.outbox_free_bytes = Gauge(
            "focuspress_outbox_free_bytes", "Free bytes on each outbox's filesystem", ["inbox"], registry=r
        )
        self.outbox_size_bytes = Gauge(
            "focuspress_outbox_size_bytes", "Size of each outbox's filesystem", ["inbox"], registry=r
        )
        self.last_output = Gauge(
            "focuspress_last_output_timestamp_seconds",
            "Unix time of each inbox's last durable output (0: none yet)",
            ["inbox"],
            registry=r,
        )
        self.worker_lost = Counter(
            "focuspress_worker_lost", "Photos whose (remote) worker died under them; retried", registry=r
        )
        self.recent: deque[dict] = deque(maxlen=RECENT)
        self.build = Info("focuspress_build", "Build information", registry=r)
        self.build.info({"version": __version__})
        self._totals: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def initialize(self, inboxes: list[str]) -> None:
        """Create every per-inbox, per-reason and per-outcome series at 0 (idempotent: SIGHUP adds inboxes)."""
        from focuspress.engine.api import OUTCOMES

        for stage in STAGES:
            self.stage_seconds.labels(stage)
        for inbox in inboxes:
            for counter in (self.files_seen, self.files_failed, self.bytes_in, self.bytes_out):
                counter.labels(inbox)
            for outcome in OUTCOMES:
                self.files_processed.labels(inbox, outcome)
            for reason in REASON_LABELS:
                self.files_quarantined.labels(inbox, reason)
            for reason in OUTPUT_ERROR_LABELS:
                self.output_errors.labels(inbox, reason)
            for kind in FILE_KINDS:
                self.files_ignored.labels(inbox, kind)
            for gauge in (self.saving_ratio, self.inbox_paused, self.files_pending, self.last_output):
                gauge.labels(inbox)

    def record_output(self, inbox: str, outcome: str, bytes_in: int, bytes_out: int) -> None:
        self.files_processed.labels(inbox, outcome).inc()
        self.last_output.labels(inbox).set(time.time())
        self.bytes_in.labels(inbox).inc(bytes_in)
        self.bytes_out.labels(inbox).inc(bytes_out)
        with self._lock:
            totals = self._totals.setdefault(inbox, [0.0, 0.0])
            totals[0] += bytes_in
            totals[1] += bytes_out
            if totals[0] > 0:
                self.saving_ratio.labels(inbox).set(1.0 - totals[1] / totals[0])

    def record_event(self, record: dict) -> None:
        """Remember an outcome line for /status.json (bounded)."""
        with self._lock:
            self.recent.append(dict(record, at=time.time()))

    def status(self) -> dict:
        with self._lock:
            recent = list(self.recent)
            totals = {name: {"bytes_in": t[0], "bytes_out": t[1]} for name, t in self._totals.items()}
        return {"recent": recent[::-1], "totals": totals}

    def set_device(self, device: str) -> None:
        for name in ("cpu", "gpu"):
            self.model_device.labels(name).set(1.0 if name == device else 0.0)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - scrapes are not news
        pass


class MetricsServer:
    """Serves /metrics and /healthz from a background thread."""

    def __init__(
        self, metrics: DaemonMetrics, address: str, port: int, status: Callable[[], dict] | None = None
    ) -> None:
        self.metrics = metrics
        self.state = "starting"
        self.status = status or (lambda: {})
        self.started_at = time.time()
        prometheus_app = make_wsgi_app(metrics.registry)

        def app(environ, start_response):
            path = environ.get("PATH_INFO")
            if path == "/healthz":
                ok = self.state == "ready"
                start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")])
                return [self.state.encode() + b"\n"]
            if path == "/status.json":
                body = {"state": self.state, "started_at": self.started_at, **metrics.status(), **self.status()}
                data = json.dumps(body, default=str).encode()
                start_response("200 OK", [("Content-Type", "application/json"), ("Cache-Control", "no-store")])
                return [data]
            return prometheus_app(environ, start_response)

        self._server: WSGIServer = make_server(address, port, app, handler_class=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
