"""The journal: a SQLite record of every file's state, so nothing is lost or done twice.

States, in order: ``pending`` (seen, settled, waiting for a worker; ``not_before`` may hold it
back, e.g. an upload that paused) -> ``processing`` (a worker took it) -> ``written`` (output
durable in the outbox) -> ``done`` (original kept, archived or deleted). Side exits:
``quarantined`` (bad file moved aside with a reason code and a message) and ``set_aside`` (a bug
of ours met the photo: the original stays in its inbox untouched, and the row keeps the
``version`` of focuspress that failed on it; :meth:`Journal.recover` makes it ``pending`` again
under any other version, so an upgrade that fixes the bug finishes the photo).

Identity: one file, one row. While a row is open (pending, processing, written) its path
is that row's: a file that grows or changes meanwhile updates the row's size and mtime instead
of making a new one. Once a row is finished, the same path with a different size or mtime is a
new upload under an old name: new work, a new row (and a new output name).

Crash rules, applied at start by :meth:`Journal.recover`: ``processing`` goes back to
``pending`` and the interruption is counted on the row (``interrupted``), not as an attempt of
the photo: the daemon's death is not the photo's fault, but the next run retries it isolated,
so a photo that really kills its worker is proven guilty before it is quarantined
(``attempts`` counts only such proven deaths). ``written`` resumes at the originals step.

Durability and safety: WAL mode with ``synchronous=FULL`` (a committed transition survives a
power cut) and ``locking_mode=EXCLUSIVE``: the WAL index lives in the daemon's memory instead of
a memory-mapped ``-shm`` file (a full or immutable disk under an mmap ends the process with
SIGBUS; under exclusive mode it is an I/O error the daemon reports), and a second daemon on the
same journal is refused instead of racing the first. The file is checked at open
(``PRAGMA quick_check``); a damaged one is refused with a one-line way out.

File names are stored as their exact bytes (BLOB), because a name need not be UTF-8 (an FTP
upload in Latin-1) and SQLite's text columns take only UTF-8. Older journals are migrated in
place at open (version 0: names as TEXT; version 1: one row per (path, size, mtime)).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from focuspress.engine.errors import FocuspressError
from focuspress.engine.io.names import display_name, from_bytes, safe_text, to_bytes

STATES = ("pending", "processing", "written", "done", "quarantined", "set_aside")
OPEN_STATES = ("pending", "processing", "written")

_TABLE = """
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    inbox TEXT NOT NULL,
    path BLOB NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    state TEXT NOT NULL,
    output BLOB,
    output_sha256 BLOB,
    attempts INTEGER NOT NULL DEFAULT 0,
    interrupted INTEGER NOT NULL DEFAULT 0,
    not_before REAL,
    reason TEXT,
    error TEXT,
    seen_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    version TEXT
)"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS files_state ON files (state, id);
CREATE INDEX IF NOT EXISTS files_path ON files (path, id);
CREATE UNIQUE INDEX IF NOT EXISTS files_output ON files (output) WHERE output IS NOT NULL;
"""
#: 1: names as BLOB; 2: one row per file identity (no (path, size, mtime) key), attempts vs interruptions;
#: 3: ``version`` (of focuspress, on rows set aside).
SCHEMA_VERSION = 3


class JournalError(FocuspressError):
    """The journal cannot be opened or written: damaged, not a database, in use, or its disk failed.

    ``transient``: a write failed for a reason that may clear (disk full, I/O error); the work
    stays where it was and is retried.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


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
    interrupted: int = 0
    output_sha256: bytes | None = None


