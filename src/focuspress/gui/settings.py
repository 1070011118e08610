"""The window's settings and their defaults (the ``focuspress gui`` options take them from here)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from focuspress.engine.saliency import DEFAULT_SALIENCY


@dataclass
class GuiSettings:
    output: Path | None = None  # the output folder, once chosen (validated)
    saliency: str = DEFAULT_SALIENCY
    daemon_url: str | None = None  # a running daemon's metrics address, for the daemon view
    max_upload_mb: float = 64.0
    max_megapixels: float = 50.0
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))


GUI_DEFAULTS = GuiSettings(token="")
