"""One journal entry from claim to done, and the bounded pool that runs entries.

Per file: claim in the journal -> read (here) -> the pipeline (an executor: in this process, or
on a Ray cluster) -> write (here: atomic, fsynced, never replacing a file) -> journal
``written`` -> originals (keep / archive / delete, fsynced) -> journal ``done``. A bad file goes
to the inbox's quarantine folder with ``<name>.error.txt`` beside it.

Failures are sorted by whose fault they are:

* the photo's: quarantine, with the refusal's reason code;
* ours (a bug met on the photo, reason ``internal``): the photo is set aside, not quarantined: the
  original stays in its inbox untouched, the journal row says ``set_aside`` with the version that
  failed, and a daemon of another version tries it again;
* an upload's that is still arriving: a file that will not decode but changed within
  ``upload_grace_seconds`` waits (``pending`` with a ``not_before``) and is tried again once it
  changes or the grace has passed; only then is it judged;
* the outbox's (full, read-only): the file waits and its inbox pauses for ``retry_seconds``;
* a worker's: the file goes back to ``pending``; a worker that dies under the same photo run
  alone (``engine/executors/isolated.py``) ``max_attempts`` times gets the photo quarantined;
* the daemon's (killed mid-photo): the photo becomes a suspect, run alone next time, not blamed.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from focuspress.daemon.config import DaemonConfig, InboxConfig
from focuspress.daemon.journal import Entry, Journal, JournalError
from focuspress.daemon.logs import event
from focuspress.daemon.prometheus import DaemonMetrics
from focuspress.engine.errors import SET_ASIDE_REASONS, FocuspressError, OutputError, Reason
from focuspress.engine.executors import Executor, WorkerLost
from focuspress.engine.executors.isolated import IsolatedExecutor
from focuspress.engine.io import atomic_write
from focuspress.engine.io.load import read_regular
from focuspress.engine.io.names import display_name, fit_name, unique_path
from focuspress.engine.io.write import fsync_dir
from focuspress.engine.pipeline import Outcome, Work
from focuspress.engine.results import score_fields

log = logging.getLogger("focuspress.daemon")

#: Refusals an incomplete upload can cause (too few bytes for a header, data cut short, nothing
#: yet): within the upload grace they mean "wait", not "broken".
INCOMPLETE_LOOKING = frozenset({Reason.EMPTY, Reason.TRUNCATED, Reason.UNDECODABLE, Reason.NOT_AN_IMAGE})
#: Backoff after a worker's unexpected failure: 5 s, 10 s, 20 s ... at most 5 minutes.
BACKOFF_SECONDS = (5.0, 300.0)


@dataclass
class Job:
    entry: Entry
    inbox: InboxConfig
    enqueued_at: float = field(default_factory=time.time)


@dataclass
class _Opened:
    """A claimed job with the bytes read and the stat they were read at."""

    job: Job
    data: bytes
    size: int
    mtime_ns: int
    read_ms: float
    t0: float


def output_name(inbox: InboxConfig, path: Path) -> Path:
    """Outbox path for an inbox file: same relative folder, ``.jpg`` suffix."""
    return inbox.outbox / relative_to_inbox(inbox, path).with_suffix(".jpg")


def relative_to_inbox(inbox: InboxConfig, path: Path) -> Path:
    try:
        return path.relative_to(inbox.path)
    except ValueError:
        return Path(path.name)


def _move_durably(source: Path, folder: Path, name: str | None = None) -> Path:
    """Move ``source`` into ``folder`` (rename, or copy+fsync+unlink across filesystems), never over a file."""
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


def _sha256(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").digest()
    except OSError:
        return None


class Processor:
    """Takes jobs from pending to done through an executor: the one pipeline of the daemon."""

    def __init__(
        self,
        config: DaemonConfig,
        journal: Journal,
        metrics: DaemonMetrics,
        executor: Executor,
        on_retry: Callable[[str | None, float], None] | None = None,
        isolated: IsolatedExecutor | None = None,
    ) -> None:
        self.config = config
        self.journal = journal
        self.metrics = metrics
        self.executor = executor
        self.on_retry = on_retry or (lambda inbox, delay: None)
        #: where suspects run alone (the local executor; a Ray actor is a process of its own already)
        self.isolated = isolated
        self._slots = itertools.count()

    # -- claim and read ---------------------------------------------------------------------
    def _take(self, job: Job) -> Job | None:
        """Claim the entry (fresh from the journal); quarantine it when its worker died too often."""
        if not self.journal.claim(job.entry.id):
            return None  # already taken (queued twice) or finished
        entry = self.journal.entry(job.entry.id) or job.entry
        job = replace(job, entry=entry)
        if entry.attempts >= self.config.max_attempts:
            message = (
                f"{display_name(entry.path)}: its worker died {entry.attempts} times while it was compressed "
                "alone; set aside so that it cannot stop the service"
            )
            self.quarantine(job, message, Reason.WORKER_CRASHED)
            return None
        return job

    def _open(self, job: Job) -> _Opened | None:
        """Claim the job and read its file, or None when it is skipped, waiting or quarantined.
        A symlink or FIFO swapped in is not followed."""
        taken = self._take(job)
        if taken is None:
            return None
        job = taken
        t0 = time.perf_counter()
        try:
            data = read_regular(job.entry.path)
            st = job.entry.path.stat()
        except FocuspressError as exc:
            if not job.entry.path.exists() and not job.entry.path.is_symlink():
                message = f"{display_name(job.entry.path)}: vanished before it was read (moved or deleted meanwhile)"
                self.quarantine(job, message, Reason.VANISHED)
            else:
                self.quarantine(job, str(exc), exc.reason)
            return None
        except OSError:
            message = f"{display_name(job.entry.path)}: vanished before it was read (moved or deleted meanwhile)"
            self.quarantine(job, message, Reason.VANISHED)
            return None
        read_ms = (time.perf_counter() - t0) * 1000.0
        return _Opened(job, data, len(data), st.st_mtime_ns, read_ms, t0)

    # -- the batch --------------------------------------------------------------------------
    def process_batch(self, jobs: list[Job]) -> None:
        opened = [item for job in jobs if (item := self._open(job)) is not None]
        if not opened:
            return
        suspects = [item for item in opened if item.job.entry.interrupted and self.isolated is not None]
        regular = [item for item in opened if item not in suspects]
        for item in suspects:
            self._run_alone(item)
        if not regular:
            return
        items = [self._work(item) for item in regular]
        try:
            outcomes = self.executor.run_batch(items, next(self._slots))
        except WorkerLost as exc:
            for item in regular:
                self.worker_lost(item.job, str(exc))
            return
        except Exception as exc:  # the executor itself failed (cluster unreachable): wait, do not blame photos
            log.exception("executor failed on %d file(s)", len(regular))
            for item in regular:
                self.worker_lost(item.job, f"executor failed: {type(exc).__name__}: {exc}")
            return
        for item, outcome in zip(regular, outcomes):
            self._finish(item, outcome)

    def _work(self, item: _Opened) -> Work:
        return Work(item.data, display_name(item.job.entry.path.name), item.job.inbox.compress)

    def _run_alone(self, item: _Opened) -> None:
        assert self.isolated is not None
        log.info(
            "%s was in flight when the daemon stopped uncleanly: compressing it alone, in a process of its own",
            display_name(item.job.entry.path),
        )
        try:
            outcome = self.isolated.run(self._work(item))
        except WorkerLost as exc:
            self.worker_lost(item.job, str(exc))
            return
        self._finish(item, outcome)

    def _finish(self, item: _Opened, outcome: Outcome) -> None:
        job = item.job
        if outcome.result is None:
            assert outcome.refusal is not None
            reason = outcome.refusal.reason
            if reason in INCOMPLETE_LOOKING and self._still_arriving(item):
                self.wait_for_upload(item, outcome.refusal.message)
            elif reason in SET_ASIDE_REASONS:
                self.set_aside(job, outcome.refusal.message, reason, warnings=outcome.warnings)
            else:
                self.quarantine(job, outcome.refusal.message, reason, warnings=outcome.warnings)
            return
        outcome.result.timings_ms["read"] = item.read_ms
        for stage, ms in outcome.result.timings_ms.items():
            self.metrics.stage_seconds.labels(stage).observe(ms / 1000.0)
        self.commit(item, outcome)

    def _still_arriving(self, item: _Opened) -> bool:
        """Changed within the upload grace (the clock is the file's own mtime)."""
        return time.time() - item.mtime_ns / 1e9 < self.config.upload_grace_seconds

    # -- outcomes ---------------------------------------------------------------------------
    def wait_for_upload(self, item: _Opened, message: str) -> None:
        """A file that does not decode yet and changed lately: wait for the rest of it.

        It is tried again as soon as it changes (its row follows it) or, if it never does, once
        the grace has passed since its last change: then a failure is final."""
        job = item.job
        due = item.mtime_ns / 1e9 + self.config.upload_grace_seconds - time.time()
        self.journal.retry_later(job.entry.id, message, max(self.config.settle_seconds, due) + 0.5)
        self.metrics.uploads_waiting.labels(job.inbox.name).inc()
        log.info(
            "%s does not decode yet but changed %.0f s ago: waiting for the rest of the upload (%s)",
            display_name(job.entry.path),
            time.time() - item.mtime_ns / 1e9,
            message,
        )

    def commit(self, item: _Opened, outcome: Outcome) -> None:
        """Write the output durably, then journal, then the original: the order that loses nothing."""
        job = item.job
        inbox, entry = job.inbox, job.entry
        result = outcome.result
        assert result is not None
        if self._changed_since_read(item):
            # the file changed while it was being compressed: what was read is not what is there
            self.journal.retry_later(entry.id, "changed while it was being compressed", self.config.settle_seconds)
            return
        t3 = time.perf_counter()
        try:
            target = self._write_output(entry, output_name(inbox, entry.path), result.data)
        except OutputError as exc:
            if exc.transient:
                self.defer(job, str(exc), exc.reason)
            else:
                self.quarantine(job, str(exc), exc.reason)
            return
        self.journal.set_state(entry.id, "written")
        self.metrics.stage_seconds.labels("write").observe(time.perf_counter() - t3)
        # Counted once the output is durable, before the original moves: whoever sees the
        # original archived also sees the file counted.
        self.metrics.record_output(inbox.name, result.outcome, entry.size, len(result.data), result.scores)
        self.metrics.latency_seconds.observe(max(0.0, time.time() - entry.seen_at))
        self.dispose_original(entry, inbox)
        if entry.interrupted:
            self.journal.cleared(entry.id)
        extra: dict[str, object] = {"output": display_name(target), "route": result.route}
        extra["quality"] = round(result.quality, 1)
        extra.update(score_fields(result))
        if outcome.warnings:
            extra["warnings"] = list(outcome.warnings)
        self._log(
            inbox.name,
            entry.path.name,
            result.outcome,
            entry.size,
            len(result.data),
            (time.perf_counter() - item.t0) * 1000,
            **extra,
        )

    def _changed_since_read(self, item: _Opened) -> bool:
        try:
            st = item.job.entry.path.stat()
        except OSError:
            return False  # gone since (moved by the uploader): what was read is complete and is written
        return (st.st_size, st.st_mtime_ns) != (item.size, item.mtime_ns)

    def _write_output(self, entry: Entry, preferred: Path, data: bytes) -> Path:
        """Write ``data`` under this entry's reserved name (or the next free one), never replacing a file.

        A retry after a crash finds its own earlier output by the digest the journal recorded
        before that write, and keeps it; any other file under a name is never touched."""
        digest = hashlib.sha256(data).digest()
        reserved = entry.output
        if reserved is not None and os.path.lexists(reserved):
            if entry.output_sha256 is not None and _sha256(reserved) in (entry.output_sha256, digest):
                return reserved  # written by an earlier attempt of this very entry
            reserved = None  # another file took the name meanwhile: never replaced
        refused: set[Path] = set()

        def taken(path: Path) -> bool:
            return path in refused or os.path.lexists(path) or self.journal.output_reserved(path, entry.id)

        candidate = reserved
        for _ in range(1000):
            if candidate is None:
                candidate = unique_path(preferred, taken)
            if not self.journal.set_output(entry.id, candidate, digest):
                refused.add(candidate)  # another entry reserved it a moment ago
                candidate = None
                continue
            try:
                return atomic_write(candidate, data, replace=False)
            except FileExistsError:
                refused.add(candidate)
                candidate = None
        raise OutputError(f"{display_name(preferred)}: no free output name", reason=Reason.OUTPUT)

    def defer(self, job: Job, message: str, reason: Reason) -> None:
        """The outbox failed (full, read-only): keep the file pending and pause its inbox."""
        inbox = job.inbox
        self.journal.retry_later(job.entry.id, message, self.config.retry_seconds)
        self.metrics.output_errors.labels(inbox.name, str(reason)).inc()
        self.metrics.inbox_paused.labels(inbox.name).set(1)
        log.warning("output failed, %s waits %.0f s and is retried: %s", inbox.name, self.config.retry_seconds, message)
        self._log(
            inbox.name, job.entry.path.name, "deferred", job.entry.size, 0, 0.0, reason=str(reason), error=message
        )
        self.on_retry(inbox.name, self.config.retry_seconds)

    def worker_lost(self, job: Job, message: str) -> None:
        """A worker died under this photo: back to pending, the attempt counted, retried after a pause."""
        delay = min(BACKOFF_SECONDS[1], BACKOFF_SECONDS[0] * 2**job.entry.attempts)
        self.journal.retry_later(job.entry.id, message, delay, attempt=True)
        self.metrics.worker_lost.inc()
        log.warning("worker lost on %s; it will be retried in %.0f s: %s", display_name(job.entry.path), delay, message)
        self.on_retry(None, delay)

    def failed(self, jobs: list[Job], exc: BaseException) -> None:
        """A bug of ours stopped a batch: every entry it left in ``processing`` goes back, with a backoff,
        and after ``max_attempts`` such failures it is set aside (reason ``internal``)."""
        for job in jobs:
            current = self.journal.entry(job.entry.id)
            if current is None or current.state != "processing":
                continue
            message = f"{display_name(job.entry.path)}: internal error: {type(exc).__name__}: {exc}"
            if current.attempts + 1 >= self.config.max_attempts:
                self.set_aside(replace(job, entry=current), message, Reason.INTERNAL)
                continue
            delay = min(BACKOFF_SECONDS[1], BACKOFF_SECONDS[0] * 2**current.attempts)
            self.journal.retry_later(job.entry.id, message, delay, attempt=True)
            self.on_retry(None, delay)

    def dispose_original(self, entry: Entry, inbox: InboxConfig) -> None:
        """Archive/delete/keep the original; only ever called once its output is durable.

        The archive keeps the inbox's subfolders, as the outbox does."""
        try:
            if inbox.originals == "delete":
                entry.path.unlink(missing_ok=True)
                fsync_dir(entry.path.parent)
            elif inbox.originals == "archive" and entry.path.exists():
                assert inbox.archive is not None
                _move_durably(entry.path, inbox.archive / relative_to_inbox(inbox, entry.path).parent)
        except OSError as exc:
            log.warning("could not %s original %s: %s", inbox.originals, display_name(entry.path), exc)
        self.journal.set_state(entry.id, "done")

    def quarantine(self, job: Job, message: str, reason: Reason, *, warnings: tuple[str, ...] = ()) -> None:
        """Move the file aside (keeping its subfolder) with ``<name>.error.txt``; journal and count it once."""
        inbox, entry = job.inbox, job.entry
        self.metrics.files_failed.labels(inbox.name).inc()
        try:
            if entry.path.exists():
                folder = inbox.quarantine_dir / relative_to_inbox(inbox, entry.path).parent
                moved = _move_durably(entry.path, folder)
                note = moved.with_name(fit_name(moved.name, ".error.txt"))
                text = f"{display_name(entry.path)}\n{reason}: {message}\n"
                atomic_write(note, text.encode("utf-8", "backslashreplace"))
        except (OSError, FocuspressError) as exc:
            message = f"{message}; could not move to quarantine: {exc}"
        self.journal.set_state(entry.id, "quarantined", reason=str(reason), error=message)
        self.metrics.files_quarantined.labels(inbox.name, str(reason)).inc()
        extra: dict[str, object] = {"reason": str(reason), "error": message}
        if warnings:
            extra["warnings"] = list(warnings)
        self._log(inbox.name, entry.path.name, "quarantined", entry.size, 0, 0.0, **extra)

    def set_aside(self, job: Job, message: str, reason: Reason, *, warnings: tuple[str, ...] = ()) -> None:
        """A bug of ours met this photo: leave the original where it is, journal it ``set_aside`` with
        this version (another version tries it again), count it and log it as a warning."""
        from focuspress import __version__

        inbox, entry = job.inbox, job.entry
        self.metrics.files_failed.labels(inbox.name).inc()
        self.journal.set_state(entry.id, "set_aside", reason=str(reason), error=message, version=__version__)
        self.metrics.files_set_aside.labels(inbox.name, str(reason)).inc()
        extra: dict[str, object] = {"reason": str(reason), "error": message, "version": __version__}
        if warnings:
            extra["warnings"] = list(warnings)
        self._log(inbox.name, entry.path.name, "set_aside", entry.size, 0, 0.0, **extra)

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
        level = logging.WARNING if outcome in ("quarantined", "set_aside") else logging.INFO
        event(log, level, f"{record['file']}: {outcome}", **record)


class WorkerPool:
    """``workers`` threads draining a bounded queue; it knows which entries it holds (queued or running)."""

    def __init__(self, processor: Processor, workers: int, queue_size: int, batch_size: int, metrics: DaemonMetrics):
        self.processor = processor
        self.batch_size = batch_size
        self.metrics = metrics
        self.queue: queue.Queue[Job | None] = queue.Queue(maxsize=queue_size)
        self._held: set[int] = set()
        self._held_lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, name=f"worker-{i}", daemon=True) for i in range(workers)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def room(self) -> int:
        return max(0, self.queue.maxsize - self.queue.qsize())

    def held(self) -> set[int]:
        """Entry ids queued or in flight here (the feeder skips them; the stuck sweep spares them)."""
        with self._held_lock:
            return set(self._held)

    def put(self, job: Job) -> bool:
        with self._held_lock:
            if job.entry.id in self._held:
                return True
            self._held.add(job.entry.id)
        try:
            self.queue.put_nowait(job)
        except queue.Full:
            self._release([job])
            return False
        self.metrics.queue_depth.set(self.queue.qsize())
        return True

    def _release(self, jobs: list[Job]) -> None:
        with self._held_lock:
            for job in jobs:
                self._held.discard(job.entry.id)

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
            except JournalError as exc:
                # the journal's disk failed: the entries stay as the journal has them; the stuck
                # sweep puts back any left in processing once the journal writes again
                log.error("journal write failed during a batch (the files are retried): %s", exc)
            except Exception as exc:
                log.exception("worker failed on a batch; its files are put back and retried")
                try:
                    self.processor.failed(batch, exc)
                except Exception:
                    log.exception("could not put the batch back (the stuck sweep will)")
            finally:
                self.metrics.in_flight.dec(len(batch))
                self._release(batch)

    def stop(self, timeout: float) -> bool:
        """Finish in-flight work (up to ``timeout``); queued jobs stay ``pending`` in the journal.

        True when every worker finished in time.
        """
        deadline = time.monotonic() + timeout
        dropped = []
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                dropped.append(item)
        self._release(dropped)
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
