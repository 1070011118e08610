"""Errors the engine raises on purpose, each carrying a one-line message for users.

The CLI and the daemon turn these into an exit code or a quarantine reason; anything else that
escapes the engine is a bug.
"""

from __future__ import annotations


class FocuspressError(Exception):
    """Base class: ``str(error)`` is a complete one-line message."""


class InputError(FocuspressError):
    """The input file cannot be used (missing, empty, truncated, not an image, too large)."""


class OutputError(FocuspressError):
    """The output cannot be written (would overwrite the input, disk full, no permission).

    ``transient`` is True when the destination, not the photo, is at fault and the same write
    may succeed later (disk or quota full, read-only or failing filesystem): the daemon then
    keeps the file waiting instead of quarantining it.
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class OptionsError(FocuspressError):
    """The requested settings are contradictory or out of range."""
