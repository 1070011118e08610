"""Wiring and lifecycle: start, feed, reload on SIGHUP, drain on SIGTERM.

Start-up order matters for "nothing lost": open the journal and recover it, finish outputs
that were written but whose originals were not yet handled, load the model, start the
watchers, then scan the inboxes for files that arrived while the daemon was down.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from focuspress.daemon.config import ConfigError, DaemonConfig, load_config
from focuspress.daemon.journal import Journal
from focuspress.daemon.metrics import DaemonMetrics, MetricsServer
from focuspress.daemon.notify import Notifier
from focuspress.daemon.watcher import InboxWatcher, Settler, scan
from focuspress.daemon.workers import Job, Processor, WorkerPool
from focuspress.engine.executors import IN_FLIGHT_PER_WORKER, Executor, make_executor
from focuspress.engine.io.names import display_name

log = logging.getLogger("focuspress.daemon")
TICK_SECONDS = 0.2
#: How often the backlog/free-space gauges and systemd's STATUS line are refreshed.
OBSERVE_SECONDS = 5.0


@dataclass
class Pipeline:
    """The daemon's one pipeline: a processor over an executor, and how many threads feed it."""

    processor: Processor
    executor: Executor
    threads: int
    batch_size: int


def make_pipeline(config: DaemonConfig, journal: Journal, metrics: DaemonMetrics, on_retry=None) -> Pipeline:
    """Build (and warm up) the executor ``config`` names and the processor over it.

    Local: ``workers`` threads share one in-process model, ``batch_size`` photos per model call.
    Ray: IN_FLIGHT_PER_WORKER threads per actor, so each actor has its next photo waiting.
    Used by the service and by ``focuspress bench throughput`` (the same path measured).
    """
    if config.executor == "ray":
        ray = config.ray
        executor = make_executor(
            "ray",
            config.saliency,
            address=ray.address,
            actors=ray.actors,
            num_cpus=ray.num_cpus,
            num_gpus=ray.num_gpus,
            timeout_seconds=ray.timeout_seconds,
        )
        threads, batch_size = IN_FLIGHT_PER_WORKER * ray.actors, 1
    else:
        executor = make_executor("local", config.saliency)
        threads, batch_size = config.workers, config.batch_size
    executor.warm_up()
    return Pipeline(Processor(config, journal, metrics, executor, on_retry), executor, threads, batch_size)


