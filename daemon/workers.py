"""The processing pipeline for one journal entry, and the bounded pool that runs it.

Per file: claim in the journal -> read (here) -> decode, map, compositor (an executor: in this
process, or on a Ray cluster) -> write (here, atomic, fsynced) -> journal ``written`` ->
originals (keep / archive / delete, fsynced) -> journal ``done``. A bad file goes to the inbox's
quarantine folder with ``<name>.error.txt`` beside it. One :class:`Processor` serves every
executor: the local one shares one model between the worker threads (the runtimes release the
GIL in their kernels) and, with ``batch_size`` > 1, computes a batch's maps in one model call.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from focuspress.daemon.config import DaemonConfig, InboxConfig
from focuspress.daemon.journal import Entry, Journal
from focuspress.daemon.logs import event
from focuspress.daemon.metrics import DaemonMetrics, output_error_label, reason_label
from focuspress.engine import FocuspressError, OutputError
from focuspress.engine.api import CompressResult
from focuspress.engine.executors import Executor, Work, WorkerLost
from focuspress.engine.io import atomic_write
from focuspress.engine.io.load import read_regular
from focuspress.engine.io.names import display_name, fit_name, unique_path
from focuspress.engine.io.write import fsync_dir

log = logging.getLogger("focuspress.daemon")


@dataclass
class Job:
    entry: Entry
    inbox: InboxConfig
    enqueued_at: float = field(default_factory=time.time)


def output_name(inbox: InboxConfig, path: Path) -> Path:
    """Outbox path for an inbox file: same relative folder, ``.jpg`` suffix."""
    relative = path.relative_to(inbox.path)
    return inbox.outbox / relative.with_suffix(".jpg")


def _move_durably(source: Path, folder: Path, name: str | None = None) -> Path:
    """Move ``source`` into ``folder`` (rename, or copy+fsync+unlink across filesystems)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = unique_path(folder / (name or source.name))
    try:
        os.rename(source, target)
    except OSError:
        shutil.copy2(source, target)
        with open(target, "rb") as handle:
            os.fsync(handle.fileno())
        os.unlink(source)
    fsync_dir(folder)
    fsync_dir(source.parent)
    return target


