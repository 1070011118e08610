"""``focuspress daemon``: the watcher service (see focuspress.daemon)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from focuspress.cli.common import EXIT_FAILURE, out, refuse


def daemon(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="YAML config (see config/focuspress.example.yaml).")
    ] = Path("/etc/focuspress/config.yaml"),
    check_config: Annotated[bool, typer.Option("--check-config", help="Validate the config and exit.")] = False,
) -> None:
    """Watch inbox folders, compress what lands, write outboxes, export Prometheus metrics.

    SIGTERM drains in-flight work and exits 0; SIGHUP reloads the config (a bad file is
    refused and the running config kept). Logs one line per file on stderr (the journal
    under systemd).
    """
    from focuspress.daemon.config import ConfigError, load_config

    try:
        parsed = load_config(config)
    except ConfigError as exc:
        refuse(str(exc))
    if check_config:
        out.print(f"{config}: OK ({len(parsed.inboxes)} inbox(es))", highlight=False)
        return
    from focuspress.daemon.logs import configure

    configure(parsed.log_format)
    from focuspress.daemon.service import Service
    from focuspress.engine.executors import WorkerLost

    try:
        code = Service(parsed, config).run()
    except WorkerLost as exc:  # executor: ray and no cluster: say so; systemd retries later
        refuse(str(exc), EXIT_FAILURE)
    raise typer.Exit(code)
