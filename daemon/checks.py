"""``--check-config``: the configured world, not only the YAML.

For every folder the daemon will use (each inbox's ``path``, ``outbox``, ``archive`` and
``quarantine``, and the ``journal``'s folder): it exists and is a writable folder, or it can be
created (its nearest existing parent is writable); no folder feeds another in a loop (an
outbox, archive or quarantine inside a watched inbox, or one inbox's outbox being another
inbox); the outbox's temporary files can be renamed into place (tried for real: a temp file is
written, renamed and removed); and the metrics port can be bound. Each problem is one line
naming the key, e.g. ``inboxes.0.outbox: /srv/x cannot be created (/srv is not writable)``.
Nothing is created or left behind.
"""

from __future__ import annotations

import errno
import os
import socket
import tempfile
from pathlib import Path

from focuspress.daemon.config import DaemonConfig
from focuspress.engine.io.names import display_name


def _inside(child: Path, parent: Path) -> bool:
    child, parent = Path(os.path.abspath(child)), Path(os.path.abspath(parent))
    return child == parent or parent in child.parents


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def _nearest_existing(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def folder_problem(path: Path) -> str | None:
    """Why ``path`` cannot serve as a writable folder (None: it can); never raises."""
    try:
        return _folder_problem(path)
    except OSError as exc:  # e.g. a folder under one the service user cannot search
        blocked = display_name(exc.filename) if exc.filename else display_name(path)
        return f"{display_name(path)} cannot be checked ({exc.strerror or exc} on {blocked})"


def _folder_problem(path: Path) -> str | None:
    name = display_name(path)
    if path.exists():
        if not path.is_dir():
            return f"{name} is not a folder"
        try:
            fd, probe = tempfile.mkstemp(prefix=".focuspress-check-", dir=path)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            return f"{name} is not writable ({exc.strerror})"
        return None
    parent = _nearest_existing(path)
    if not parent.is_dir():
        return f"{name} cannot be created ({display_name(parent)} is not a folder)"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{name} cannot be created ({display_name(parent)} is not writable)"
    return None


def rename_problem(folder: Path) -> str | None:
    """Whether a temp file in ``folder`` can be renamed over another name there (atomic writes)."""
    try:
        usable = folder.is_dir()
    except OSError:
        return None  # folder_problem has said why
    if not usable:
        return None  # created at the first write, beside its temp files: same filesystem by construction
    try:
        fd, tmp = tempfile.mkstemp(prefix=".focuspress-check-", suffix=".tmp", dir=folder)
        os.close(fd)
        target = tmp[: -len(".tmp")] + ".jpg"
        try:
            os.replace(tmp, target)
        finally:
            for leftover in (tmp, target):
                try:
                    os.unlink(leftover)
                except FileNotFoundError:
                    pass
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            return f"{display_name(folder)}: temporary files cannot be renamed into place (different filesystem)"
        return f"{display_name(folder)}: temporary files cannot be renamed into place ({exc.strerror})"
    return None


def check_world(config: DaemonConfig) -> list[str]:
    """Every problem with the folders, files and port ``config`` names, one line each."""
    problems: list[str] = []
    journal_folder = Path(config.journal).parent
    if (problem := folder_problem(journal_folder)) is not None:
        problems.append(f"journal: {problem}")
    elif _exists(Path(config.journal)) and not os.access(config.journal, os.R_OK | os.W_OK):
        problems.append(f"journal: {display_name(config.journal)} is not readable and writable")
    inbox_paths = [(index, inbox.path) for index, inbox in enumerate(config.inboxes)]
    for index, inbox in enumerate(config.inboxes):
        key = f"inboxes.{index}"
        folders = {"path": inbox.path, "outbox": inbox.outbox, "quarantine": inbox.quarantine_dir}
        if inbox.archive is not None:
            folders["archive"] = inbox.archive
        for name, folder in folders.items():
            if (problem := folder_problem(folder)) is not None:
                problems.append(f"{key}.{name}: {problem}")
        if (problem := rename_problem(inbox.outbox)) is not None:
            problems.append(f"{key}.outbox: {problem}")
        for name, folder in folders.items():
            if name == "path":
                continue
            if _inside(folder, inbox.path) and (inbox.recursive or Path(os.path.abspath(folder)) == inbox.path):
                problems.append(
                    f"{key}.{name}: {display_name(folder)} is inside the watched inbox {display_name(inbox.path)}: "
                    "its files would come back in as new photos"
                )
            for other, path in inbox_paths:
                if other != index and Path(os.path.abspath(folder)) == Path(os.path.abspath(path)):
                    problems.append(
                        f"{key}.{name}: {display_name(folder)} is inboxes.{other}.path: "
                        "that inbox would compress these files again"
                    )
    problems += _port_problem(config)
    return problems


def _port_problem(config: DaemonConfig) -> list[str]:
    if config.metrics.port == 0:
        return []
    family = socket.AF_INET6 if ":" in config.metrics.address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((config.metrics.address, config.metrics.port))
    except OSError as exc:
        where = f"{config.metrics.address}:{config.metrics.port}"
        return [f"metrics: cannot listen on {where} ({exc.strerror or exc})"]
    return []


def systemd_dropin(config: DaemonConfig, config_path: Path) -> str:
    """A drop-in giving the hardened unit write access to exactly the folders ``config`` uses."""
    folders: list[str] = []
    for inbox in config.inboxes:
        for folder in (inbox.path, inbox.outbox, inbox.archive, inbox.quarantine_dir):
            if folder is not None:
                folders.append(os.path.abspath(folder))
    journal_folder = os.path.abspath(Path(config.journal).parent)
    if not journal_folder.startswith("/var/lib/focuspress"):  # StateDirectory covers the default
        folders.append(journal_folder)
    unique = list(dict.fromkeys(folders))
    lines = [
        f"# Generated by: focuspress daemon --config {config_path} --print-systemd-dropin",
        "# Install as /etc/systemd/system/focuspress.service.d/folders.conf, then: systemctl daemon-reload",
        "# The folders must exist before the service starts (systemd cannot mount missing paths).",
        "[Service]",
        "ReadWritePaths=",  # reset the unit's example list
        *[f"ReadWritePaths={_systemd_escape(folder)}" for folder in unique],
    ]
    if config.metrics.address not in ("127.0.0.1", "::1", "localhost"):
        lines += [
            "# metrics.address is not loopback: allow the Prometheus server's address (edit to suit)",
            "IPAddressAllow=any",
        ]
    if config.executor == "ray":
        lines += ["# executor: ray talks to the cluster over the network", "IPAddressAllow=any", "PrivateNetwork=no"]
    return "\n".join(lines) + "\n"


def _systemd_escape(path: str) -> str:
    """Quote a path for a unit file (spaces and backslashes)."""
    if any(ch in path for ch in ' "\\'):
        return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return path
