"""``focuspress daemon``: the watcher service (see focuspress.daemon)."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from focuspress.cli.common import EXIT_BAD_INPUT, EXIT_FAILURE, choice_option, out, refuse
from focuspress.daemon.logs import LOG_FORMATS


def daemon(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="YAML config (see config/focuspress.example.yaml).")
    ] = Path("/etc/focuspress/config.yaml"),
    check_config: Annotated[
        bool,
        typer.Option(
            "--check-config",
            help="Check the config and the world it names (folders exist or can be created, are writable, "
            "do not feed each other; atomic renames work; the metrics port is free), then exit.",
        ),
    ] = False,
    print_systemd_dropin: Annotated[
        bool,
        typer.Option(
            "--print-systemd-dropin",
            help="Print a systemd drop-in whose ReadWritePaths= are exactly this config's folders, then exit.",
        ),
    ] = False,
    log_format: Annotated[
        Optional[str],
        choice_option(
            "--log-format",
            LOG_FORMATS,
            "json (one object per line, for journald and log shippers) or text. Default: the config's log_format.",
        ),
    ] = None,
) -> None:
    """Watch inbox folders, compress what lands, write outboxes, export Prometheus metrics.

    SIGTERM drains in-flight work and exits 0; SIGHUP reloads the config (a bad file is
    refused and the running config kept). Under systemd (Type=notify) it reports READY=1 once
    the model is loaded and the inboxes are watched, a STATUS= line, and WATCHDOG=1 pings.

    Examples:

      focuspress daemon --config config.yaml --check-config

      focuspress daemon --config /etc/focuspress/config.yaml --print-systemd-dropin
    """
    from focuspress.daemon.config import ConfigError, load_config

    try:
        parsed = load_config(config)
    except ConfigError as exc:
        _refuse(str(exc), _for_people(log_format or "json"))
    fmt = log_format or parsed.log_format
    if print_systemd_dropin:
        from focuspress.daemon.checks import systemd_dropin

        sys.stdout.write(systemd_dropin(parsed, config))
        return
    if check_config:
        from focuspress.daemon.checks import check_world

        problems = check_world(parsed)
        for problem in problems:
            _say(f"{config}: {problem}", _for_people(fmt), error=True)
        if problems:
            raise typer.Exit(EXIT_BAD_INPUT)
        ok = f"{config}: OK ({len(parsed.inboxes)} inbox(es); folders, renames and the metrics port checked)"
        _say(ok, _for_people(fmt))
        return
    from focuspress.daemon.logs import configure

    configure(fmt, pinned=log_format is not None)
    from focuspress.daemon.journal import JournalError
    from focuspress.daemon.service import Service
    from focuspress.engine.executors import WorkerLost

    try:
        code = Service(parsed, config).run()
    except WorkerLost as exc:  # executor: ray and no cluster: say so; systemd retries later
        # Logging owns the output now (with json, fd 2 is a pipe into the log): one record.
        logging.getLogger("focuspress.daemon").error("%s", exc)
        raise typer.Exit(EXIT_FAILURE) from None
    except JournalError as exc:  # damaged, not a database, in use: one line with the way out
        logging.getLogger("focuspress.daemon").error("%s", exc)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    raise typer.Exit(code)


def _for_people(fmt: str) -> str:
    """Text at a terminal; the configured format otherwise (e.g. ExecStartPre under journald)."""
    return "text" if sys.stderr.isatty() else fmt


def _say(message: str, fmt: str, *, error: bool = False) -> None:
    """One line: a JSON object (level, logger, message) or text."""
    if fmt == "json":
        line = {"level": "error" if error else "info", "logger": "focuspress.daemon", "message": message}
        print(json.dumps(line), file=sys.stderr if error else sys.stdout)
    elif error:
        from focuspress.cli.common import fail

        fail(message)
    else:
        out.print(message, highlight=False, markup=False)


def _refuse(message: str, fmt: str, code: int = EXIT_BAD_INPUT):
    if fmt == "json":
        _say(message, fmt, error=True)
        raise typer.Exit(code)
    refuse(message, code)
