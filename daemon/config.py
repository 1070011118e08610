"""The daemon's YAML configuration: schema (pydantic), defaults, and clear refusals.

Unknown keys and bad values stop the daemon at start (and a SIGHUP reload keeps the old
config) with a message that names the key, e.g. ``inboxes.0.roi_strength: must be <= 1``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from focuspress.daemon.logs import LogFormat
from focuspress.engine.errors import FocuspressError
from focuspress.engine.executors.ray_cluster import RayOptions
from focuspress.engine.io.load import SUPPORTED_SUFFIXES
from focuspress.engine.options import CompressOptions, describe_errors
from focuspress.engine.saliency import DEFAULT_SALIENCY, SALIENCY_CHOICES

DEFAULT_PATTERNS = [f"*{suffix}" for suffix in SUPPORTED_SUFFIXES]
DEFAULT_IGNORE = [".*", "*.part", "*.tmp", "*.partial", "*.crdownload", "*~", "*.swp"]


class ConfigError(FocuspressError):
    """The configuration file is missing, not YAML, or does not match the schema."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InboxConfig(Strict):
    """One watched folder and where its results go."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$", description="label in metrics and logs")
    path: Path
    outbox: Path
    patterns: list[str] = Field(default_factory=lambda: list(DEFAULT_PATTERNS))
    ignore: list[str] = Field(default_factory=lambda: list(DEFAULT_IGNORE))
    recursive: bool = False
    originals: Literal["keep", "archive", "delete"] = "archive"
    archive: Path | None = None
    quarantine: Path | None = None
    compress: CompressOptions = Field(
        default_factory=CompressOptions,
        description="how this inbox's photos are compressed (the engine's options schema)",
    )

    @model_validator(mode="after")
    def _folders(self) -> InboxConfig:
        if self.originals == "archive" and self.archive is None:
            raise ValueError("originals: archive needs an 'archive' folder")
        if self.outbox.resolve() == self.path.resolve():
            raise ValueError("outbox must differ from the inbox path")
        return self

    @property
    def quarantine_dir(self) -> Path:
        return self.quarantine or (self.path.parent / f"{self.path.name}.quarantine")


#: Where ``executor: ray`` sends the work (every node needs focuspress installed): the engine's model.
RayConfig = RayOptions


class MetricsConfig(Strict):
    address: str = "127.0.0.1"
    port: int = Field(9464, ge=0, le=65535)


class DaemonConfig(Strict):
    """The whole file."""

    inboxes: list[InboxConfig] = Field(..., min_length=1)
    journal: Path = Path("/var/lib/focuspress/journal.sqlite3")
    saliency: Literal[SALIENCY_CHOICES] = DEFAULT_SALIENCY  # type: ignore[valid-type]
    workers: int = Field(2, ge=1, le=64)
    queue_size: int = Field(16, ge=1, le=10000)
    batch_size: int = Field(1, ge=1, le=64, description="images per model call (raise on a GPU)")
    settle_seconds: float = Field(1.0, ge=0, le=3600, description="a file must be unchanged this long")
    upload_grace_seconds: float = Field(
        120.0,
        ge=0,
        le=86400,
        description="a file that will not decode is judged broken only once it has not changed for this long "
        "(an upload over a weak link pauses; until then it waits and is tried again)",
    )
    stall_seconds: float = Field(
        900.0,
        gt=0,
        description="/healthz answers 503 'stalled' when a file has waited this long and nothing was written meanwhile",
    )
    scan_interval_seconds: float = Field(30.0, ge=1, description="periodic rescan for missed events")
    drain_timeout_seconds: float = Field(30.0, ge=0)
    max_attempts: int = Field(
        3, ge=1, le=100, description="worker deaths a photo may cause (run alone) before it is quarantined"
    )
    retry_seconds: float = Field(
        30.0, gt=0, le=86400, description="wait before retrying an inbox whose outbox could not be written"
    )
    executor: Literal["processes", "local", "ray"] = Field(
        "processes",
        description="processes: `workers` worker processes here, a model each (CPU servers); local: `workers` "
        "threads sharing one model in the daemon's process (a GPU server); ray: a Ray cluster",
    )
    ray: RayConfig = Field(default_factory=RayConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    log_format: LogFormat = "json"

    @model_validator(mode="after")
    def _unique_names(self) -> DaemonConfig:
        names = [inbox.name for inbox in self.inboxes]
        if len(set(names)) != len(names):
            raise ValueError("inbox names must be unique")
        return self


def load_config(path: Path) -> DaemonConfig:
    """Read and validate ``path``; raise :class:`ConfigError` with one line per problem."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    try:
        return DaemonConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: " + describe_errors(exc, DaemonConfig)) from None


if __name__ == "__main__":  # python -m focuspress.daemon.config > config/focuspress.schema.json
    import json

    print(json.dumps(DaemonConfig.model_json_schema(), indent=2, default=str))
