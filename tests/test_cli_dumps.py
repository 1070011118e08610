"""Camera dumps from the terminal: progress, a summary that fits 80 columns, ``--json``, resume.

Real processes: the progress bar is read from a pseudo-terminal 80 columns wide (and must be
absent when stderr is a pipe), ``--json`` is parsed line by line, and an interrupted dump is run
again with ``--skip-existing``.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from tests.conftest import encode, synthetic_photo

CLI = [sys.executable, "-m", "focuspress"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def _dump(folder: Path, count: int, *, broken: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"IMG_{i:04d}_a_long_camera_file_name_from_the_trail_cam.png").write_bytes(
            encode(synthetic_photo(96 + i % 5, 128, seed=i))
        )
    for i in range(broken):
        (folder / f"broken_{i}.jpg").write_text("not a photo")
    return folder


def _in_a_terminal(args: list[str], columns: int = 80, timeout: float = 240) -> tuple[int, str]:
    """Run the CLI with stdout and stderr on a pseudo-terminal of ``columns``; its exit code and screen text."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([*CLI, *args], stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(leader)
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace")


def test_progress_on_a_terminal_and_a_summary_that_fits_80_columns(tmp_path):
    dump = _dump(tmp_path / "dump", 6, broken=1)
    code, screen = _in_a_terminal(["compress", str(dump), "-o", str(tmp_path / "out"), "--saliency", "none"])
    assert code == 2  # one broken file
    assert "compressing" in screen and "/7" in screen  # the live bar: photos done of the total
    lines = [line for line in ANSI.sub("", screen).split("\n") if line.strip()]
    summary = lines[lines.index(next(line for line in lines if line.startswith("file"))) :]
    assert all(len(line) <= 80 for line in summary), [line for line in summary if len(line) > 80]
    assert sum(line.startswith("IMG_") and "recompressed" in line for line in summary) == 6
    assert any(line.startswith("broken_0.jpg") and "refused" in line for line in summary)
    assert any("…" in line for line in summary)  # the long names cut to fit, not wrapped
    assert any(line.startswith("6 of 7 written") for line in summary)


def test_no_progress_when_stderr_is_not_a_terminal(tmp_path):
    dump = _dump(tmp_path / "dump", 3)
    proc = subprocess.run(
        [*CLI, "compress", str(dump), "-o", str(tmp_path / "out"), "--saliency", "none"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr
    assert "compressing" not in proc.stderr and "\x1b[" not in proc.stderr
    assert "3 of 3 written" in proc.stdout


def test_a_big_dump_lists_only_the_photos_that_need_a_look(tmp_path):
    dump = _dump(tmp_path / "dump", 22, broken=2)
    proc = subprocess.run(
        [*CLI, "compress", str(dump), "-o", str(tmp_path / "out"), "--saliency", "none", "-q", "80"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 2
    lines = proc.stdout.splitlines()
    assert sum("IMG_" in line for line in lines) == 0  # no row for each of the 22 good ones
    assert sum("broken_" in line and "refused" in line for line in lines) == 2
    assert any(line.startswith("22 of 24 written") for line in lines)
    assert any(line.startswith("saved: p10") for line in lines) and "--table full" in proc.stdout
    full = subprocess.run(
        [
            *CLI,
            "compress",
            str(dump),
            "-o",
            str(tmp_path / "again"),
            "--saliency",
            "none",
            "-q",
            "80",
            "--table",
            "full",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert sum("IMG_" in line for line in full.stdout.splitlines()) >= 22  # every photo, every column
    assert "bpp" in full.stdout and "quality" in full.stdout


def test_json_lines_are_all_there_is_on_stdout(tmp_path):
    dump = _dump(tmp_path / "dump", 3, broken=1)
    proc = subprocess.run(
        [*CLI, "compress", str(dump), "-o", str(tmp_path / "out"), "--saliency", "none", "--json"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 2
    records = [json.loads(line) for line in proc.stdout.splitlines()]  # every line is JSON
    photos, summary = records[:-1], records[-1]
    assert summary["type"] == "summary" and summary["written"] == 3 and summary["refused"] == 1
    written = [r for r in photos if r["status"] == "written"]
    assert len(written) == 3 and len(photos) == 4
    for record in written:
        assert Path(record["output"]).exists()
        assert record["bytes_out"] < record["bytes_in"] and record["bpp"] > 0
        assert record["outcome"] == "recompressed" and record["route"] == "pixel"
        assert record["photo_ssimulacra2"] >= 80 and record["scores"] in ("exact", "estimated")
        assert {"decode", "map", "encode", "write"} <= set(record["ms"])
    refused = next(r for r in photos if r["status"] == "refused")
    assert refused["name"] == "broken_0.jpg" and "cannot decode" in refused["error"]
    assert "broken_0.jpg" in proc.stderr  # the one-line error is still on stderr


def test_an_interrupted_dump_resumes_with_skip_existing(tmp_path):
    dump = _dump(tmp_path / "dump", 4)
    out = tmp_path / "out"
    first = subprocess.run(
        [*CLI, "compress", str(dump), "-o", str(out), "--saliency", "none", "-q", "80"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert first.returncode == 0
    outputs = sorted(out.iterdir())
    outputs[0].unlink()  # never written: the run was interrupted there
    outputs[1].write_bytes(outputs[1].read_bytes()[:200])  # cut short by another program
    stale = sorted(dump.iterdir())[2]
    os.utime(stale, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))  # the photo changed since
    again = subprocess.run(
        [*CLI, "compress", str(dump), "-o", str(out), "--saliency", "none", "-q", "80", "--skip-existing", "--json"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert again.returncode == 0, again.stderr
    records = [json.loads(line) for line in again.stdout.splitlines()]
    summary = records[-1]
    assert summary["skipped"] == 1 and summary["written"] == 3
    by_status = {r["status"]: r for r in records[:-1]}
    assert Path(by_status["skipped"]["output"]).name == sorted(p.name for p in outputs)[3]
    names = sorted(p.name for p in out.iterdir())
    assert outputs[0].name in names  # the missing one under its own name, not name-1.jpg
    assert len(names) == 6  # the cut and the stale ones kept, their photos done again beside them


def test_a_dump_on_a_machine_without_libturbojpeg_says_so_once(tmp_path, monkeypatch):
    """Without the system's libturbojpeg every encode takes mozjpeg's re-scan (about 4x slower in
    that step; pip cannot install it): a folder's worth of photos is told once, on stderr, with
    what to install; a single photo is not, nor a dump where TurboJPEG is there."""
    from typer.testing import CliRunner

    from focuspress.cli import app
    from focuspress.cli.compress import PROCESSES_FROM_PHOTOS
    from focuspress.engine.jpegfile import rescan

    dump = _dump(tmp_path / "dump", PROCESSES_FROM_PHOTOS)
    single = sorted(dump.iterdir())[0]

    def notes(*inputs: Path, out: str) -> list[str]:
        args = ["compress", *map(str, inputs), "-o", str(tmp_path / out), "--executor", "local", "--saliency", "none"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        return [line for line in result.stderr.splitlines() if "libturbojpeg" in line]

    if rescan.backend() == "turbojpeg":
        assert notes(dump, out="fast") == []
    monkeypatch.setattr(rescan, "_turbojpeg", lambda: None)
    told = notes(dump, out="slow")
    assert len(told) == 1 and told[0].startswith("note: progressive re-scan: mozjpeg's")
    assert "apt install libturbojpeg0" in told[0]
    assert notes(single, out="one") == []