class Service:
    def __init__(self, config: DaemonConfig, config_path: Path | None = None) -> None:
        self.config = config
        self.config_path = config_path
        self.metrics = DaemonMetrics()
        self.journal = Journal(config.journal)
        self.executor: Executor | None = None
        self.settler = Settler(config.settle_seconds, on_ignored=self._ignored)
        self._reported_ignored: set[tuple[Path, str]] = set()
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._enqueued_through = 0
        self._retry_lock = threading.Lock()
        # When files that went back to pending are fed again: per inbox whose outbox failed (the
        # inbox is paused till then), or under None after a lost worker (no pause). Each expiry
        # rewinds the feeder's cursor, so entries skipped or returned meanwhile get their turn.
        self._retry_at: dict[str | None, float] = {}
        self.server: MetricsServer | None = None
        self.watcher: InboxWatcher | None = None
        self.pool: WorkerPool | None = None
        self.processor: Processor | None = None
        self.notifier = Notifier()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self.metrics.initialize([inbox.name for inbox in self.config.inboxes])
        self.server = MetricsServer(
            self.metrics, self.config.metrics.address, self.config.metrics.port, status=self.status
        )
        self.server.start()
        recovered = self.journal.recover()
        if recovered:
            log.info("recovered %d file(s) that were in flight at the last stop", recovered)
        self.processor, threads, batch_size, device = self._make_processor()
        self.metrics.set_device(device)
        self._finish_written()
        self.pool = WorkerPool(self.processor, threads, self.config.queue_size, batch_size, self.metrics)
        self.pool.start()
        self._start_watching()
        self.server.state = "ready"
        self.metrics.ready.set(1)
        self.observe()
        self.notifier.ready(self.status_line())
        log.info(
            "focuspress daemon ready: %d inbox(es), %s executor, model on %s, metrics on %s:%d",
            len(self.config.inboxes),
            self.config.executor,
            device,
            self.config.metrics.address,
            self.server.port,
        )

    def _make_processor(self) -> tuple[Processor, int, int, str]:
        """The pipeline for the configured executor, with its thread count, batch size and device."""
        pipeline = make_pipeline(self.config, self.journal, self.metrics, self._retry)
        self.executor = pipeline.executor
        return pipeline.processor, pipeline.threads, pipeline.batch_size, pipeline.executor.device

    def _retry(self, inbox: str | None, delay: float) -> None:
        """A file went back to pending: feed it again after ``delay`` (and pause its inbox till then)."""
        at = time.monotonic() + delay
        with self._retry_lock:
            self._retry_at[inbox] = at if inbox is not None else min(at, self._retry_at.get(None, at))

    def status(self) -> dict:
        """Per-inbox journal counts for /status.json."""
        counts = self.journal.counts_by_inbox()
        now = time.monotonic()
        with self._retry_lock:
            paused = {name for name, until in self._retry_at.items() if name is not None and until > now}
        return {
            "executor": self.config.executor,
            "inboxes": [
                {
                    "name": inbox.name,
                    "path": str(inbox.path),
                    "outbox": str(inbox.outbox),
                    "states": counts.get(inbox.name, {}),
                    "paused": inbox.name in paused,
                }
                for inbox in self.config.inboxes
            ],
        }

    def _start_watching(self) -> None:
        self.watcher = InboxWatcher(list(self.config.inboxes), self.settler)
        self.watcher.start()
        self._rescan()

    def _rescan(self) -> None:
        for inbox in self.config.inboxes:
            for path in scan(inbox, self._ignored):
                try:
                    st = path.stat()
                except OSError:
                    continue
                if self.journal.known(path, st.st_size, st.st_mtime_ns) is None:
                    self.settler.nominate(inbox, path)

    def _ignored(self, inbox: str, path: Path, kind: str) -> None:
        """One log line per (path, kind) that is not a regular file: it is left where it is."""
        key = (path, kind)
        if key in self._reported_ignored:
            return
        if len(self._reported_ignored) > 10_000:  # bounded; worst case a name is reported again
            self._reported_ignored.clear()
        self._reported_ignored.add(key)
        self.metrics.files_ignored.labels(inbox, kind).inc()
        log.info("ignored %s in %s: a %s, not a regular file (left in place)", display_name(path), inbox, kind)

    def _finish_written(self) -> None:
        assert self.processor is not None
        inboxes = {inbox.name: inbox for inbox in self.config.inboxes}
        for entry in self.journal.in_state("written"):
            inbox = inboxes.get(entry.inbox)
            if inbox is not None:
                self.processor.dispose_original(entry, inbox)

    def run(self) -> int:
        """Main loop until SIGTERM/SIGINT; returns the process exit code."""
        self._install_signal_handlers()
        self.start()
        self._install_signal_handlers()  # again: ray.init installs its own SIGTERM handler
        last_scan = last_observe = time.monotonic()
        while not self._stop.is_set():
            self.notifier.watchdog()  # from the main loop: a hung loop stops the pings
            if self._reload.is_set():
                self._reload.clear()
                self.notifier.reloading()
                self.reload()
                self.notifier.ready(self.status_line())
            try:
                self.tick()
                now = time.monotonic()
                if now - last_scan > self.config.scan_interval_seconds:
                    self._rescan()
                    last_scan = now
                if now - last_observe > OBSERVE_SECONDS:
                    self.observe()
                    self.notifier.status(self.status_line())
                    last_observe = now
            except Exception:  # one odd file or a bug in a tick must not stop every inbox
                log.exception("main loop: unexpected error (the service goes on)")
            self._stop.wait(TICK_SECONDS)
        return self.shutdown()

    def status_line(self) -> str:
        """One line for ``systemctl status``: backlog and totals."""
        counts = self.journal.counts()
        waiting = counts.get("pending", 0) + counts.get("processing", 0)
        return (
            f"{waiting} queued, {counts.get('done', 0)} done, {counts.get('quarantined', 0)} quarantined; "
            f"{len(self.config.inboxes)} inbox(es)"
        )

    def _install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        signal.signal(signal.SIGINT, lambda *_: self._stop.set())
        signal.signal(signal.SIGHUP, lambda *_: self._reload.set())

    def observe(self) -> None:
        """Slow-changing gauges (every few seconds): each inbox's backlog and its outbox's free space."""
        counts = self.journal.counts_by_inbox()
        for inbox in self.config.inboxes:
            states = counts.get(inbox.name, {})
            self.metrics.files_pending.labels(inbox.name).set(states.get("pending", 0) + states.get("processing", 0))
            try:
                fs = os.statvfs(inbox.outbox if inbox.outbox.exists() else inbox.outbox.parent)
            except OSError:
                continue
            self.metrics.outbox_free_bytes.labels(inbox.name).set(fs.f_bavail * fs.f_frsize)
            self.metrics.outbox_size_bytes.labels(inbox.name).set(fs.f_blocks * fs.f_frsize)

    def tick(self) -> None:
        """Settled files into the journal; pending journal entries into the queue while it has room."""
        inboxes = {inbox.name: inbox for inbox in self.config.inboxes}
        settled = self.settler.settled()
        for name in {c.inbox for c in settled}:
            batch = [(c.inbox, c.path, c.size, c.mtime_ns, c.first_seen) for c in settled if c.inbox == name]
            new = self.journal.add_many(batch)
            if new:
                self.metrics.files_seen.labels(name).inc(new)
        self.metrics.waiting.set(len(self.settler))
        assert self.pool is not None
        now = time.monotonic()
        with self._retry_lock:
            for name, until in list(self._retry_at.items()):
                if until <= now:
                    del self._retry_at[name]
                    self._enqueued_through = 0
                    if name is not None:
                        self.metrics.inbox_paused.labels(name).set(0)
            paused = {name for name in self._retry_at if name is not None}
        while self.pool.has_room():
            entries = self._next_pending(self.config.queue_size)
            if not entries:
                break
            for entry in entries:
                inbox = inboxes.get(entry.inbox)
                self._enqueued_through = max(self._enqueued_through, entry.id)
                if inbox is None:  # its inbox left the config: leave it pending
                    continue
                if inbox.name in paused:  # its outbox failed: it waits for the rewind
                    continue
                if not self.pool.put(Job(entry, inbox), timeout=0.05):
                    self._enqueued_through = entry.id - 1
                    return

    def _next_pending(self, limit: int):
        return self.journal.pending_after(self._enqueued_through, limit)

    def reload(self) -> None:
        """SIGHUP: re-read the config; on any problem keep running with the old one."""
        if self.config_path is None:
            return
        try:
            new = load_config(self.config_path)
        except ConfigError as exc:
            log.error("reload refused, keeping the running config: %s", exc)
            return
        fixed = ("journal", "metrics", "workers", "queue_size", "saliency", "executor", "ray")
        changed = [key for key in fixed if getattr(new, key) != getattr(self.config, key)]
        if changed:
            log.warning("reload: %s need a restart to change; other settings applied", ", ".join(changed))
            new = new.model_copy(update={key: getattr(self.config, key) for key in changed})
        assert self.watcher is not None and self.processor is not None
        self.watcher.stop()
        self.config = new
        self.processor.config = new
        self.metrics.initialize([inbox.name for inbox in new.inboxes])
        self._start_watching()
        log.info("configuration reloaded: %d inbox(es)", len(new.inboxes))

    def shutdown(self) -> int:
        self.notifier.stopping()
        if self.server is not None:
            self.server.state = "draining"
        self.metrics.ready.set(0)
        if self.watcher is not None:
            self.watcher.stop()
        finished = True
        if self.pool is not None:
            finished = self.pool.stop(self.config.drain_timeout_seconds)
        if self.server is not None:
            self.server.stop()
        if self.executor is not None:
            self.executor.close()
        self.journal.close()
        if finished:
            log.info("stopped cleanly")
            return 0
        log.warning("drain timeout: unfinished files stay in the journal and resume at the next start")
        return 0
