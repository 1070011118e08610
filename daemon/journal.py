"""The journal: a SQLite record of every file's state, so nothing is lost or done twice.

States, in order: ``pending`` (seen, settled, waiting) -> ``processing`` (a worker took it)
-> ``written`` (output durable in the outbox) -> ``done`` (original kept, archived or deleted).
Side exits: ``quarantined`` (bad file moved aside with a reason). A file's identity is its
path plus size and mtime, so a new upload under an old name is new work.

Crash rules, applied at start by :meth:`Journal.recover`: ``processing`` goes back to
``pending`` (the output is rewritten atomically, so a redo cannot leave a partial or second
file), ``written`` resumes at the originals step. WAL mode with ``synchronous=FULL``: a
committed transition survives a power cut.

File names are stored as their exact bytes (BLOB), because a name need not be UTF-8 (an FTP
upload in Latin-1) and SQLite's text columns take only UTF-8. Journals written before that
(``user_version`` 0, names as TEXT) are converted in place at open: a TEXT name's UTF-8 bytes
are the bytes the filesystem has, so no file is seen as new and done twice.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from focuspress.engine.io.names import from_bytes, safe_text, to_bytes, unique_path

STATES = ("pending", "processing", "written", "done", "quarantined")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    inbox TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    state TEXT NOT NULL,
    output TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    seen_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (path, size, mtime_ns)
);
CREATE INDEX IF NOT EXISTS files_state ON files (state);
CREATE UNIQUE INDEX IF NOT EXISTS files_output ON files (output) WHERE output IS NOT NULL;
"""
#: 1: ``path`` and ``output`` hold the name's bytes (BLOB) instead of text.
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Entry:
    id: int
    inbox: str
    path: Path
    size: int
    mtime_ns: int
    state: str
    output: Path | None
    attempts: int
    seen_at: float


class Journal:
    """Thread-safe wrapper over one SQLite connection (the daemon's writes are few and small)."""

    def __init__(self, path: Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._migrate()
        self._lock = threading.Lock()

    def _migrate(self) -> None:
        """Bring an older journal to :data:`SCHEMA_VERSION` in one transaction."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version >= SCHEMA_VERSION:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("UPDATE files SET path=CAST(path AS BLOB) WHERE typeof(path)='text'")
            self._db.execute("UPDATE files SET output=CAST(output AS BLOB) WHERE typeof(output)='text'")
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _row(self, row) -> Entry:
        return Entry(
            id=row[0],
            inbox=row[1],
            path=from_bytes(row[2]),
            size=row[3],
            mtime_ns=row[4],
            state=row[5],
            output=from_bytes(row[6]) if row[6] else None,
            attempts=row[7],
            seen_at=row[8],
        )

    _COLUMNS = "id, inbox, path, size, mtime_ns, state, output, attempts, seen_at"

    def known(self, path: Path, size: int, mtime_ns: int) -> Entry | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {self._COLUMNS} FROM files WHERE path=? AND size=? AND mtime_ns=?",
                (to_bytes(path), size, mtime_ns),
            ).fetchone()
        return self._row(row) if row else None

    def add_many(self, items: list[tuple[str, Path, int, int, float]]) -> int:
        """Record many settled files in one transaction (a burst costs one fsync, not thousands).

        ``items`` are (inbox, path, size, mtime_ns, seen_at); returns how many were new.
        """
        if not items:
            return 0
        now = time.time()
        with self._lock:
            before = self._db.total_changes
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    "INSERT OR IGNORE INTO files (inbox, path, size, mtime_ns, state, seen_at, updated_at) "
                    "VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                    [(inbox, to_bytes(path), size, mtime, seen, now) for inbox, path, size, mtime, seen in items],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return self._db.total_changes - before

    def claim_output(self, entry_id: int, preferred: Path) -> Path:
        """Reserve an outbox name for this entry: ``preferred``, or ``stem-N.jpg`` if another
        entry holds it (the same name rule as everywhere: :func:`focuspress.engine.io.names.unique_path`)."""
        with self._lock:
            row = self._db.execute("SELECT output FROM files WHERE id=?", (entry_id,)).fetchone()
            if row and row[0]:
                return from_bytes(row[0])

            def reserved(candidate: Path) -> bool:
                try:
                    self._db.execute("UPDATE files SET output=? WHERE id=?", (to_bytes(candidate), entry_id))
                except sqlite3.IntegrityError:
                    return True
                return False

            return unique_path(preferred, reserved)

    def set_state(self, entry_id: int, state: str, error: str | None = None, *, attempt: bool = False) -> None:
        assert state in STATES, state
        with self._lock:
            self._db.execute(
                "UPDATE files SET state=?, error=COALESCE(?, error), updated_at=?, attempts=attempts+? WHERE id=?",
                (state, None if error is None else safe_text(error), time.time(), 1 if attempt else 0, entry_id),
            )

    def claim(self, entry_id: int) -> bool:
        """Take a pending entry for processing (counts an attempt); False if it is no longer pending.

        The compare-and-set makes a job queued twice (after a rewind of the feeder) run once.
        """
        with self._lock:
            cursor = self._db.execute(
                "UPDATE files SET state='processing', attempts=attempts+1, updated_at=? WHERE id=? AND state='pending'",
                (time.time(), entry_id),
            )
        return cursor.rowcount == 1

    def retry_later(self, entry_id: int, reason: str, *, count_attempt: bool) -> None:
        """Back to ``pending`` after a failure that was not the file's fault (outbox full, worker lost).

        ``count_attempt=False`` gives the attempt back: a full disk must not use up a photo's retries,
        while a worker that dies under the same photo again and again should.
        """
        with self._lock:
            self._db.execute(
                "UPDATE files SET state='pending', error=?, updated_at=?, attempts=attempts-? WHERE id=?",
                (safe_text(reason), time.time(), 0 if count_attempt else 1, entry_id),
            )

    def entry(self, entry_id: int) -> Entry | None:
        with self._lock:
            row = self._db.execute(f"SELECT {self._COLUMNS} FROM files WHERE id=?", (entry_id,)).fetchone()
        return self._row(row) if row else None

    def counts_by_inbox(self) -> dict[str, dict[str, int]]:
        with self._lock:
            rows = self._db.execute("SELECT inbox, state, COUNT(*) FROM files GROUP BY inbox, state").fetchall()
        out: dict[str, dict[str, int]] = {}
        for inbox, state, count in rows:
            out.setdefault(inbox, {})[state] = count
        return out

    def in_state(self, *states: str) -> list[Entry]:
        marks = ",".join("?" for _ in states)
        with self._lock:
            rows = self._db.execute(
                f"SELECT {self._COLUMNS} FROM files WHERE state IN ({marks}) ORDER BY id", states
            ).fetchall()
        return [self._row(row) for row in rows]

    def pending_after(self, last_id: int, limit: int) -> list[Entry]:
        """Pending entries with id > ``last_id``, oldest first (the feeder's cursor)."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {self._COLUMNS} FROM files WHERE state='pending' AND id>? ORDER BY id LIMIT ?",
                (last_id, limit),
            ).fetchall()
        return [self._row(row) for row in rows]

    def recover(self) -> int:
        """After a crash: work that was in flight is pending again. Returns how many."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE files SET state='pending', updated_at=? WHERE state='processing'", (time.time(),)
            )
        return cursor.rowcount

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM files GROUP BY state").fetchall()
        return {state: count for state, count in rows}
