"""``focuspress bench chaos``: start, drop, SIGKILL at a random moment, restart; then check the invariants.

Each cycle starts the real daemon (without waiting for it to be ready), drops a few new photos
into its inbox (some as careful uploaders do, temp name then rename; some written in place in
two chunks, like a camera on a weak link), waits a random moment (before ready, mid-photo,
mid-write...) and SIGKILLs it. After the last cycle the daemon runs until everything settles,
then stops. The invariants, counted:

* **lost**: inputs with no output (and their original not archived);
* **duplicated**: inputs with more than one output (``name-1.jpg`` twins);
* **wrongly quarantined**: good photos in quarantine (every input here is a good photo);
* **temp files**: ``.focuspress-*.tmp`` left anywhere in the outbox, archive or quarantine;
* the journal: every row ``done``, one row per input.
"""

from __future__ import annotations

import json
import os
import random
import signal
import tempfile
import time
from pathlib import Path

from focuspress.bench.harness import Daemon, wait_for, write_config
from focuspress.bench.photos import encoded, synthetic_photo


def _photo(seed: int) -> bytes:
    return encoded(synthetic_photo(192, 256, seed))


def _drop(inbox: Path, name: str, data: bytes, rng: random.Random) -> None:
    if rng.random() < 0.5:
        tmp = inbox / f".{name}.part"
        tmp.write_bytes(data)
        os.rename(tmp, inbox / name)
    else:  # written in place, in two chunks
        with open(inbox / name, "wb") as handle:
            handle.write(data[: len(data) // 2])
            handle.flush()
            time.sleep(rng.uniform(0.0, 0.3))
            handle.write(data[len(data) // 2 :])


def run(cycles: int, *, per_cycle: int = 2, seed: int = 0, progress=None, root: Path | None = None) -> dict:
    rng = random.Random(seed)
    root = Path(root or tempfile.mkdtemp(prefix="focuspress-chaos-"))
    config = write_config(root, settle_seconds=0.3, upload_grace_seconds=30, scan_interval_seconds=5)
    with Daemon(config) as daemon:
        inbox, outbox, archive, quarantine = (root / name for name in ("in0", "out0", "done0", "quarantine0"))
        inbox.mkdir(parents=True, exist_ok=True)
        names: list[str] = []
        kills = 0
        started = time.monotonic()
        for cycle in range(cycles):
            daemon.start(wait=False)
            for _ in range(per_cycle):
                name = f"p{len(names):05d}.png"
                names.append(name)
                _drop(inbox, name, _photo(len(names)), rng)
            time.sleep(rng.uniform(0.2, 3.5))
            assert daemon.proc is not None
            if daemon.proc.poll() is None:
                daemon.proc.send_signal(signal.SIGKILL)
                daemon.proc.wait(10)
                kills += 1
            if progress:
                progress(cycle)
        daemon.start()
        expected = sorted(n.replace(".png", ".jpg") for n in names)
        wait_for(lambda: len(list(archive.glob("*.png"))) + len(list(quarantine.glob("*.png"))) >= len(names), 900)
        time.sleep(2)
        status = daemon.status()
        code = daemon.stop(120)
    outputs = sorted(p.name for p in outbox.glob("*.jpg"))
    temps = [
        p for folder in (outbox, archive, quarantine) if folder.exists() for p in folder.rglob(".focuspress-*.tmp")
    ]
    stems: dict[str, int] = {}
    for out in outputs:
        base = out.split("-")[0].removesuffix(".jpg") + ".jpg"
        stems[base] = stems.get(base, 0) + 1
    lost = [n for n in expected if n not in stems]
    duplicated = [n for n, count in stems.items() if count > 1]
    quarantined = sorted(p.name for p in quarantine.glob("*.png")) if quarantine.exists() else []
    return {
        "cycles": cycles,
        "kills": kills,
        "inputs": len(names),
        "outputs": len(outputs),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "wrongly_quarantined": len(quarantined),
        "temp_files": len(temps),
        "journal_states": status["inboxes"][0]["states"],
        "final_stop_exit": code,
        "seconds": time.monotonic() - started,
        "examples": {"lost": lost[:5], "duplicated": duplicated[:5], "quarantined": quarantined[:5]},
        "root": str(root),
    }


def report(result: dict) -> list[str]:
    return [
        f"chaos: {result['cycles']} cycles, {result['kills']} SIGKILLs, {result['inputs']} photos dropped, "
        f"{result['seconds'] / 60:.1f} min",
        f"outputs {result['outputs']}; lost {result['lost']}, duplicated {result['duplicated']}, "
        f"wrongly quarantined {result['wrongly_quarantined']}, temp files {result['temp_files']}",
        f"journal: {json.dumps(result['journal_states'])}; final SIGTERM exit {result['final_stop_exit']}",
        *([f"examples: {json.dumps(result['examples'])}"] if any(result["examples"].values()) else []),
    ]
