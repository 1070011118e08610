"""From filesystem events to settled candidates: a partial upload is never taken.

watchdog's inotify observer reports created, close-after-write (``closed``), moved and deleted
events; nothing else is asked of the kernel (:data:`EVENTS`). Opens, reads and attribute
changes are not: a folder tree walk opens every folder, and in a big recursive inbox those
events alone overflow the kernel's queue, whose recovery walks the tree again (a loop that
pinned a core). An event only *nominates* a file; it becomes a candidate once its size and
mtime have stayed the same for ``settle_seconds``, by polling its stat (which is also how a
slow writer that never closes is followed). Temporary names (``*.part``, ``*.tmp``, dotfiles)
are never nominated, and a rename from such a name into a real one (how careful uploaders
finish) nominates the new name. Only regular files are taken: a FIFO, a socket, a device or a
symlink (wherever it points) is ignored, reported once through ``on_ignored``.

When the kernel's queue overflows anyway (``fs.inotify.max_queued_events``), events were lost:
watchdog rebuilds its watches and says so in a log record, which :class:`OverflowSignal` turns
into one rescan of the inboxes (the only signal watchdog gives; see docs/scale.md for the sysctls).
"""

from __future__ import annotations

import fnmatch
import logging
import os
import stat as stat_module
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import (
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from focuspress.daemon.config import InboxConfig
from focuspress.engine.io.load import file_kind

#: Called with (inbox name, path, kind) for a matching name that is not a regular file.
IgnoredCallback = Callable[[str, Path, str], None]


def _ignore_nothing(inbox: str, path: Path, kind: str) -> None:
    pass


@dataclass(frozen=True)
class Candidate:
    inbox: str
    path: Path
    size: int
    mtime_ns: int
    first_seen: float


def matches(inbox: InboxConfig, path: Path) -> bool:
    """Is ``path`` (inside ``inbox``) a photo to take, by the inbox's patterns and ignores?"""
    name = path.name
    if any(fnmatch.fnmatch(name, pattern) for pattern in inbox.ignore):
        return False
    lowered = name.lower()
    return any(fnmatch.fnmatch(lowered, pattern.lower()) for pattern in inbox.patterns)


class _Handler(FileSystemEventHandler):
    def __init__(self, settler: Settler, inbox: InboxConfig) -> None:
        self.settler = settler
        self.inbox = inbox

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            return
        if event.event_type == "moved":
            self.settler.nominate(self.inbox, Path(os.fsdecode(event.dest_path)))
        elif event.event_type in ("created", "modified", "closed"):
            self.settler.nominate(self.inbox, Path(os.fsdecode(event.src_path)))
        elif event.event_type == "deleted":
            self.settler.forget(Path(os.fsdecode(event.src_path)))


class Settler:
    """Tracks nominated files and releases each once it has stopped changing."""

    def __init__(
        self,
        settle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        on_ignored: IgnoredCallback = _ignore_nothing,
    ) -> None:
        self.settle_seconds = settle_seconds
        self._clock = clock
        self.on_ignored = on_ignored
        self._lock = threading.Lock()
        # path -> (inbox, last stat (size, mtime_ns) or None, time of last change, first seen)
        self._pending: dict[Path, tuple[InboxConfig, tuple[int, int] | None, float, float]] = {}

    def nominate(self, inbox: InboxConfig, path: Path) -> None:
        if not _inside(inbox, path) or not matches(inbox, path):
            return
        now = self._clock()
        with self._lock:
            previous = self._pending.get(path)
            first = previous[3] if previous else time.time()
            self._pending[path] = (inbox, None, now, first)  # any event restarts the clock

    def forget(self, path: Path) -> None:
        with self._lock:
            self._pending.pop(path, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    def settled(self, limit: int | None = None) -> list[Candidate]:
        """Files whose (size, mtime) stayed the same for ``settle_seconds``; they leave the tracker.

        Any event or any change of the stat restarts the clock; vanished or non-regular files
        are dropped.
        """
        now = self._clock()
        ready: list[Candidate] = []
        with self._lock:
            items = list(self._pending.items())
        for path, (inbox, last_stat, stable_since, first) in items:
            if limit is not None and len(ready) >= limit:
                break
            try:
                st = path.lstat()
            except OSError:
                self.forget(path)
                continue
            if not stat_module.S_ISREG(st.st_mode):
                self.forget(path)
                self.on_ignored(inbox.name, path, file_kind(st.st_mode))
                continue
            stat = (st.st_size, st.st_mtime_ns)
            with self._lock:
                current = self._pending.get(path)
                if current is None or current[2] != stable_since:
                    continue  # forgotten or re-nominated meanwhile
                if stat != last_stat:
                    self._pending[path] = (inbox, stat, now, first)
                    continue
                if now - stable_since < self.settle_seconds:
                    continue
                del self._pending[path]
            ready.append(Candidate(inbox.name, path, stat[0], stat[1], first))
        return ready


def _inside(inbox: InboxConfig, path: Path) -> bool:
    try:
        relative = path.relative_to(inbox.path)
    except ValueError:
        return False
    return inbox.recursive or len(relative.parts) == 1


def _regular(inbox: InboxConfig, path: Path, on_ignored: IgnoredCallback) -> bool:
    """Is ``path`` a regular file (not followed if a symlink)? Reports what else it is."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return False
    if stat_module.S_ISREG(mode):
        return True
    on_ignored(inbox.name, path, file_kind(mode))
    return False


def scan(inbox: InboxConfig, on_ignored: IgnoredCallback = _ignore_nothing) -> Iterable[Path]:
    """Every matching regular file in the inbox now (start-up and periodic rescans)."""
    root = inbox.path
    if inbox.recursive:
        # followlinks=False: a symlink loop in an inbox cannot trap the scan
        for directory, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                path = Path(directory) / name
                if matches(inbox, path) and _regular(inbox, path, on_ignored):
                    yield path
        return
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        path = Path(entry.path)
        if matches(inbox, path) and _regular(inbox, path, on_ignored):
            yield path


#: The only events asked of the kernel (see the module's docstring).
EVENTS = [FileCreatedEvent, FileClosedEvent, FileMovedEvent, DirMovedEvent, FileDeletedEvent]
_WATCHDOG_LOGGERS = ("watchdog.observers.inotify", "watchdog.observers.inotify_c")


class OverflowSignal(logging.Filter):
    """watchdog's "queue overflowed" records become a flag the service polls (and leave the log:
    the service reports each overflow once, with what it does about it); its error record for a
    stop that races its reader thread is dropped too (a clean stop is not an error)."""

    def __init__(self) -> None:
        super().__init__()
        self._event = threading.Event()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "queue overflowed" in message:
            self._event.set()
            return False
        return "called when the thread is inactive" not in message

    def take(self) -> bool:
        """True once per overflow (or burst of overflows) since the last call."""
        if self._event.is_set():
            self._event.clear()
            return True
        return False

    def install(self) -> OverflowSignal:
        for name in _WATCHDOG_LOGGERS:
            logging.getLogger(name).addFilter(self)
        return self

    def remove(self) -> None:
        for name in _WATCHDOG_LOGGERS:
            logging.getLogger(name).removeFilter(self)


class InboxWatcher:
    """One watchdog observer over all inboxes, feeding a :class:`Settler`.

    ``problems`` lists the inboxes that could not be watched (e.g. the kernel's watch limit,
    ``fs.inotify.max_user_watches``): those are found by the periodic scan only.
    """

    def __init__(self, inboxes: list[InboxConfig], settler: Settler) -> None:
        self.settler = settler
        self.observer = Observer()
        self.problems: list[str] = []
        for inbox in inboxes:
            inbox.path.mkdir(parents=True, exist_ok=True)
            try:
                self.observer.schedule(
                    _Handler(settler, inbox), str(inbox.path), recursive=inbox.recursive, event_filter=EVENTS
                )
            except OSError as exc:
                self.problems.append(f"{inbox.name}: cannot watch {inbox.path} ({exc})")

    def start(self) -> None:
        try:
            self.observer.start()
        except OSError as exc:  # the watch limit is met when the watches are added, at start
            self.problems.append(f"cannot watch the inboxes ({exc})")

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=5)
