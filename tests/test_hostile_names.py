"""Any name the filesystem allows, and any kind of file, through the real daemon.

The crash this guards against: a photo named with Latin-1 bytes (``cam\\xe9ra.png``, as FTP
uploads from cameras produce) killed the daemon at the journal, and again at every restart.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from pathlib import Path

import pytest

from focuspress.daemon.journal import Journal
from tests.conftest import encode, synthetic_photo
from tests.daemon_harness import Daemon, wait_for, write_config

PNG = encode(synthetic_photo(48, 64, seed=5))
TEXT = b"this is not an image\n"

# name (bytes) -> what it holds; all must end done (photos) or quarantined (text)
PHOTOS = {
    b"cam\xe9ra.png": PNG,  # Latin-1, not UTF-8
    b"\xff\xfe\xfd.png": PNG,  # no valid UTF-8 at all
    ("a" * 246).encode() + b".png": PNG,  # 250 bytes
    b"line\nbreak\x1b[31m.png": PNG,  # a newline and a terminal escape
    b"-rf --no-preserve-root.png": PNG,  # looks like options
    "evil\u202egnp.png".encode(): PNG,  # right-to-left override
    "caf\u00e9 \u5199\u771f.png".encode(): PNG,  # valid UTF-8, non-ASCII
}
BAD = {
    b"bad\xe9.jpg": TEXT,
    ("b" * 246).encode() + b".jpg": TEXT,  # its .error.txt note would be 260 bytes
}


def _names(folder: Path) -> set[bytes]:
    return set(os.listdir(os.fsencode(folder))) if folder.exists() else set()


def _odd_files(inbox: Path, outside: Path) -> dict[str, bytes]:
    """FIFO, socket, symlinks in and out, a hard link: returns name -> expected kind."""
    b = os.fsencode
    os.mkfifo(b(inbox) + b"/fifo.jpg")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(os.fsdecode(b(inbox) + b"/sock.jpg"))
    sock.close()
    (outside / "secret.png").write_bytes(PNG)
    os.symlink(outside / "secret.png", inbox / "link-out.png")
    (inbox / "target.txt").write_bytes(PNG)  # not a pattern match: stays
    os.symlink(inbox / "target.txt", inbox / "link-in.png")
    os.link(outside / "secret.png", inbox / "hard.png")
    return {"fifo.jpg": b"fifo", "sock.jpg": b"socket", "link-out.png": b"symlink", "link-in.png": b"symlink"}


@pytest.mark.slow
def test_hostile_names_and_odd_files_end_done_quarantined_or_ignored(tmp_path):
    config = write_config(tmp_path, settle_seconds=0.3, log_format="json")
    inbox, outbox = tmp_path / "in0", tmp_path / "out0"
    archive, quarantine = tmp_path / "done0", tmp_path / "quarantine0"
    outside = tmp_path / "outside"
    outside.mkdir()
    inbox.mkdir()
    # present before start (the start-up scan is where the crash happened) ...
    for name, data in list(PHOTOS.items())[:3]:
        Path(os.fsdecode(os.fsencode(inbox) + b"/" + name)).write_bytes(data)
    daemon = Daemon(config).start()
    try:
        # ... and arriving while it runs
        for name, data in list(PHOTOS.items())[3:] + list(BAD.items()):
            Path(os.fsdecode(os.fsencode(inbox) + b"/" + name)).write_bytes(data)
        ignored = _odd_files(inbox, outside)
        expected_out = {name.rsplit(b".", 1)[0] + b".jpg" for name in PHOTOS} | {b"hard.jpg"}

        def finished() -> bool:
            notes = {n for n in _names(quarantine) if n.endswith(b".error.txt")}
            return _names(outbox) >= expected_out and len(notes) == len(BAD)

        wait_for(finished, 120, message=daemon.log())
        assert _names(outbox) == expected_out  # exact names, bytes for bytes
        assert _names(archive) >= set(PHOTOS)
        for name in BAD:
            assert name in _names(quarantine)
        assert (outside / "secret.png").read_bytes() == PNG  # a hard link's other name keeps the data
        for name in ignored:
            assert name.encode() in _names(inbox), f"{name} was moved; it should be left in place"
        # one log line per ignored file, naming its kind; every line is JSON; names are escaped
        lines = [json.loads(line) for line in daemon.log().splitlines() if line.strip()]
        messages = [line["message"] for line in lines]
        for name, kind in ignored.items():
            hits = [m for m in messages if name in m and "ignored" in m]
            assert len(hits) == 1 and kind.decode() in hits[0], (name, hits)
        files = {line.get("file") for line in lines}
        assert "cam\\xe9ra.png" in files and "line\\x0abreak\\x1b[31m.png" in files
        assert "evil\\u202egnp.png" in files
        assert not any("\udce9" in json.dumps(line, ensure_ascii=False) for line in lines)
        # still serving, and healthy
        (inbox / "after.png").write_bytes(PNG)
        wait_for(lambda: b"after.jpg" in _names(outbox), 60, message=daemon.log())
        assert daemon.status()["state"] == "ready"
        assert daemon.stop() == 0
        # a restart reads the journal's byte names back: nothing crashes, nothing is done twice
        before = _names(outbox)
        daemon.start()
        wait_for(lambda: daemon.status()["state"] == "ready", 30)
        assert daemon.stop() == 0
        assert _names(outbox) == before
        assert "Traceback" not in daemon.log()
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()


def test_a_journal_from_before_byte_names_is_migrated_without_redoing_files(tmp_path):
    path = tmp_path / "journal.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE files (id INTEGER PRIMARY KEY, inbox TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL,
          mtime_ns INTEGER NOT NULL, state TEXT NOT NULL, output TEXT, attempts INTEGER NOT NULL DEFAULT 0,
          error TEXT, seen_at REAL NOT NULL, updated_at REAL NOT NULL, UNIQUE (path, size, mtime_ns));
        INSERT INTO files VALUES (1, 'cam', '/in/café.png', 10, 5, 'done', '/out/café.jpg', 1, NULL, 0, 0);
        """
    )
    old.commit()
    old.close()
    journal = Journal(path)
    entry = journal.latest(Path("/in/café.png"))
    assert entry is not None and entry.state == "done" and entry.output == Path("/out/café.jpg")
    assert journal.known(Path("/in/café.png"), 10, 5)
    assert journal.add_many([("cam", Path("/in/café.png"), 10, 5, 0.0)]) == 0  # not new work
    # the reserved output name still blocks a second file from taking it
    journal.add_many([("cam", Path("/in/café.jpeg"), 11, 6, 0.0)])
    other = journal.latest(Path("/in/café.jpeg"))
    assert other is not None and journal.output_reserved(Path("/out/café.jpg"), other.id)
    assert not journal.set_output(other.id, Path("/out/café.jpg"), b"")
    journal.close()
