"""The service under faults: each failure an operator's worst week found, reproduced and passing.

Pausing uploads (a real writer), a lost journal beside a full outbox, a damaged journal, a
journal that is not a database, a worker's unexpected failure, interrupted photos blamed only
when proven, stale temp files, journal write errors, recursive archive and quarantine folders,
and the watcher's event mask.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from focuspress.daemon.config import DaemonConfig
from focuspress.daemon.journal import Journal, JournalError
from focuspress.daemon.prometheus import DaemonMetrics
from focuspress.daemon.workers import Job, Processor
from focuspress.engine.errors import Reason
from focuspress.engine.executors.local import LocalExecutor
from tests.conftest import encode, synthetic_photo
from tests.corpus import as_unprivileged
from tests.daemon_harness import Daemon, wait_for, write_config


def _png(seed: int, size=(96, 128)) -> bytes:
    return encode(synthetic_photo(*size, seed=seed), "PNG")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _records(daemon: Daemon) -> list[dict]:
    import json

    out = []
    for line in daemon.log().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


# -- #18.1: uploads that pause ----------------------------------------------------------------------


def _slow_writer(path: Path, data: bytes, pauses: list[float]) -> threading.Thread:
    """A real uploader on a weak link: the file written in len(pauses)+1 chunks, pausing between them,
    closing it each time (as FTP and SMB servers append)."""
    chunks = len(pauses) + 1
    size = -(-len(data) // chunks)

    def write() -> None:
        for index in range(chunks):
            with open(path, "ab") as handle:
                handle.write(data[index * size : (index + 1) * size])
            if index < len(pauses):
                time.sleep(pauses[index])

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow
def test_uploads_that_pause_are_done_once_and_a_truncated_file_is_quarantined_once(tmp_path):
    config = write_config(tmp_path, settle_seconds=1.0, upload_grace_seconds=15, log_format="json")
    daemon = Daemon(config).start()
    try:
        inbox, outbox = tmp_path / "in0", tmp_path / "out0"
        slow = _png(1, (600, 800))
        writers = [
            _slow_writer(inbox / "pauses3s.png", slow, [3.0, 3.0, 3.0]),
            _slow_writer(inbox / "pauses10s.png", _png(2, (600, 800)), [10.0, 2.0]),
        ]
        (inbox / "truncated.png").write_bytes(_png(3, (600, 800))[:5000])  # never finished
        for writer in writers:
            writer.join(60)
        wait_for(lambda: sorted(p.name for p in outbox.glob("*.jpg")) == ["pauses10s.jpg", "pauses3s.jpg"], 90)
        quarantine = tmp_path / "quarantine0"
        wait_for(lambda: (quarantine / "truncated.png").exists(), 60, message=daemon.log())
        time.sleep(2)  # nothing more may happen to any of them
        status = daemon.status()
        assert status["inboxes"][0]["states"] == {"done": 2, "quarantined": 1}  # one row per file
        assert daemon.metric("focuspress_files_quarantined_total", 'inbox="cam0"') == 1
        assert daemon.metric("focuspress_uploads_waiting_total", 'inbox="cam0"') >= 2
        outcomes = [r for r in _records(daemon) if r.get("file") in ("pauses3s.png", "pauses10s.png")]
        assert {r["outcome"] for r in outcomes} == {"recompressed"} and len(outcomes) == 2
        assert (quarantine / "truncated.png").read_bytes() == _png(3, (600, 800))[:5000]
        assert daemon.stop() == 0
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()


def test_a_growing_file_keeps_one_journal_row(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    path = tmp_path / "photo.jpg"
    assert journal.add_many([("cam", path, 100, 1, 0.0)]) == 1
    entry = journal.latest(path)
    journal.claim(entry.id)
    journal.retry_later(entry.id, "does not decode yet", 60.0)
    assert journal.add_many([("cam", path, 500, 2, 0.0)]) == 0  # the same file, grown: its row follows it
    rows = journal.for_path(path)
    assert len(rows) == 1 and rows[0].size == 500 and rows[0].state == "pending"
    assert journal.pending_due(5) == [journal.entry(entry.id)]  # changed: due again at once
    journal.set_state(entry.id, "done")
    assert journal.add_many([("cam", path, 500, 2, 0.0)]) == 0  # done, unchanged: nothing new
    assert journal.add_many([("cam", path, 900, 3, 0.0)]) == 1  # a new upload under the old name
    journal.close()


# -- #20.1: the outbox on disk guards itself --------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["deleted", "truncated", "stale-wal"])
def test_a_lost_journal_never_replaces_another_photos_output(tmp_path, loss):
    config = write_config(tmp_path, log_format="json")
    inbox, outbox = tmp_path / "in0", tmp_path / "out0"
    daemon = Daemon(config).start()
    try:
        (inbox / "p0.png").write_bytes(_png(1))
        wait_for(lambda: (outbox / "p0.jpg").exists() and not (inbox / "p0.png").exists(), 60)
        first = _digest(outbox / "p0.jpg")
        assert daemon.stop() == 0
        journal = tmp_path / "state" / "journal.sqlite3"
        if loss == "deleted":
            journal.unlink()
        elif loss == "truncated":
            journal.write_bytes(b"")
        else:
            journal.with_name(journal.name + "-wal").write_bytes(os.urandom(4096))
            journal.unlink()
        (inbox / "p0.png").write_bytes(_png(2))  # a different photo under the done name
        daemon.start()
        wait_for(lambda: (outbox / "p0-1.jpg").exists(), 60, message=daemon.log())
        assert _digest(outbox / "p0.jpg") == first  # the first photo's output is untouched
        assert daemon.metric("focuspress_journal_fresh") == 1
        warnings = [
            r for r in _records(daemon) if r.get("level") == "warning" and "outboxes already hold" in r["message"]
        ]
        assert len(warnings) == 1
        assert daemon.stop() == 0
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()


def test_the_output_write_never_replaces_a_file(tmp_path):
    from focuspress.engine.io.write import atomic_write, write_new

    target = tmp_path / "p0.jpg"
    target.write_bytes(b"someone else's photo")
    with pytest.raises(FileExistsError):
        atomic_write(target, b"ours", replace=False)
    assert target.read_bytes() == b"someone else's photo" and not list(tmp_path.glob(".focuspress-*"))
    written = write_new(target, b"ours")
    assert written == tmp_path / "p0-1.jpg" and written.read_bytes() == b"ours"


def _processor(tmp_path: Path, executor=None, **overrides):
    config = DaemonConfig.model_validate(
        {
            "journal": str(tmp_path / "journal.sqlite3"),
            "saliency": "none",
            "inboxes": [
                {
                    "name": "cam",
                    "path": str(tmp_path / "in"),
                    "outbox": str(tmp_path / "out"),
                    "archive": str(tmp_path / "done"),
                    "quarantine": str(tmp_path / "q"),
                    "recursive": True,
                    "compress": {"quality": 70},
                }
            ],
            **overrides,
        }
    )
    (tmp_path / "in").mkdir(exist_ok=True)
    journal = Journal(config.journal)
    metrics = DaemonMetrics()
    metrics.initialize(["cam"])
    return config, journal, metrics, Processor(config, journal, metrics, executor or LocalExecutor("none"))


def _add(journal: Journal, path: Path):
    st = path.stat()
    journal.add_many([("cam", path, st.st_size, st.st_mtime_ns, time.time())])
    return journal.latest(path)


def test_a_crash_between_write_and_journal_keeps_its_own_output_once(tmp_path):
    """The output was linked, then the daemon died before journaling it: the retry recognises its own
    file by the digest recorded before the write, and a foreign file under the name is never taken."""
    config, journal, metrics, processor = _processor(tmp_path)
    source = tmp_path / "in" / "a.png"
    source.write_bytes(_png(4))
    entry = _add(journal, source)
    processor.process_batch([Job(entry, config.inboxes[0])])
    done = journal.entry(entry.id)
    assert done.state == "done" and (tmp_path / "out" / "a.jpg").exists()
    # replay the same entry from "processing" (as a crash after the link would leave it)
    (tmp_path / "done" / "a.png").rename(source)
    with journal._lock:
        journal._db.execute("UPDATE files SET state='pending' WHERE id=?", (entry.id,))
    processor.process_batch([Job(journal.entry(entry.id), config.inboxes[0])])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.jpg"]  # no a-1.jpg twin


# -- #20.3: nothing stays stuck -------------------------------------------------------------------


def _damage_an_index_page(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (k TEXT)")
    db.execute("CREATE INDEX t_k ON t (k)")
    db.executemany("INSERT INTO t VALUES (?)", [(f"{i:08d}" * 20,) for i in range(400)])
    db.commit()
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name='t_k'").fetchone()[0]
    db.close()
    with open(path, "r+b") as handle:
        handle.seek((root - 1) * page_size + 100)
        handle.write(os.urandom(2048))


def test_a_damaged_journal_is_refused_with_the_way_out(tmp_path):
    path = tmp_path / "journal.sqlite3"
    Journal(path).close()
    _damage_an_index_page(path)
    with pytest.raises(JournalError) as caught:
        Journal(path)
    message = str(caught.value)
    assert str(path) in message and "move it aside" in message and "\n" not in message


@pytest.mark.slow
@pytest.mark.parametrize("content", [b"this is not a database at all" * 100, None])
def test_the_daemon_refuses_a_journal_that_is_not_one_in_one_line(tmp_path, content):
    config = write_config(tmp_path)
    journal = tmp_path / "state" / "journal.sqlite3"
    journal.parent.mkdir(parents=True)
    if content is None:
        Journal(journal).close()
        _damage_an_index_page(journal)
    else:
        journal.write_bytes(content)
    proc = subprocess.run(
        [sys.executable, "-m", "focuspress", "daemon", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    problems = [line for line in lines if str(journal) in line]
    assert len(problems) == 1 and "move it aside" in problems[0]


def test_a_workers_unexpected_failure_is_retried_with_backoff_then_set_aside(tmp_path):
    from focuspress.daemon.workers import WorkerPool

    config, journal, metrics, processor = _processor(tmp_path, max_attempts=2)
    path = tmp_path / "in" / "x.png"
    path.write_bytes(_png(5))
    entry = _add(journal, path)
    pool = WorkerPool(processor, 1, 4, 1, metrics)
    processor.process_batch = _claim_then_fail(journal)  # a bug of ours in the middle of a batch
    pool.start()
    pool.put(Job(entry, config.inboxes[0]))
    wait_for(lambda: journal.entry(entry.id).state == "pending" and not pool.held(), 10)
    first = journal.entry(entry.id)
    assert first.attempts == 1  # retried, not left in processing
    with journal._lock:
        not_before = journal._db.execute("SELECT not_before FROM files WHERE id=?", (entry.id,)).fetchone()[0]
    assert not_before > time.time() + 2  # with a backoff
    pool.put(Job(first, config.inboxes[0]))
    wait_for(lambda: journal.entry(entry.id).state == "set_aside", 10)  # ours, not the photo's: set aside
    assert metrics.files_set_aside.labels("cam", str(Reason.INTERNAL))._value.get() == 1
    pool.stop(5)


def _claim_then_fail(journal: Journal):
    def run(jobs):
        for job in jobs:
            journal.claim(job.entry.id)
        raise RuntimeError("a bug of ours")

    return run


def test_entries_left_in_processing_are_put_back(tmp_path):
    journal = Journal(tmp_path / "j.sqlite3")
    path = tmp_path / "x.jpg"
    journal.add_many([("cam", path, 1, 1, 0.0)])
    entry = journal.latest(path)
    journal.claim(entry.id)
    assert journal.release_stuck({entry.id}, older_than=0.0) == []  # a worker holds it
    assert journal.release_stuck(set(), older_than=0.0) == [entry.id]
    assert journal.entry(entry.id).state == "pending"


# -- #20.4: a photo is blamed only for what it did --------------------------------------------------


def test_an_interruption_is_not_an_attempt_and_the_suspect_runs_alone(tmp_path):
    from focuspress.engine.executors.isolated import IsolatedExecutor

    config, journal, metrics, processor = _processor(tmp_path)
    processor.isolated = IsolatedExecutor("none")
    path = tmp_path / "in" / "big.png"
    path.write_bytes(_png(6))
    entry = _add(journal, path)
    for _ in range(3):  # three daemon kills while it was in flight
        journal.claim(entry.id)
        journal.recover()
    suspect = journal.entry(entry.id)
    assert suspect.attempts == 0 and suspect.interrupted == 3 and suspect.state == "pending"
    processor.process_batch([Job(suspect, config.inboxes[0])])
    assert journal.entry(entry.id).state == "done" and journal.entry(entry.id).interrupted == 0
    assert (tmp_path / "out" / "big.jpg").exists()


def test_a_photo_that_kills_its_isolated_worker_is_proven_guilty(tmp_path):
    from focuspress.engine.executors.isolated import IsolatedExecutor

    config, journal, metrics, processor = _processor(tmp_path, max_attempts=2)
    processor.isolated = IsolatedExecutor("none", target="tests.isolation_helpers:die")
    path = tmp_path / "in" / "poison.png"
    path.write_bytes(_png(7))
    entry = _add(journal, path)
    journal.claim(entry.id)
    journal.recover()  # in flight at an unclean stop: a suspect
    for _ in range(2):
        processor.process_batch([Job(journal.entry(entry.id), config.inboxes[0])])
    assert journal.entry(entry.id).attempts == 2
    processor.process_batch([Job(journal.entry(entry.id), config.inboxes[0])])
    assert journal.entry(entry.id).state == "quarantined"
    note = (tmp_path / "q" / "poison.png.error.txt").read_text()
    assert "worker_crashed" in note and "alone" in note


# -- #20.5, #20.6, #20.7, #20.8 ---------------------------------------------------------------------


@pytest.mark.slow
def test_stale_temp_files_are_removed_at_start(tmp_path):
    config = write_config(tmp_path)
    outbox = tmp_path / "out0"
    (outbox / "sub").mkdir(parents=True)
    stale = [outbox / ".focuspress-abc123.tmp", outbox / "sub" / ".focuspress-def456.tmp"]
    for path in stale:
        path.write_bytes(b"half a photo")
    keep = outbox / ".hidden-of-someone-else.tmp"
    keep.write_bytes(b"not ours")
    daemon = Daemon(config).start()
    try:
        assert not any(path.exists() for path in stale) and keep.exists()
        assert daemon.metric("focuspress_temp_files_removed_total") == 2
        assert daemon.stop() == 0
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()


def test_journal_write_errors_say_what_they_are_and_are_counted(tmp_path):
    failures = []
    journal = Journal(tmp_path / "j.sqlite3", on_error=failures.append)
    journal.add_many([("cam", tmp_path / "a.jpg", 1, 1, 0.0)])
    with journal._lock:  # the disk under the journal is full: no page can be added
        pages = journal._db.execute("PRAGMA page_count").fetchone()[0]
        journal._db.execute(f"PRAGMA max_page_count={pages}")
    with pytest.raises(JournalError) as caught:
        journal.add_many([("cam", tmp_path / f"{i}.jpg", 1, 1, 0.0) for i in range(2000)])
    assert "full" in str(caught.value) and "rollback" not in str(caught.value)
    assert failures == ["record"] and caught.value.transient
    journal.close()


@pytest.mark.slow
def test_an_immutable_journal_ends_sigterm_cleanly(tmp_path):
    import shutil

    if os.geteuid() != 0 or not shutil.which("chattr"):
        pytest.skip("needs root and chattr")
    config = write_config(tmp_path)
    daemon = Daemon(config).start()
    journal = tmp_path / "state" / "journal.sqlite3"
    files = [p for p in journal.parent.iterdir() if p.name.startswith(journal.name)]
    if subprocess.run(["chattr", "+i", *map(str, files)], capture_output=True).returncode != 0:
        daemon.kill()
        pytest.skip("this filesystem has no immutable attribute")
    try:
        (tmp_path / "in0" / "x.png").write_bytes(_png(8))
        time.sleep(3)
        code = daemon.stop()
        assert code >= 0, f"killed by signal {-code}"  # never SIGBUS (-7)
        assert "Traceback" not in daemon.log()
    finally:
        subprocess.run(["chattr", "-i", *map(str, files)], capture_output=True)
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()


def test_a_recursive_inbox_keeps_its_subfolders_in_archive_and_quarantine(tmp_path):
    config, journal, metrics, processor = _processor(tmp_path, upload_grace_seconds=0)
    inbox = tmp_path / "in"
    for sub in ("sub1", "sub2"):
        (inbox / sub).mkdir()
        (inbox / sub / "IMG_0001.png").write_bytes(_png(9))
        (inbox / sub / "IMG_0002.png").write_bytes(b"not an image")
    jobs = [Job(_add(journal, path), config.inboxes[0]) for path in sorted(inbox.rglob("*.png"))]
    processor.process_batch(jobs)
    for sub in ("sub1", "sub2"):
        assert (tmp_path / "done" / sub / "IMG_0001.png").exists()
        assert (tmp_path / "q" / sub / "IMG_0002.png").exists()
        assert (tmp_path / "q" / sub / "IMG_0002.png.error.txt").exists()
        assert (tmp_path / "out" / sub / "IMG_0001.jpg").exists()


# -- #20.2: the watcher asks only what it needs ----------------------------------------------------


def test_walking_a_watched_tree_makes_no_events(tmp_path):
    """Listing and opening folders (what an overflow's rescan does) must not feed the kernel queue."""
    from focuspress.daemon.config import InboxConfig
    from focuspress.daemon.watcher import InboxWatcher, Settler

    inbox = tmp_path / "in"
    for i in range(200):
        (inbox / f"d{i}" / "deeper").mkdir(parents=True)
    config = InboxConfig(name="cam", path=inbox, outbox=tmp_path / "out", originals="keep", recursive=True)
    events: list = []

    class Counting(Settler):
        def nominate(self, inbox, path):  # every file event the watcher passes on
            events.append(path)

    watcher = InboxWatcher([config], Counting(1.0))
    watcher.start()
    try:
        time.sleep(0.5)
        for _ in range(5):
            for directory, _dirs, files in os.walk(inbox):
                for name in files:
                    open(os.path.join(directory, name)).close()
                os.listdir(directory)
        time.sleep(1.0)
        assert events == []
        (inbox / "d7" / "deeper" / "new.jpg").write_bytes(b"x")  # a real upload still is seen
        wait_for(lambda: events, 5)
    finally:
        watcher.stop()


def test_an_overflow_record_becomes_one_rescan_signal():
    import logging

    from focuspress.daemon.watcher import OverflowSignal

    signal = OverflowSignal().install()
    try:
        logger = logging.getLogger("watchdog.observers.inotify_c")
        for _ in range(50):
            logger.warning("Inotify queue overflowed; filesystem events were lost")
        assert signal.take() is True and signal.take() is False  # a burst is one rescan
    finally:
        signal.remove()


# -- #18.4: --check-config never prints a traceback --------------------------------------------------


@pytest.mark.slow
def test_check_config_with_a_folder_the_user_cannot_search(tmp_path):
    locked = tmp_path / "locked"
    (locked / "inside").mkdir(parents=True)
    config = write_config(tmp_path)
    import yaml

    raw = yaml.safe_load(config.read_text())
    raw["inboxes"][0]["path"] = str(locked / "inside" / "inbox")
    config.write_text(yaml.safe_dump(raw))
    locked.chmod(0)
    try:
        proc = subprocess.run(
            as_unprivileged([sys.executable, "-m", "focuspress", "daemon", "--config", str(config), "--check-config"]),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        locked.chmod(0o755)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "cannot be checked" in proc.stdout + proc.stderr
