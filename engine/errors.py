"""Errors the engine raises on purpose: a one-line message for people and a reason code for machines.

The CLI turns them into an exit code, the daemon into a quarantine file, a log line and a
metric label. The message is prose (it names the file and what to do); the :class:`Reason`
is the closed set that metrics, logs and quarantine notes use, so nothing downstream ever
has to match phrases in a message. Anything else that escapes the engine is a bug.
"""

from __future__ import annotations

from enum import Enum


class Reason(str, Enum):
    """Why a photo was refused or could not be finished: the label set of every metric and log field.

    (``str`` so a member is its own label value in JSON, Prometheus and SQLite.)
    """

    EMPTY = "empty"
    TRUNCATED = "truncated"
    NOT_AN_IMAGE = "not_an_image"
    UNDECODABLE = "undecodable"
    TOO_LARGE = "too_large"
    PERMISSION = "permission"
    VANISHED = "vanished"
    UNREADABLE = "unreadable"
    NOT_REGULAR = "not_regular"
    #: the photo's worker process died under it again and again (run alone, so it was the photo)
    WORKER_CRASHED = "worker_crashed"
    #: a worker ran out of its time limit on the photo
    TIMEOUT = "timeout"
    #: a remote worker was lost and did not come back
    WORKER_LOST = "worker_lost"
    MODEL_ERROR = "model_error"
    #: a bug of ours met on this photo (its message carries the exception)
    INTERNAL = "internal"
    #: the output cannot be written for a reason that will not clear (e.g. it would replace the input)
    OUTPUT = "output"
    #: the options cannot be met for this photo (e.g. a size below the smallest output)
    OPTIONS = "options"
    #: outputs that failed for a reason that may clear: disk or quota full, read-only, I/O error
    NO_SPACE = "no_space"
    QUOTA = "quota"
    READ_ONLY = "read_only"
    IO_ERROR = "io_error"

    def __str__(self) -> str:
        return self.value


#: The reasons a photo can be quarantined for (the ``reason`` label of ``focuspress_files_quarantined_total``).
QUARANTINE_REASONS: tuple[Reason, ...] = (
    Reason.EMPTY,
    Reason.TRUNCATED,
    Reason.NOT_AN_IMAGE,
    Reason.UNDECODABLE,
    Reason.TOO_LARGE,
    Reason.PERMISSION,
    Reason.VANISHED,
    Reason.UNREADABLE,
    Reason.NOT_REGULAR,
    Reason.WORKER_CRASHED,
    Reason.TIMEOUT,
    Reason.WORKER_LOST,
    Reason.MODEL_ERROR,
    Reason.OUTPUT,
    Reason.OPTIONS,
)
#: The reasons a photo is set aside for (``focuspress_files_set_aside_total``): not the photo's fault
#: but ours. The original stays in its inbox untouched, and a daemon of another version tries it again.
SET_ASIDE_REASONS: tuple[Reason, ...] = (Reason.INTERNAL,)
#: The reasons an output can fail and be retried later (``focuspress_output_errors_total``).
OUTPUT_ERROR_REASONS: tuple[Reason, ...] = (Reason.NO_SPACE, Reason.QUOTA, Reason.READ_ONLY, Reason.IO_ERROR)


class FocuspressError(Exception):
    """Base class: ``str(error)`` is a complete one-line message; ``reason`` its code."""

    default_reason = Reason.INTERNAL

    def __init__(self, message: str, *, reason: Reason | None = None) -> None:
        super().__init__(message)
        self.reason: Reason = reason or self.default_reason


class InputError(FocuspressError):
    """The input file cannot be used (missing, empty, truncated, not an image, too large)."""

    default_reason = Reason.UNDECODABLE


class OutputError(FocuspressError):
    """The output cannot be written (would overwrite the input, disk full, no permission).

    ``transient`` is True when the destination, not the photo, is at fault and the same write
    may succeed later (disk or quota full, read-only or failing filesystem): the daemon then
    keeps the file waiting instead of quarantining it.
    """

    default_reason = Reason.OUTPUT

    def __init__(self, message: str, *, transient: bool = False, reason: Reason | None = None) -> None:
        super().__init__(message, reason=reason)
        self.transient = transient


class OptionsError(FocuspressError):
    """The requested settings are contradictory or out of range."""

    default_reason = Reason.OPTIONS


class MissingExtra(FocuspressError):
    """An optional dependency is not installed: the message names the extra that provides it."""

    default_reason = Reason.OPTIONS


def require(module: str, extra: str, purpose: str) -> None:
    """Check that ``module`` imports, before any work starts; else one line naming the extra.

    >>> require("matplotlib", "bench", "the benchmark's plots")
    """
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingExtra(f"{purpose} needs {module}, which is not installed: pip install 'focuspress[{extra}]'")
