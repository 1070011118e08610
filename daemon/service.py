"""Wiring and lifecycle: start, feed, reload on SIGHUP, drain on SIGTERM.

Start-up order matters for "nothing lost": open and check the journal (a damaged one is
refused in one line), recover what was in flight, remove temp files a killed write left,
warn if the journal is new beside outboxes that already hold files, finish outputs that were
written but whose originals were not yet handled, load the model, start the watchers, then
scan the inboxes for files that arrived while the daemon was down.
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
from focuspress.daemon.journal import Journal, JournalError
from focuspress.daemon.notify import Notifier
from focuspress.daemon.prometheus import DaemonMetrics, MetricsServer
from focuspress.daemon.watcher import InboxWatcher, OverflowSignal, Settler, scan
from focuspress.daemon.workers import Job, Processor, WorkerPool
from focuspress.engine.executors import IN_FLIGHT_PER_WORKER, Executor, make_executor
from focuspress.engine.executors.isolated import IsolatedExecutor
from focuspress.engine.io.names import display_name
from focuspress.engine.io.write import remove_stale_temps

log = logging.getLogger("focuspress.daemon")
TICK_SECONDS = 0.2
#: How often the backlog/free-space gauges and systemd's STATUS line are refreshed.
OBSERVE_SECONDS = 5.0
#: An entry in ``processing`` that no worker holds for this long is put back (a failed state change)...
STUCK_SECONDS = 60.0
#: ...by a sweep that runs this often (its own timer: it changes the journal, the gauges only read it)
SWEEP_SECONDS = 15.0
#: Exit code when SIGTERM's drain timed out: unfinished files stay in the journal and resume at the next start.
EXIT_DRAIN_TIMEOUT = 3
#: Settings a SIGHUP cannot change in a running daemon (the reload names them); every other one applies.
NEEDS_RESTART = ("journal", "metrics", "workers", "queue_size", "saliency", "executor", "ray")


@dataclass
class ProcessorPlan:
    """How the daemon processes photos: a processor over an executor, and how many threads feed it (the
    engine's pipeline runs inside the executor)."""

    processor: Processor
    executor: Executor
    threads: int
    batch_size: int


def make_processor_plan(config: DaemonConfig, journal: Journal, metrics: DaemonMetrics, on_retry=None) -> ProcessorPlan:
    """Build (and warm up) the executor ``config`` names and the processor over it.

    Processes (the default): ``workers`` worker processes, a model each, fed by two threads per
    process. Local: ``workers`` threads share one in-process model, ``batch_size`` photos per model
    call (a GPU). Either way a suspect photo (in flight at an unclean stop) runs alone in a child
    process. Ray:
    IN_FLIGHT_PER_WORKER threads per actor, so each actor has its next photo waiting.
    Used by the service and by ``focuspress bench throughput`` (the same path measured).
    """
    isolated = None
    if config.executor == "ray":
        executor = make_executor("ray", config.saliency, config.ray)
        threads, batch_size = IN_FLIGHT_PER_WORKER * config.ray.actors, 1
    else:
        executor = make_executor(config.executor, config.saliency, workers=config.workers)
        # worker processes: two feeding threads each keep every process's next photo read
        feeders = IN_FLIGHT_PER_WORKER if config.executor == "processes" else 1
        threads, batch_size = feeders * config.workers, config.batch_size
        isolated = IsolatedExecutor(config.saliency)
    executor.warm_up()
    processor = Processor(config, journal, metrics, executor, on_retry, isolated=isolated)
    return ProcessorPlan(processor, executor, threads, batch_size)


class Service:
    def __init__(self, config: DaemonConfig, config_path: Path | None = None) -> None:
        self.config = config
        self.config_path = config_path
        self.metrics = DaemonMetrics()
        self.journal = Journal(config.journal, on_error=lambda op: self.metrics.journal_errors.labels(op).inc())
        self.executor: Executor | None = None
        self.settler = Settler(config.settle_seconds, on_ignored=self._ignored)
        self.overflow = OverflowSignal()
        self._reported_ignored: set[tuple[Path, str]] = set()
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._paused_lock = threading.Lock()
        #: inbox -> monotonic time its outbox may be tried again (after an output failure)
        self._paused_until: dict[str, float] = {}
        self._last_output_at = time.time()
        self._journal_error_logged = 0.0
        self.server: MetricsServer | None = None
        self.watcher: InboxWatcher | None = None
        self.pool: WorkerPool | None = None
        self.processor: Processor | None = None
        self.notifier = Notifier()

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self.metrics.initialize([inbox.name for inbox in self.config.inboxes])
        self.server = MetricsServer(
            self.metrics,
            self.config.metrics.address,
            self.config.metrics.port,
            status=self.status,
            stalled=self.stalled,
        )
        self.server.start()
        recovered = self.journal.recover()
        if recovered:
            log.info(
                "recovered %d file(s) that were in flight at an unclean stop: each is retried alone "
                "(not blamed for the stop)",
                recovered,
            )
        from focuspress import __version__

        retried = self.journal.retry_set_aside(__version__)
        if retried:
            log.info(
                "%d file(s) set aside by another focuspress version (a bug met them) are tried again by %s",
                retried,
                __version__,
            )
        self._clean_temps()
        self._check_fresh_journal()
        self.processor, threads, batch_size, device = self._make_processor()
        self.metrics.set_device(device)
        from focuspress.engine.api import rescan_backend

        rescan, rescan_line = rescan_backend()
        self.metrics.set_rescan_backend(rescan)
        if rescan != "turbojpeg":
            log.warning("%s; the daemon picks it up when it next starts", rescan_line)
        self._finish_written()
        self.pool = WorkerPool(self.processor, threads, self.config.queue_size, batch_size, self.metrics)
        self.pool.start()
        self.overflow.install()
        self._start_watching()
        self.server.state = "ready"
        self.metrics.ready.set(1)
        self.observe()
        self.notifier.ready(self.status_line())
        log.info(
            "focuspress daemon ready: %d inbox(es), %s executor, model on %s, re-scan by %s, metrics on %s:%d",
            len(self.config.inboxes),
            self.config.executor,
            device,
            rescan,
            self.config.metrics.address,
            self.server.port,
        )

    def _clean_temps(self) -> None:
        """Temp files of writes a kill interrupted (ours only: ``.focuspress-*.tmp``)."""
        removed = 0
        for inbox in self.config.inboxes:
            for folder in (inbox.outbox, inbox.archive, inbox.quarantine_dir):
                if folder is not None and folder.is_dir():
                    removed += remove_stale_temps(folder, recursive=True)
        if removed:
            self.metrics.temp_files_removed.inc(removed)
            log.info("removed %d temp file(s) left by writes that a stop interrupted", removed)

    def _check_fresh_journal(self) -> None:
        """A new (or empty) journal beside outboxes that hold files: the journal was lost or reset."""
        if not self.journal.fresh:
            return
        busy = [inbox for inbox in self.config.inboxes if _holds_files(inbox.outbox)]
        if not busy:
            return
        self.metrics.journal_fresh.set(1)
        names = ", ".join(f"{inbox.name} ({display_name(inbox.outbox)})" for inbox in busy)
        log.warning(
            "journal %s is %s but outboxes already hold files: %s. Was the journal lost or replaced? "
            "Files still in the inboxes are processed again; no existing output is replaced "
            "(new ones get the next free name-N.jpg)",
            display_name(self.journal.path),
            "new" if self.journal.created else "empty",
            names,
        )

    def _make_processor(self) -> tuple[Processor, int, int, str]:
        """The pipeline for the configured executor, with its thread count, batch size and device."""
        pipeline = make_processor_plan(self.config, self.journal, self.metrics, self._retry)
        self.executor = pipeline.executor
        return pipeline.processor, pipeline.threads, pipeline.batch_size, pipeline.executor.device

    def _retry(self, inbox: str | None, delay: float) -> None:
        """An output failed: its inbox pauses for ``delay`` (files with a retry time wait on their own)."""
        if inbox is None:
            return
        with self._paused_lock:
            self._paused_until[inbox] = time.monotonic() + delay

    def _paused(self) -> set[str]:
        now = time.monotonic()
        with self._paused_lock:
            for name, until in list(self._paused_until.items()):
                if until <= now:
                    del self._paused_until[name]
                    self.metrics.inbox_paused.labels(name).set(0)
            return set(self._paused_until)

    def status(self) -> dict:
        """Per-inbox journal counts for /status.json."""
        counts = self.journal.counts_by_inbox()
        paused = self._paused()
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

    def stalled(self) -> str | None:
        """Why work has stopped moving (/healthz), or None: a file waited over ``stall_seconds`` and
        nothing was written in that time."""
        try:
            oldest = self.journal.oldest_open()
        except JournalError as exc:
            return str(exc)
        if not oldest:
            return None
        now = time.time()
        waited = now - min(oldest.values())
        quiet = now - max(self._last_output_at, self.metrics.last_write_time())
        limit = self.config.stall_seconds
        if waited > limit and quiet > limit:
            return f"the oldest file has waited {waited:.0f} s and nothing was written for {quiet:.0f} s"
        return None

    def _start_watching(self) -> None:
        self.watcher = InboxWatcher(list(self.config.inboxes), self.settler)
        self.watcher.start()
        for problem in self.watcher.problems:
            log.error(
                "%s; new files there are found by the periodic scan (every %.0f s) only. Raise "
                "fs.inotify.max_user_watches (docs/scale.md)",
                problem,
                self.config.scan_interval_seconds,
            )
        self._rescan()

    def _rescan(self) -> None:
        for inbox in self.config.inboxes:
            for path in scan(inbox, self._ignored):
                try:
                    st = path.stat()
                except OSError:
                    continue
                if not self.journal.known(path, st.st_size, st.st_mtime_ns):
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
        last_scan = last_observe = last_sweep = time.monotonic()
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
                if self.overflow.take():
                    self.metrics.watch_overflows.inc()
                    log.warning(
                        "the kernel's event queue overflowed (events were lost): rescanning the inboxes once; "
                        "raise fs.inotify.max_queued_events if this repeats (docs/scale.md)"
                    )
                    self._rescan()
                    last_scan = now
                if now - last_scan > self.config.scan_interval_seconds:
                    self._rescan()
                    last_scan = now
                if now - last_observe > OBSERVE_SECONDS:
                    self.observe()
                    self.notifier.status(self.status_line())
                    last_observe = now
                if now - last_sweep > SWEEP_SECONDS:
                    self.sweep_stuck()
                    last_sweep = now
            except JournalError as exc:  # the journal's disk: said once a minute, counted every time
                if time.monotonic() - self._journal_error_logged > 60:
                    self._journal_error_logged = time.monotonic()
                    log.error("%s; the service goes on and retries", exc)
            except Exception:  # one odd file or a bug in a tick must not stop every inbox
                log.exception("main loop: unexpected error (the service goes on)")
            self._stop.wait(TICK_SECONDS)
        return self.shutdown()

    def status_line(self) -> str:
        """One line for ``systemctl status``: backlog and totals."""
        try:
            counts = self.journal.counts()
        except JournalError as exc:
            return f"journal unavailable: {exc}"
        waiting = counts.get("pending", 0) + counts.get("processing", 0)
        return (
            f"{waiting} queued, {counts.get('done', 0)} done, {counts.get('quarantined', 0)} quarantined, "
            f"{counts.get('set_aside', 0)} set aside; {len(self.config.inboxes)} inbox(es)"
        )

    def _install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self._stop.set())
        signal.signal(signal.SIGINT, lambda *_: self._stop.set())
        signal.signal(signal.SIGHUP, lambda *_: self._reload.set())

    def observe(self) -> None:
        """Slow-changing gauges (every few seconds): backlog, oldest waiting file, free space. It only
        reads (the journal's counts, the disks); :meth:`sweep_stuck` is the one that writes."""
        counts = self.journal.counts_by_inbox()
        oldest = self.journal.oldest_open()
        now = time.time()
        for inbox in self.config.inboxes:
            states = counts.get(inbox.name, {})
            self.metrics.files_pending.labels(inbox.name).set(states.get("pending", 0) + states.get("processing", 0))
            seen = oldest.get(inbox.name)
            self.metrics.oldest_pending.labels(inbox.name).set(max(0.0, now - seen) if seen is not None else 0.0)
            try:
                fs = os.statvfs(inbox.outbox if inbox.outbox.exists() else inbox.outbox.parent)
            except OSError:
                continue
            self.metrics.outbox_free_bytes.labels(inbox.name).set(fs.f_bavail * fs.f_frsize)
            self.metrics.outbox_size_bytes.labels(inbox.name).set(fs.f_blocks * fs.f_frsize)

    def sweep_stuck(self) -> None:
        """Entries left in ``processing`` that no worker holds (a failed journal write) go back to pending."""
        if self.pool is None:
            return
        stuck = self.journal.release_stuck(self.pool.held(), STUCK_SECONDS)
        if stuck:
            log.warning("%d file(s) were left in processing by a failed step: put back and retried", len(stuck))

    def tick(self) -> None:
        """Settled files into the journal; due pending entries into the queue while it has room."""
        inboxes = {inbox.name: inbox for inbox in self.config.inboxes}
        settled = self.settler.settled()
        for name in {c.inbox for c in settled}:
            batch = [(c.inbox, c.path, c.size, c.mtime_ns, c.first_seen) for c in settled if c.inbox == name]
            new = self.journal.add_many(batch)
            if new:
                self.metrics.files_seen.labels(name).inc(new)
        self.metrics.waiting.set(len(self.settler))
        assert self.pool is not None
        room = self.pool.room()
        if room == 0:
            return
        paused = self._paused()
        for entry in self.journal.pending_due(room + 16, exclude=self.pool.held()):
            inbox = inboxes.get(entry.inbox)
            if inbox is None or inbox.name in paused:  # its inbox left the config, or its outbox failed
                continue
            if not self.pool.put(Job(entry, inbox)):
                return

    def reload(self) -> None:
        """SIGHUP: re-read the config; on any problem keep running with the old one.

        Every setting takes effect, except :data:`NEEDS_RESTART`, which the log line names."""
        if self.config_path is None:
            return
        try:
            new = load_config(self.config_path)
        except ConfigError as exc:
            log.error("reload refused, keeping the running config: %s", exc)
            return
        changed = [key for key in NEEDS_RESTART if getattr(new, key) != getattr(self.config, key)]
        if changed:
            new = new.model_copy(update={key: getattr(self.config, key) for key in changed})
        applied = [key for key in type(new).model_fields if getattr(new, key) != getattr(self.config, key)]
        assert self.watcher is not None and self.processor is not None and self.pool is not None
        self.watcher.stop()
        self.config = new
        self.processor.config = new
        self.settler.settle_seconds = new.settle_seconds
        self.pool.batch_size = new.batch_size if new.executor != "ray" else self.pool.batch_size
        if "log_format" in applied:
            from focuspress.daemon.logs import set_format

            if not set_format(new.log_format):
                applied.remove("log_format")
                changed.append("log_format (--log-format given on the command line)")
        self.metrics.initialize([inbox.name for inbox in new.inboxes])
        self._start_watching()
        message = f"configuration reloaded: {len(new.inboxes)} inbox(es)"
        message += f"; applied: {', '.join(applied)}" if applied else "; nothing changed"
        if changed:
            message += f"; need a restart to change (still the running values): {', '.join(changed)}"
            log.warning(message)
        else:
            log.info(message)

    def shutdown(self) -> int:
        self.notifier.stopping()
        if self.server is not None:
            self.server.state = "draining"
        self.metrics.ready.set(0)
        if self.watcher is not None:
            self.watcher.stop()
        self.overflow.remove()
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
        log.warning(
            "drain timeout (%.0f s): unfinished files stay in the journal and resume at the next start",
            self.config.drain_timeout_seconds,
        )
        return EXIT_DRAIN_TIMEOUT


def _holds_files(folder: Path) -> bool:
    """Whether ``folder`` (or a subfolder) holds any file that is not one of our temp files."""
    if not folder.is_dir():
        return False
    for _directory, _dirs, names in os.walk(folder):
        if any(not name.startswith(".") for name in names):
            return True
    return False
