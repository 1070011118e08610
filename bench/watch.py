"""``focuspress bench watch``: a recursive inbox with a big folder tree, idle and under an event storm.

Builds ``folders`` subfolders (two levels), starts the real daemon on it, and measures:

* start-up: seconds to ready (the watches are added then);
* idle CPU: the daemon's share of one core over ``idle_seconds`` with nothing happening;
* latency: a new photo in the deepest folder, from its rename to its output;
* an event storm: ``storm`` files created and deleted at once in one folder (names the inbox
  ignores), enough to overflow ``fs.inotify.max_queued_events``; then the overflows and rescans
  counted, idle CPU measured again (it must fall back, not loop), and a second new photo's latency.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from focuspress.bench.harness import Daemon, wait_for, write_config
from focuspress.bench.photos import encoded, synthetic_photo


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def _idle(pid: int, seconds: float) -> float:
    before, t0 = _cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (_cpu_seconds(pid) - before) / (time.monotonic() - t0)


def _photo() -> bytes:
    return encoded(synthetic_photo())


def _latency(inbox: Path, outbox: Path, relative: Path) -> float:
    target = inbox / relative
    tmp = target.with_name("." + target.name + ".part")
    tmp.write_bytes(_photo())
    t0 = time.monotonic()
    os.rename(tmp, target)
    out = outbox / relative.with_suffix(".jpg")
    wait_for(out.exists, 120, interval=0.02)
    return time.monotonic() - t0


def run(folders: int = 20_000, *, idle_seconds: float = 30.0, storm: int = 30_000) -> list[str]:
    root = Path(tempfile.mkdtemp(prefix="focuspress-watch-"))
    inbox = root / "in0"
    top = max(1, int(folders**0.5))
    for i in range(folders):
        (inbox / f"d{i % top:03d}" / f"e{i:05d}").mkdir(parents=True, exist_ok=True)
    config = write_config(root, settle_seconds=0.3, scan_interval_seconds=30)
    import yaml

    raw = yaml.safe_load(config.read_text())
    raw["inboxes"][0].update(recursive=True, originals="keep")
    config.write_text(yaml.safe_dump(raw))
    limits = {
        name: Path(f"/proc/sys/fs/inotify/{name}").read_text().strip()
        for name in ("max_user_watches", "max_queued_events", "max_user_instances")
    }
    with Daemon(config) as daemon:
        t0 = time.monotonic()
        daemon.start()
        ready = time.monotonic() - t0
        assert daemon.proc is not None
        pid = daemon.proc.pid
        lines = [
            f"{folders} subfolders under a recursive inbox; kernel limits: "
            + ", ".join(f"fs.inotify.{k}={v}" for k, v in limits.items()),
            f"ready in {ready:.1f} s",
        ]
        time.sleep(3)
        lines.append(f"idle: {_idle(pid, idle_seconds):.2f}% of a core over {idle_seconds:.0f} s")
        deep = Path(f"d{(folders - 1) % top:03d}") / f"e{folders - 1:05d}" / "new1.png"
        lines.append(f"a new photo in the deepest folder: output after {_latency(inbox, root / 'out0', deep):.2f} s")
        storm_folder = inbox / "d000" / "e00000"
        t1 = time.monotonic()
        for i in range(storm):
            path = storm_folder / f"noise{i}.tmp"
            path.write_bytes(b"")
            path.unlink()
        lines.append(f"storm: {storm} files created and deleted in {time.monotonic() - t1:.1f} s")
        time.sleep(5)
        overflows = daemon.metric("focuspress_watch_overflows_total")
        lines.append(f"kernel queue overflows seen: {overflows:.0f} (each answered by one rescan)")
        lines.append(f"idle after the storm: {_idle(pid, idle_seconds):.2f}% of a core over {idle_seconds:.0f} s")
        deep2 = deep.with_name("new2.png")
        lines.append(f"a new photo after the storm: output after {_latency(inbox, root / 'out0', deep2):.2f} s")
        rss = [line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmHWM")]
        lines.append(f"daemon peak RSS: {rss[0].split(':')[1].strip()}")
        daemon.stop()
    return lines
