"""Prometheus metrics, the /healthz probe and a /status.json summary, on one loopback-by-default address.

``/metrics``: the counters below (``focuspress_`` prefix). ``/healthz``: 200 ``ready`` once
the model is loaded and the watchers run, 503 ``starting``/``draining`` otherwise, and 503
``stalled: ...`` while a file has waited longer than ``stall_seconds`` with nothing written
meanwhile, so a load balancer or a watchdog script can tell. ``/status.json``: per-inbox journal counts
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
from focuspress.engine.errors import OUTPUT_ERROR_REASONS, QUARANTINE_REASONS, SET_ASIDE_REASONS
from focuspress.engine.fidelity.estimate import Scores
from focuspress.engine.pipeline import STAGES

#: Label values of every labelled series, so all series exist (at 0) from start-up: a rate() or
#: an alert over them works before the first event, not only after it. Reasons are the engine's
#: codes (focuspress.engine.errors.Reason): a closed set, never free text.
REASON_LABELS = tuple(str(reason) for reason in QUARANTINE_REASONS)
SET_ASIDE_LABELS = tuple(str(reason) for reason in SET_ASIDE_REASONS)
OUTPUT_ERROR_LABELS = tuple(str(reason) for reason in OUTPUT_ERROR_REASONS)
FILE_KINDS = ("fifo", "socket", "symlink", "device", "directory")
#: What the journal was asked to do when a write failed (the ``operation`` label).
JOURNAL_OPERATIONS = ("record", "claim", "state", "output", "read", "recover")
RECENT = 100


#: SSIMULACRA2 buckets: fine around the contract's defaults (80 for the photo, 90 for the subject).
SCORE_BUCKETS = (50.0, 60.0, 70.0, 75.0, 78.0, 80.0, 82.0, 85.0, 88.0, 89.0, 90.0, 91.0, 92.0, 95.0, 100.0)
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
        self.files_set_aside = Counter(
            "focuspress_files_set_aside",
            "Files a bug of focuspress's met (reason internal): left in the inbox untouched, retried by another "
            "version",
            ["inbox", "reason"],
            registry=r,
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
        self.rescan_backend = Gauge(
            "focuspress_rescan_backend",
            "1 for the progressive re-scan this host uses (mozjpeg: libturbojpeg is missing, encodes are slower)",
            ["backend"],
            registry=r,
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
            "focuspress_worker_lost",
            "Photos whose worker died under them; retried (alone) before any blame",
            registry=r,
        )
        self.journal_errors = Counter(
            "focuspress_journal_errors",
            "Journal writes or reads that failed (disk full, I/O error); the work stays and is retried",
            ["operation"],
            registry=r,
        )
        self.journal_fresh = Gauge(
            "focuspress_journal_fresh",
            "1 when the journal was new or empty at start while an outbox already held files "
            "(the outboxes alone then guard against overwriting; see the warning in the log)",
            registry=r,
        )
        self.oldest_pending = Gauge(
            "focuspress_oldest_pending_age_seconds",
            "Age of each inbox's oldest unfinished file (0: none): a backlog that stops moving grows this",
            ["inbox"],
            registry=r,
        )
        self.uploads_waiting = Counter(
            "focuspress_uploads_waiting",
            "Decodes that failed on a file changed within upload_grace_seconds: it waits (still arriving?)",
            ["inbox"],
            registry=r,
        )
        self.watch_overflows = Counter(
            "focuspress_watch_overflows",
            "Kernel event queue overflows (fs.inotify.max_queued_events); each is followed by one rescan",
            registry=r,
        )
        self.photo_score = Histogram(
            "focuspress_photo_ssimulacra2",
            "SSIMULACRA2 of each recompressed output's whole photo against its source (the contract's "
            "estimate on camera-sized photos, exact on small ones)",
            ["inbox"],
            buckets=SCORE_BUCKETS,
            registry=r,
        )
        self.subject_score = Histogram(
            "focuspress_subject_ssimulacra2",
            "SSIMULACRA2 of each recompressed output's subject (where the map is confident) against its "
            "source; photos without a subject are not counted",
            ["inbox"],
            buckets=SCORE_BUCKETS,
            registry=r,
        )
        self.temp_files_removed = Counter(
            "focuspress_temp_files_removed", "Temp files a killed write left behind, removed at start", registry=r
        )
        self.recent: deque[dict] = deque(maxlen=RECENT)
        self.build = Info("focuspress_build", "Build information", registry=r)
        self.build.info({"version": __version__})
        self._totals: dict[str, list[float]] = {}
        self._last_write = 0.0
        self._lock = threading.Lock()

    def initialize(self, inboxes: list[str]) -> None:
        """Create every per-inbox, per-reason and per-outcome series at 0 (idempotent: SIGHUP adds inboxes)."""
        from focuspress.engine.results import RESULT_KINDS

        for stage in STAGES:
            self.stage_seconds.labels(stage)
        for inbox in inboxes:
            for counter in (self.files_seen, self.files_failed, self.bytes_in, self.bytes_out):
                counter.labels(inbox)
            for outcome in RESULT_KINDS:
                self.files_processed.labels(inbox, outcome)
            for reason in REASON_LABELS:
                self.files_quarantined.labels(inbox, reason)
            for reason in SET_ASIDE_LABELS:
                self.files_set_aside.labels(inbox, reason)
            for reason in OUTPUT_ERROR_LABELS:
                self.output_errors.labels(inbox, reason)
            for kind in FILE_KINDS:
                self.files_ignored.labels(inbox, kind)
            for gauge in (
                self.saving_ratio,
                self.inbox_paused,
                self.files_pending,
                self.last_output,
                self.oldest_pending,
            ):
                gauge.labels(inbox)
            self.uploads_waiting.labels(inbox)
            self.photo_score.labels(inbox)
            self.subject_score.labels(inbox)
        for operation in JOURNAL_OPERATIONS:
            self.journal_errors.labels(operation)

    def record_output(
        self, inbox: str, outcome: str, bytes_in: int, bytes_out: int, scores: Scores | None = None
    ) -> None:
        self.files_processed.labels(inbox, outcome).inc()
        if scores is not None:
            self.photo_score.labels(inbox).observe(scores.photo)
            if scores.subject is not None:
                self.subject_score.labels(inbox).observe(scores.subject)
        self._last_write = time.time()
        self.last_output.labels(inbox).set(self._last_write)
        self.bytes_in.labels(inbox).inc(bytes_in)
        self.bytes_out.labels(inbox).inc(bytes_out)
        with self._lock:
            totals = self._totals.setdefault(inbox, [0.0, 0.0])
            totals[0] += bytes_in
            totals[1] += bytes_out
            if totals[0] > 0:
                self.saving_ratio.labels(inbox).set(1.0 - totals[1] / totals[0])

    def last_write_time(self) -> float:
        """Unix time of the last durable output of any inbox (0: none yet)."""
        return self._last_write

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

    def set_rescan_backend(self, backend: str) -> None:
        for name in ("turbojpeg", "mozjpeg"):
            self.rescan_backend.labels(name).set(1.0 if name == backend else 0.0)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - scrapes are not news
        pass


class MetricsServer:
    """Serves /metrics and /healthz from a background thread."""

    def __init__(
        self,
        metrics: DaemonMetrics,
        address: str,
        port: int,
        status: Callable[[], dict] | None = None,
        stalled: Callable[[], str | None] | None = None,
    ) -> None:
        self.metrics = metrics
        self.state = "starting"
        self.status = status or (lambda: {})
        #: a reason while work has stopped moving (answered as 503 "stalled: ..."), else None
        self.stalled = stalled or (lambda: None)
        self.started_at = time.time()
        prometheus_app = make_wsgi_app(metrics.registry)

        def app(environ, start_response):
            path = environ.get("PATH_INFO")
            if path == "/healthz":
                state = self.state
                if state == "ready":
                    problem = self.stalled()
                    state = f"stalled: {problem}" if problem else state
                ok = state == "ready"
                start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")])
                return [state.encode() + b"\n"]
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
