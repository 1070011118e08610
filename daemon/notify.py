"""systemd's notification protocol: READY, STATUS, WATCHDOG, RELOADING and STOPPING.

The protocol is one datagram of ``KEY=value`` lines to the AF_UNIX socket named by
``NOTIFY_SOCKET`` (``@name`` is an abstract socket), so it is written here rather than taken
from a package (``sdnotify`` is these same lines; ``systemd-python`` needs libsystemd headers
to build). Without ``NOTIFY_SOCKET`` (not under systemd, or ``Type=simple``) every call is a
no-op. The watchdog interval comes from ``WATCHDOG_USEC`` (set by ``WatchdogSec=``); the main
loop pings at half of it, so a hung main loop gets the service restarted.
"""

from __future__ import annotations

import os
import socket
import time


class Notifier:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self.address = ("\0" + address[1:]) if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        watched = usec.isdigit() and (not pid or pid == str(os.getpid()))
        self.watchdog_interval = int(usec) / 1e6 / 2 if watched else None
        self._last_ping = 0.0

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, **fields: str | int) -> bool:
        """Send ``KEY=value`` lines (e.g. ``READY=1``); True when a socket took them."""
        if not self.address:
            return False
        message = "\n".join(f"{key}={value}" for key, value in fields.items()).encode("utf-8", "backslashreplace")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message, self.address)
            return True
        except OSError:  # systemd gone or the socket unreachable: nothing to tell, nothing to fail
            return False

    def ready(self, status: str) -> None:
        self.send(READY=1, STATUS=status, MAINPID=os.getpid())

    def status(self, status: str) -> None:
        self.send(STATUS=status)

    def reloading(self) -> None:
        self.send(RELOADING=1, MONOTONIC_USEC=time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)

    def stopping(self, status: str = "draining in-flight work") -> None:
        self.send(STOPPING=1, STATUS=status)

    def watchdog(self) -> None:
        """Ping if half the watchdog interval has passed since the last ping."""
        if self.watchdog_interval is None:
            return
        now = time.monotonic()
        if now - self._last_ping >= self.watchdog_interval:
            self._last_ping = now
            self.send(WATCHDOG=1)