class Processor:
    """Takes jobs from pending to done through an executor: the one pipeline of the daemon.

    Failures are sorted by whose fault they are: the photo's (quarantine with the reason), the
    outbox's (the file waits in the journal and its inbox pauses for ``retry_seconds``), or a
    worker's (the file goes back to pending; ``max_attempts`` stops a photo that kills workers).
    """

    def __init__(
        self,
        config: DaemonConfig,
        journal: Journal,
        metrics: DaemonMetrics,
        executor: Executor,
        on_retry: Callable[[str | None, float], None] | None = None,
    ) -> None:
        self.config = config
        self.journal = journal
        self.metrics = metrics
        self.executor = executor
        self.on_retry = on_retry or (lambda inbox, delay: None)
        self._slots = itertools.count()

    def _take(self, job: Job) -> bool:
        """Claim the entry; quarantine it when it has used up its attempts. True: go ahead."""
        if not self.journal.claim(job.entry.id):
            return False  # already taken (queued twice after a rewind) or finished
        if job.entry.attempts + 1 > self.config.max_attempts:
            self.quarantine(job, f"gave up after {job.entry.attempts} interrupted attempts")
            return False
        return True

    def _open(self, job: Job) -> tuple[bytes, float] | None:
        """Claim the job and read its file: (its bytes, time reading began), or None when the job
        is skipped or its file was quarantined. A symlink or FIFO swapped in is not followed."""
        if not self._take(job):
            return None
        t0 = time.perf_counter()
        try:
            return read_regular(job.entry.path), t0
        except FocuspressError as exc:
            if not job.entry.path.exists() and not job.entry.path.is_symlink():
                self.quarantine(
                    job, f"{display_name(job.entry.path)}: vanished before it was read (moved or deleted meanwhile)"
                )
            else:
                self.quarantine(job, str(exc))
            return None

    def process_batch(self, jobs: list[Job]) -> None:
        opened = [(job, *read) for job in jobs if (read := self._open(job)) is not None]
        if not opened:
            return
        items = [Work(data, display_name(job.entry.path.name), job.inbox.compress) for job, data, _ in opened]
        try:
            outcomes = self.executor.run_batch(items, next(self._slots))
        except WorkerLost as exc:
            for job, _, _ in opened:
                self.worker_lost(job, str(exc))
            return
        except Exception as exc:  # the executor itself failed (cluster unreachable): wait, do not blame photos
            log.exception("executor failed on %d file(s)", len(opened))
            for job, _, _ in opened:
                self.worker_lost(job, f"executor failed: {type(exc).__name__}: {exc}")
            return
        for (job, _, t0), outcome in zip(opened, outcomes):
            if outcome.result is None:
                self.quarantine(job, outcome.error or "unknown error")
                continue
            for stage in ("decode", "saliency", "compositor"):
                if stage in outcome.result.timings_ms:
                    self.metrics.stage_seconds.labels(stage).observe(outcome.result.timings_ms[stage] / 1000.0)
            self.commit(job, outcome.result, t0)

    def commit(self, job: Job, result: CompressResult, t0: float) -> None:
        """Write the output durably, then journal, then the original: the order that loses nothing."""
        inbox, entry, data = job.inbox, job.entry, result.data
        t3 = time.perf_counter()
        try:
            target = self.journal.claim_output(entry.id, output_name(inbox, entry.path))
            atomic_write(target, data)
        except OutputError as exc:
            if exc.transient:
                self.defer(job, str(exc))
            else:
                self.quarantine(job, str(exc))
            return
        self.journal.set_state(entry.id, "written")
        self.metrics.stage_seconds.labels("write").observe(time.perf_counter() - t3)
        # Counted once the output is durable, before the original moves: whoever sees the
        # original archived also sees the file counted.
        self.metrics.record_output(inbox.name, result.outcome, entry.size, len(data))
        self.metrics.latency_seconds.observe(max(0.0, time.time() - entry.seen_at))
        self.dispose_original(entry, inbox)
        self._log(
            inbox.name,
            entry.path.name,
            result.outcome,
            entry.size,
            len(data),
            (time.perf_counter() - t0) * 1000,
            output=display_name(target),
            route=result.route,
            quality=round(result.quality, 1),
        )

    def defer(self, job: Job, reason: str) -> None:
        """The outbox failed (full, read-only): keep the file pending and pause its inbox."""
        inbox = job.inbox
        self.journal.retry_later(job.entry.id, reason, count_attempt=False)
        self.metrics.output_errors.labels(inbox.name, output_error_label(reason)).inc()
        self.metrics.inbox_paused.labels(inbox.name).set(1)
        log.warning("output failed, %s waits %.0f s and is retried: %s", inbox.name, self.config.retry_seconds, reason)
        self._log(inbox.name, job.entry.path.name, "deferred", job.entry.size, 0, 0.0, reason=reason)
        self.on_retry(inbox.name, self.config.retry_seconds)

    def worker_lost(self, job: Job, reason: str) -> None:
        """A worker died under this photo: back to pending (the attempt counts)."""
        self.journal.retry_later(job.entry.id, reason, count_attempt=True)
        self.metrics.worker_lost.inc()
        log.warning("worker lost on %s; it will be retried: %s", display_name(job.entry.path), reason)
        self.on_retry(None, 1.0)

    def dispose_original(self, entry: Entry, inbox: InboxConfig) -> None:
        """Archive/delete/keep the original; only ever called once its output is durable."""
        try:
            if inbox.originals == "delete":
                entry.path.unlink(missing_ok=True)
                fsync_dir(entry.path.parent)
            elif inbox.originals == "archive" and entry.path.exists():
                assert inbox.archive is not None
                _move_durably(entry.path, inbox.archive)
        except OSError as exc:
            log.warning("could not %s original %s: %s", inbox.originals, display_name(entry.path), exc)
        self.journal.set_state(entry.id, "done")

    def quarantine(self, job: Job, reason: str) -> None:
        inbox, entry = job.inbox, job.entry
        self.metrics.files_failed.labels(inbox.name).inc()
        try:
            if entry.path.exists():
                moved = _move_durably(entry.path, inbox.quarantine_dir)
                note = moved.with_name(fit_name(moved.name, ".error.txt"))
                atomic_write(note, f"{display_name(entry.path)}\n{reason}\n".encode("utf-8", "backslashreplace"))
        except (OSError, FocuspressError) as exc:
            reason = f"{reason}; could not move to quarantine: {exc}"
        self.journal.set_state(entry.id, "quarantined", error=reason)
        self.metrics.files_quarantined.labels(inbox.name, reason_label(reason)).inc()
        self._log(inbox.name, entry.path.name, "quarantined", entry.size, 0, 0.0, reason=reason)

    def _log(self, inbox: str, name: str, outcome: str, size_in: int, size_out: int, ms: float, **extra) -> None:
        record = {
            "inbox": inbox,
            "file": display_name(name),
            "outcome": outcome,
            "bytes_in": size_in,
            "bytes_out": size_out,
            "ms": round(ms, 1),
            **extra,
        }
        self.metrics.record_event(record)
        level = logging.WARNING if outcome == "quarantined" else logging.INFO
        event(log, level, f"{record['file']}: {outcome}", **record)


class WorkerPool:
    """``workers`` threads draining a bounded queue; ``put`` blocks when it is full."""

    def __init__(self, processor: Processor, workers: int, queue_size: int, batch_size: int, metrics: DaemonMetrics):
        self.processor = processor
        self.batch_size = batch_size
        self.metrics = metrics
        self.queue: queue.Queue[Job | None] = queue.Queue(maxsize=queue_size)
        self._threads = [threading.Thread(target=self._run, name=f"worker-{i}", daemon=True) for i in range(workers)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def has_room(self) -> bool:
        return not self.queue.full()

    def put(self, job: Job, timeout: float | None = None) -> bool:
        try:
            self.queue.put(job, timeout=timeout)
        except queue.Full:
            return False
        self.metrics.queue_depth.set(self.queue.qsize())
        return True

    def _run(self) -> None:
        while True:
            job = self.queue.get()
            if job is None:
                return
            batch = [job]
            while len(batch) < self.batch_size:
                try:
                    extra = self.queue.get_nowait()
                except queue.Empty:
                    break
                if extra is None:
                    self.queue.put(None)
                    break
                batch.append(extra)
            self.metrics.queue_depth.set(self.queue.qsize())
            self.metrics.in_flight.inc(len(batch))
            try:
                self.processor.process_batch(batch)
            except Exception:
                log.exception("worker failed on a batch; entries stay in the journal for retry")
            finally:
                self.metrics.in_flight.dec(len(batch))

    def stop(self, timeout: float) -> bool:
        """Finish in-flight work (up to ``timeout``); queued jobs stay ``pending`` in the journal.

        True when every worker finished in time.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                break
        self.metrics.queue_depth.set(0)
        for _ in self._threads:
            while True:
                try:
                    self.queue.put(None, timeout=0.1)
                    break
                except queue.Full:
                    if time.monotonic() > deadline:
                        return False
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)