class Journal:
    """Thread-safe wrapper over one SQLite connection (the daemon's writes are few and small).

    ``on_error(operation)`` is told about every failed write (the daemon counts them in a metric).
    """

    def __init__(self, path: Path, on_error: Callable[[str], None] | None = None) -> None:
        self.path = Path(path)
        self.on_error = on_error or (lambda operation: None)
        self._lock = threading.Lock()
        existed = self.path.exists() and self.path.stat().st_size > 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._check()
            self._db.execute(_TABLE)
            self._migrate()
            self._db.executescript(_INDEXES)
            rows = self._db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
        except sqlite3.DatabaseError as exc:  # OperationalError (locked, I/O) included
            raise JournalError(_open_problem(self.path, exc)) from None
        except OSError as exc:
            raise JournalError(f"journal {display_name(self.path)}: cannot open ({exc.strerror or exc})") from None
        #: the journal had no rows at open (new, or emptied): the outboxes are then the only record
        self.fresh = rows == 0
        self.created = not existed

    def _check(self) -> None:
        result = self._db.execute("PRAGMA quick_check").fetchall()
        if [row[0] for row in result] != ["ok"]:
            detail = " ".join("; ".join(str(row[0]) for row in result[:3]).split())[:300]
            raise sqlite3.DatabaseError(f"quick_check: {detail}")

    def _migrate(self) -> None:
        """Bring an older journal to :data:`SCHEMA_VERSION` in one transaction."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version >= SCHEMA_VERSION:
            return
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(files)")}
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if "interrupted" not in columns:  # versions 0 and 1: rebuild without the (path, size, mtime) key
                self._db.execute(_TABLE.replace("CREATE TABLE IF NOT EXISTS files", "CREATE TABLE files_v2"))
                self._db.execute(
                    "INSERT INTO files_v2 (id, inbox, path, size, mtime_ns, state, output, attempts, error, "
                    "seen_at, updated_at) SELECT id, inbox, CAST(path AS BLOB), size, mtime_ns, state, "
                    "CAST(output AS BLOB), attempts, error, seen_at, updated_at FROM files"
                )
                self._db.execute("DROP TABLE files")
                self._db.execute("ALTER TABLE files_v2 RENAME TO files")
            elif "version" not in columns:  # version 2
                self._db.execute("ALTER TABLE files ADD COLUMN version TEXT")
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock:
            try:
                self._db.close()
            except sqlite3.Error:
                pass

    # -- low level -----------------------------------------------------------------------
    @contextmanager
    def _write(self, operation: str) -> Iterator[sqlite3.Connection]:
        """One write transaction; a failure is reported as what it is (not as a failed rollback)."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    try:
                        self._db.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                if not isinstance(exc, sqlite3.IntegrityError):  # a name another row holds: not a failure
                    self.on_error(operation)
                raise JournalError(
                    f"journal {display_name(self.path)}: a write failed ({operation}: {exc})", transient=True
                ) from None

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                self.on_error("read")
                raise JournalError(f"journal {display_name(self.path)}: cannot read ({exc})", transient=True) from None

    _COLUMNS = "id, inbox, path, size, mtime_ns, state, output, attempts, seen_at, interrupted, output_sha256"

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
            interrupted=row[9],
            output_sha256=row[10],
        )

    # -- queries ----------------------------------------------------------------------------
    def known(self, path: Path, size: int, mtime_ns: int) -> bool:
        """Nothing new at ``path``: its newest row is open, or finished with this very size and mtime."""
        rows = self._read(
            "SELECT state, size, mtime_ns FROM files WHERE path=? ORDER BY id DESC LIMIT 1", (to_bytes(path),)
        )
        if not rows:
            return False
        state, known_size, known_mtime = rows[0]
        return state in OPEN_STATES or (known_size, known_mtime) == (size, mtime_ns)

    def latest(self, path: Path) -> Entry | None:
        """The newest row ``path`` has (its current one while a file is open)."""
        rows = self._read(f"SELECT {self._COLUMNS} FROM files WHERE path=? ORDER BY id DESC LIMIT 1", (to_bytes(path),))
        return self._row(rows[0]) if rows else None

    def entry(self, entry_id: int) -> Entry | None:
        rows = self._read(f"SELECT {self._COLUMNS} FROM files WHERE id=?", (entry_id,))
        return self._row(rows[0]) if rows else None

    def for_path(self, path: Path) -> list[Entry]:
        """Every row a path has had, oldest first (tests and the operator's questions)."""
        rows = self._read(f"SELECT {self._COLUMNS} FROM files WHERE path=? ORDER BY id", (to_bytes(path),))
        return [self._row(row) for row in rows]

    def counts_by_inbox(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for inbox, state, count in self._read("SELECT inbox, state, COUNT(*) FROM files GROUP BY inbox, state"):
            out.setdefault(inbox, {})[state] = count
        return out

    def counts(self) -> dict[str, int]:
        return {state: count for state, count in self._read("SELECT state, COUNT(*) FROM files GROUP BY state")}

    def in_state(self, *states: str) -> list[Entry]:
        marks = ",".join("?" for _ in states)
        rows = self._read(f"SELECT {self._COLUMNS} FROM files WHERE state IN ({marks}) ORDER BY id", states)
        return [self._row(row) for row in rows]

    def pending_due(self, limit: int, *, exclude: set[int] | frozenset[int] = frozenset(), now: float | None = None):
        """Pending entries whose ``not_before`` has passed, oldest first, skipping the ``exclude`` ids
        (those already queued or in flight)."""
        now = time.time() if now is None else now
        rows = self._read(
            f"SELECT {self._COLUMNS} FROM files WHERE state='pending' AND (not_before IS NULL OR not_before<=?) "
            "ORDER BY id LIMIT ?",
            (now, limit + len(exclude)),
        )
        return [entry for entry in (self._row(row) for row in rows) if entry.id not in exclude][:limit]

    def oldest_open(self) -> dict[str, float]:
        """Per inbox: when its oldest unfinished file was first seen (unix time)."""
        rows = self._read(
            "SELECT inbox, MIN(seen_at) FROM files WHERE state IN ('pending','processing') GROUP BY inbox"
        )
        return {inbox: seen for inbox, seen in rows if seen is not None}

    # -- transitions ------------------------------------------------------------------------
    def add_many(self, items: list[tuple[str, Path, int, int, float]]) -> int:
        """Record settled files in one transaction (a burst costs one fsync, not thousands).

        ``items`` are (inbox, path, size, mtime_ns, seen_at). A path with an open row updates that
        row when its size or mtime changed (a pending one is then due at once); a finished row
        with the same size and mtime means nothing new. Returns how many rows were added.
        """
        if not items:
            return 0
        now = time.time()
        added = 0
        with self._write("record") as db:
            for inbox, path, size, mtime, seen in items:
                name = to_bytes(path)
                row = db.execute(
                    "SELECT id, state, size, mtime_ns FROM files WHERE path=? ORDER BY id DESC LIMIT 1", (name,)
                ).fetchone()
                if row is not None:
                    row_id, state, known_size, known_mtime = row
                    if (known_size, known_mtime) == (size, mtime):
                        continue
                    if state in OPEN_STATES:
                        # the same file, still arriving or changed: its row follows it (one file, one row)
                        db.execute(
                            "UPDATE files SET size=?, mtime_ns=?, not_before=NULL, updated_at=? WHERE id=?",
                            (size, mtime, now, row_id),
                        )
                        continue
                db.execute(
                    "INSERT INTO files (inbox, path, size, mtime_ns, state, seen_at, updated_at) "
                    "VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                    (inbox, name, size, mtime, seen, now),
                )
                added += 1
        return added

    def claim(self, entry_id: int) -> bool:
        """Take a pending entry for processing; False if it is no longer pending (a compare-and-set,
        so an entry queued twice runs once)."""
        with self._write("claim") as db:
            cursor = db.execute(
                "UPDATE files SET state='processing', updated_at=? WHERE id=? AND state='pending'",
                (time.time(), entry_id),
            )
        return cursor.rowcount == 1

    def output_reserved(self, output: Path, entry_id: int) -> bool:
        """Whether another entry holds ``output`` as its output name."""
        rows = self._read("SELECT 1 FROM files WHERE output=? AND id<>? LIMIT 1", (to_bytes(output), entry_id))
        return bool(rows)

    def set_output(self, entry_id: int, output: Path, sha256: bytes) -> bool:
        """Reserve ``output`` for this entry with the digest of what is about to be written there: a
        retry after a crash recognises its own file by it (and never takes another photo's file for
        its own). False when another entry holds the name."""
        try:
            with self._write("output") as db:
                db.execute(
                    "UPDATE files SET output=?, output_sha256=?, updated_at=? WHERE id=?",
                    (to_bytes(output), sha256, time.time(), entry_id),
                )
        except JournalError:
            if self.output_reserved(output, entry_id):
                return False
            raise
        return True

    def set_state(
        self,
        entry_id: int,
        state: str,
        *,
        reason: str | None = None,
        error: str | None = None,
        version: str | None = None,
    ) -> None:
        assert state in STATES, state
        with self._write("state") as db:
            db.execute(
                "UPDATE files SET state=?, reason=COALESCE(?, reason), error=COALESCE(?, error), not_before=NULL, "
                "version=COALESCE(?, version), updated_at=? WHERE id=?",
                (state, reason, None if error is None else safe_text(error), version, time.time(), entry_id),
            )

    def retry_later(self, entry_id: int, reason: str, delay: float, *, attempt: bool = False) -> None:
        """Back to ``pending``, due after ``delay`` seconds: a failure that was not the file's fault
        (outbox full, a paused upload, a worker's error). ``attempt``: a worker died under it."""
        with self._write("state") as db:
            db.execute(
                "UPDATE files SET state='pending', error=?, not_before=?, updated_at=?, attempts=attempts+? WHERE id=?",
                (safe_text(reason), time.time() + delay, time.time(), 1 if attempt else 0, entry_id),
            )

    def cleared(self, entry_id: int) -> None:
        """The photo finished after an interruption: it is no longer a suspect."""
        with self._write("state") as db:
            db.execute("UPDATE files SET interrupted=0 WHERE id=?", (entry_id,))

    def recover(self) -> int:
        """After a crash: work that was in flight is pending again, its interruption counted (not its
        attempts). Returns how many."""
        with self._write("recover") as db:
            cursor = db.execute(
                "UPDATE files SET state='pending', interrupted=interrupted+1, not_before=NULL, updated_at=? "
                "WHERE state='processing'",
                (time.time(),),
            )
        return cursor.rowcount

    def retry_set_aside(self, version: str) -> int:
        """Rows set aside by a focuspress other than ``version`` (an upgrade may have fixed the bug they
        met) are pending again, their attempts cleared. Returns how many."""
        with self._write("recover") as db:
            cursor = db.execute(
                "UPDATE files SET state='pending', attempts=0, not_before=NULL, updated_at=? "
                "WHERE state='set_aside' AND (version IS NULL OR version<>?)",
                (time.time(), version),
            )
        return cursor.rowcount

    def release_stuck(self, in_flight: set[int], older_than: float) -> list[int]:
        """Entries left in ``processing`` that no worker holds (a failed state change): back to pending."""
        cutoff = time.time() - older_than
        rows = self._read("SELECT id FROM files WHERE state='processing' AND updated_at<?", (cutoff,))
        stuck = [row[0] for row in rows if row[0] not in in_flight]
        if stuck:
            with self._write("state") as db:
                db.executemany(
                    "UPDATE files SET state='pending', not_before=NULL, updated_at=? WHERE id=? AND state='processing'",
                    [(time.time(), entry_id) for entry_id in stuck],
                )
        return stuck


def _open_problem(path: Path, exc: sqlite3.DatabaseError) -> str:
    """The one line an operator needs when the journal cannot be used, with the way out. Told apart by
    SQLite's own error code (``sqlite_errorname``, Python 3.11+), not by its message; the message
    is the fallback only where the code is absent (our own quick_check failure, Python 3.10)."""
    name = display_name(path)
    text = str(exc)
    code = getattr(exc, "sqlite_errorname", None) or ""
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or (not code and "locked" in text):
        return (
            f"journal {name} is in use by another process (another focuspress daemon?): "
            "stop it, or give this one its own journal"
        )
    disk = ("SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_FULL", "SQLITE_PERM")
    if code.startswith(disk) or (not code and any(w in text for w in ("disk I/O", "readonly", "unable to open"))):
        return f"journal {name}: cannot open or write it ({text}): check the disk, its permissions and free space"
    return (
        f"journal {name} is damaged ({text}): move it aside (mv {name} {name}.damaged) and start again; "
        "the new journal re-reads the inboxes and never replaces a file already in an outbox"
    )
