"""The daemon's log lines: one JSON object per line for journald and log shippers, or text for people.

With ``json`` every line the process writes is one object: ``{"time", "level", "logger",
"message", ...fields}``; a per-file outcome adds its fields (inbox, file, outcome, bytes...),
an exception adds ``exception`` (the traceback as one string), Python warnings are captured
as records, and an uncaught exception in any thread becomes a record too. The records go to
standard output, and file descriptor 2 is turned into a pipe read by a thread: whatever a
native library prints there (libjpeg's warnings, an ML runtime's notes) arrives as a record of
logger ``focuspress.native`` instead of as a stray line. File names in fields and messages are
escaped by :func:`focuspress.engine.io.names.display_name` before they get here, so a name can
never split or forge a line.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from typing import Any, Literal, get_args

#: The log formats (the config's ``log_format`` and ``--log-format`` take these).
LogFormat = Literal["json", "text"]
LOG_FORMATS: tuple[str, ...] = get_args(LogFormat)
#: ``extra={EVENT: {...}}`` attaches structured fields to a record.
EVENT = "focuspress_event"


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON (ASCII-only, so any byte in a name arrives escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        body.update(getattr(record, EVENT, None) or {})
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body, ensure_ascii=True, default=str)


class TextFormatter(logging.Formatter):
    """``time level message key=value ...`` for a person at a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, EVENT, None) or {}
        extra = " ".join(f"{key}={value}" for key, value in fields.items() if key != "message")
        return f"{line} {extra}" if extra else line


def configure(log_format: str, stream=None, *, capture_stderr: bool | None = None, pinned: bool = False) -> None:
    """Route every record (ours, libraries', warnings, uncaught exceptions) through one handler.

    ``json``: records on stdout, file descriptor 2 captured (see the module docstring).
    ``text``: records on stderr, as a person at a terminal expects. ``pinned``: the format came
    from the command line, so a reload does not change it.
    """
    as_json = log_format == "json"
    if capture_stderr is None:
        capture_stderr = as_json and stream is None
    global _handler, _pinned
    # json: records on stdout. text: stderr. A reload to the other format keeps the stream (the
    # service's output is one stream under systemd either way).
    handler = logging.StreamHandler(stream or (sys.stdout if as_json else sys.stderr))
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    _handler, _pinned = handler, pinned
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    for noisy in ("watchdog", "urllib3", "PIL", "absl", "tensorflow", "h5py"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    def excepthook(kind, value, traceback) -> None:
        logging.getLogger("focuspress").critical("uncaught exception", exc_info=(kind, value, traceback))

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread else "?"
        error = args.exc_value if args.exc_value is not None else args.exc_type()
        logging.getLogger("focuspress").critical("uncaught exception in thread %s", name, exc_info=error)

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook
    if capture_stderr:
        logging.raiseExceptions = False  # a failing handler must not print to the captured stderr
        _capture_fd2()


_captured = False
_handler: logging.Handler | None = None
_pinned = False


def set_format(log_format: str) -> bool:
    """Switch the running handler to ``log_format`` (a SIGHUP reload); False when the command line
    fixed the format (``--log-format``) or logging was not configured by :func:`configure`."""
    if _handler is None or _pinned:
        return False
    _handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    return True


def _capture_fd2() -> None:
    """Make file descriptor 2 a pipe whose lines become records (once per process)."""
    global _captured
    if _captured:
        return
    _captured = True
    read_end, write_end = os.pipe()
    sys.stderr.flush()
    os.dup2(write_end, 2)
    os.close(write_end)
    native = logging.getLogger("focuspress.native")

    def pump() -> None:
        with os.fdopen(read_end, "rb") as pipe:
            for raw in pipe:
                line = raw.decode("utf-8", "backslashreplace").rstrip()
                if line:
                    native.warning(line, extra={EVENT: {"stream": "stderr"}})

    threading.Thread(target=pump, name="stderr-to-log", daemon=True).start()


def event(logger: logging.Logger, level: int, message: str, **fields: Any) -> None:
    """Log ``message`` with structured ``fields`` (top-level keys in JSON, key=value in text)."""
    logger.log(level, message, extra={EVENT: fields})
