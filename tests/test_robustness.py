"""Hostile and odd inputs: each gets its documented outcome in the CLI and in the daemon.

The corpus (tests/corpus.py) is generated here; docs/robustness.md documents each outcome.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from focuspress.daemon.config import DaemonConfig
from focuspress.daemon.journal import Journal
from focuspress.daemon.prometheus import DaemonMetrics
from focuspress.daemon.workers import Job, Processor
from focuspress.engine import Engine
from focuspress.engine.executors.local import LocalExecutor
from focuspress.engine.io.jpeg import arithmetic_coded
from focuspress.engine.io.names import display_name, fit_name
from tests.conftest import encode, synthetic_photo
from tests.corpus import CASES, as_unprivileged, build
from tests.daemon_harness import Daemon, wait_for, write_config

ROOT = Path(__file__).resolve().parents[1]
OK = [case for case in CASES if case.outcome == "ok"]
REFUSED = [case for case in CASES if case.outcome == "refused"]
IGNORED = [case for case in CASES if case.outcome == "ignored"]


def _digest(folder: Path) -> dict[str, str]:
    out = {}
    for path in folder.iterdir():
        if path.is_file() and os.access(path, os.R_OK) and path.stat().st_mode & 0o444:
            out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _check_ok_outputs(outbox: Path, names: list[str]) -> None:
    for case in OK:
        if case.name not in names:
            continue
        out = outbox / (Path(case.name).stem + ".jpg")
        assert out.exists(), f"{case.name}: no output"
        with Image.open(out) as image:
            image.load()
            assert image.format == "JPEG" and image.mode in ("RGB", "L"), case.name
            if case.name == "exif-rotated.jpg":
                # a viewer shows it upright: either the pixels were turned or the tag was kept with them
                assert (ImageOps.exif_transpose(image) or image).size == (96, 128)
            if case.name == "arithmetic.jpg":
                # an ordinary (Huffman-coded) JPEG every viewer opens
                assert not arithmetic_coded(out.read_bytes())
            if case.name == "icc-profile.jpg":
                assert image.info.get("icc_profile"), "ICC profile dropped"
            if case.name == "float-grey.tif":
                # the photo's own range (0..1 as black..white), not a black frame
                assert int(np.asarray(image.convert("L")).max()) > 150, "float photo came out dark"
            if case.name == "palette-transparent.png":
                # transparent index 0 pixels are white now, not the palette's colour 0
                assert np.asarray(image.convert("RGB")).max() == 255


def test_documentation_lists_every_case():
    doc = (ROOT / "docs" / "robustness.md").read_text()
    for case in CASES:
        assert f"`{case.shown}`" in doc, f"{case.shown} missing from docs/robustness.md"


def test_corpus_through_the_cli(tmp_path):
    folder = tmp_path / "in"
    build(folder)
    before = _digest(folder)
    command = [sys.executable, "-m", "focuspress", "compress", str(folder), "-o", str(tmp_path / "out")]
    proc = subprocess.run(
        as_unprivileged([*command, "--saliency", "none"]), capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 2, proc.stderr  # some inputs were bad; the good ones are still done
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == len(REFUSED), proc.stderr
    for case in REFUSED:
        line = next((e for e in errors if display_name(case.name) in e), "")
        assert case.reason in line, f"{case.name}: {line!r}"
    for case in IGNORED:
        assert f"{display_name(case.name)}: skipped (not a regular file)" in proc.stderr
    _check_ok_outputs(tmp_path / "out", [case.name for case in OK])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(Path(c.name).stem + ".jpg" for c in OK)
    assert _digest(folder) == before  # inputs untouched


@pytest.mark.slow
def test_corpus_through_the_daemon(tmp_path):
    config = write_config(tmp_path, settle_seconds=0.3)
    daemon = Daemon(config, wrap=as_unprivileged).start()
    try:
        staging, inbox = tmp_path / "staging", tmp_path / "in0"
        build(staging)
        for path in sorted(staging.iterdir()):
            os.rename(path, inbox / path.name)  # an atomic arrival, like a careful uploader
        quarantine, outbox = tmp_path / "quarantine0", tmp_path / "out0"

        def settled() -> bool:
            done = len(list(outbox.glob("*.jpg"))) == len(OK)
            return done and len(list(quarantine.glob("*.error.txt"))) == len(REFUSED)

        wait_for(settled, 120, message=daemon.log())
        _check_ok_outputs(outbox, [case.name for case in OK])
        for case in REFUSED:
            note = (quarantine / fit_name(case.name, ".error.txt")).read_text()
            assert case.reason in note and display_name(case.name) in note, f"{case.name}: {note!r}"
            assert (quarantine / case.name).exists() or (quarantine / case.name).is_symlink()
            assert daemon.metric("focuspress_files_quarantined_total", f'inbox="cam0",reason="{case.label}"') >= 1
        for case in IGNORED:
            assert os.path.lexists(inbox / case.name), case.name  # left alone, never journaled
        assert (tmp_path / f"outside-{staging.name}.png").exists()  # a hard link's other name keeps the data
        assert daemon.metric("focuspress_files_processed_total", 'inbox="cam0"') == len(OK)
        assert daemon.metric("focuspress_files_failed_total", 'inbox="cam0"') == len(REFUSED)
        status = daemon.status()
        assert status["state"] == "ready"
        states = status["inboxes"][0]["states"]
        assert states == {"done": len(OK), "quarantined": len(REFUSED)}
        reasons = {r["file"]: (r["reason"], r["error"]) for r in status["recent"] if r["outcome"] == "quarantined"}
        assert reasons["empty.jpg"][0] == "empty" and "empty file" in reasons["empty.jpg"][1]
        # still serving: a good file after all that is processed
        (inbox / "after.png").write_bytes(encode(synthetic_photo(seed=7)))
        wait_for(lambda: (outbox / "after.jpg").exists(), 60, message=daemon.log())
        assert "Traceback" not in daemon.log()
        assert daemon.stop() == 0
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()


def _processor(tmp_path, **overrides):
    config = DaemonConfig.model_validate(
        {
            "journal": str(tmp_path / "journal.sqlite3"),
            "saliency": "none",
            "retry_seconds": 5,
            "inboxes": [
                {
                    "name": "cam",
                    "path": str(tmp_path / "in"),
                    "outbox": str(tmp_path / "out"),
                    "archive": str(tmp_path / "done"),
                    "quarantine": str(tmp_path / "q"),
                }
            ],
            **overrides,
        }
    )
    (tmp_path / "in").mkdir(exist_ok=True)
    journal = Journal(config.journal)
    metrics = DaemonMetrics()
    retries = []
    executor = LocalExecutor("none")
    processor = Processor(config, journal, metrics, executor, lambda inbox, d: retries.append(inbox))
    return config, journal, metrics, processor, retries


def _journal_file(journal: Journal, path: Path):
    st = path.stat()
    journal.add_many([("cam", path, st.st_size, st.st_mtime_ns, 0.0)])
    return journal.latest(path)


def test_a_file_that_vanishes_before_it_is_read(tmp_path):
    config, journal, metrics, processor, _ = _processor(tmp_path)
    path = tmp_path / "in" / "gone.png"
    path.write_bytes(encode(synthetic_photo()))
    entry = _journal_file(journal, path)
    path.unlink()  # deleted by someone between settling and reading
    processor.process_batch([Job(entry, config.inboxes[0])])
    after = journal.entry(entry.id)
    assert after.state == "quarantined"
    assert metrics.files_quarantined.labels("cam", "vanished")._value.get() == 1
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


@pytest.mark.parametrize("grace", [0.0, 120.0])
def test_a_file_replaced_while_being_read_is_judged_on_what_was_read(tmp_path, monkeypatch, grace):
    """Truncated under the reader: never a partial output. Changed just now, it waits for the rest
    (within the upload grace); once the grace has passed, it is a clean refusal."""
    import focuspress.daemon.workers as workers_module

    config, journal, metrics, processor, _ = _processor(tmp_path, upload_grace_seconds=grace)
    path = tmp_path / "in" / "shrinks.png"
    data = encode(synthetic_photo(160, 200))
    path.write_bytes(data)
    entry = _journal_file(journal, path)
    real = workers_module.read_regular
    monkeypatch.setattr(workers_module, "read_regular", lambda p: real(p)[: len(data) // 3])
    processor.process_batch([Job(entry, config.inboxes[0])])
    assert not (tmp_path / "out" / "shrinks.jpg").exists()
    if grace == 0:
        assert journal.entry(entry.id).state == "quarantined"
        assert "truncated" in (tmp_path / "q" / "shrinks.png.error.txt").read_text()
    else:
        after = journal.entry(entry.id)
        assert after.state == "pending" and after.attempts == 0 and path.exists()
        assert metrics.uploads_waiting.labels("cam")._value.get() == 1


def test_disk_full_outbox_keeps_the_file_and_retries(tmp_path, monkeypatch):
    """Simulated ENOSPC (always runs); the tmpfs test below does it for real where mounting is allowed."""
    import focuspress.engine.io.write as write_module

    config, journal, metrics, processor, retries = _processor(tmp_path)
    path = tmp_path / "in" / "photo.png"
    path.write_bytes(encode(synthetic_photo()))
    entry = _journal_file(journal, path)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(write_module.os, "fsync", full)
    processor.process_batch([Job(entry, config.inboxes[0])])
    after = journal.entry(entry.id)
    assert after.state == "pending" and after.attempts == 0  # a full disk does not use up retries
    assert path.exists() and retries == ["cam"]
    assert metrics.output_errors.labels("cam", "no_space")._value.get() == 1
    assert metrics.inbox_paused.labels("cam")._value.get() == 1
    assert not list((tmp_path / "out").glob("*")), "a temp file was left behind"
    monkeypatch.undo()
    processor.process_batch([Job(journal.entry(entry.id), config.inboxes[0])])
    assert journal.entry(entry.id).state == "done"
    assert (tmp_path / "out" / "photo.jpg").exists() and not path.exists()


def _can_mount_tmpfs(target: Path) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    target.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(target)], capture_output=True)
    return proc.returncode == 0


@pytest.mark.slow
def test_disk_full_outbox_on_a_real_small_filesystem(tmp_path):
    outbox = tmp_path / "out0"
    if not _can_mount_tmpfs(outbox):
        pytest.skip("cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN); the simulated test covers it")
    try:
        config = write_config(tmp_path, retry_seconds=1, settle_seconds=0.3)
        daemon = Daemon(config).start()
        try:
            inbox = tmp_path / "in0"
            rng = np.random.default_rng(0)
            for i in range(3):  # noise compresses badly: each output is larger than the 64 KB disk
                noise = rng.integers(0, 256, (320, 320, 3), dtype=np.uint8)
                (tmp_path / f"n{i}.png").write_bytes(encode(noise))
                os.rename(tmp_path / f"n{i}.png", inbox / f"n{i}.png")
            wait_for(lambda: daemon.metric("focuspress_output_errors_total", 'inbox="cam0",reason="no_space"') >= 1, 60)
            assert daemon.metric("focuspress_inbox_paused", 'inbox="cam0"') == 1
            assert len(list(inbox.glob("*.png"))) == 3  # nothing lost, nothing quarantined
            assert not (tmp_path / "quarantine0").exists() or not list((tmp_path / "quarantine0").iterdir())
            subprocess.run(["mount", "-o", "remount,size=16m", str(outbox)], check=True)  # the operator frees space
            wait_for(lambda: len(list(outbox.glob("*.jpg"))) == 3, 60, message=daemon.log())
            wait_for(lambda: len(list((tmp_path / "done0").glob("*.png"))) == 3, 30)
            assert not [p for p in outbox.iterdir() if p.name.startswith(".")]  # no temp files left
            assert daemon.metric("focuspress_files_processed_total", 'inbox="cam0"') == 3
            assert daemon.stop() == 0
        finally:
            if daemon.proc and daemon.proc.poll() is None:
                daemon.kill()
    finally:
        subprocess.run(["umount", "-l", str(outbox)], capture_output=True)


def test_symlink_loop_directory_in_a_recursive_inbox(tmp_path):
    from focuspress.daemon.config import InboxConfig
    from focuspress.daemon.watcher import scan

    inbox = InboxConfig(name="cam", path=tmp_path / "in", outbox=tmp_path / "out", originals="keep", recursive=True)
    (tmp_path / "in" / "sub").mkdir(parents=True)
    os.symlink("..", tmp_path / "in" / "sub" / "up")  # sub/up -> in: a loop for anything that follows links
    (tmp_path / "in" / "sub" / "a.png").write_bytes(encode(synthetic_photo()))
    found = list(scan(inbox))
    assert found == [tmp_path / "in" / "sub" / "a.png"]


def test_staggered_outbox_pauses_never_strand_pending_files(tmp_path, monkeypatch):
    """Two files deferred a moment apart: once the later pause ends, both are fed again."""
    import focuspress.daemon.service as service_module
    from focuspress.daemon.service import Service
    from focuspress.daemon.workers import WorkerPool

    config, journal, metrics, _, _ = _processor(tmp_path)
    journal.close()
    service = Service(config)
    clock = [1000.0]
    monkeypatch.setattr(service_module.time, "monotonic", lambda: clock[0])
    fed: list[int] = []

    class Recorder:
        def process_batch(self, jobs):
            fed.extend(job.entry.id for job in jobs)

    service.pool = WorkerPool(Recorder(), 1, 16, 1, service.metrics)
    for name in ("a.png", "b.png"):
        path = tmp_path / "in" / name
        path.write_bytes(encode(synthetic_photo()))
        _journal_file(service.journal, path)
    service._enqueued_through = 2  # both were fed once and deferred:
    service._retry("cam", 5.0)  # a at t=1000 -> paused till 1005
    clock[0] = 1001.0
    service._retry("cam", 5.0)  # b at t=1001 -> paused till 1006; the rewind stays at 1005
    clock[0] = 1005.5
    service.tick()
    assert service.pool.queue.qsize() == 0  # still paused
    clock[0] = 1006.5
    service.tick()
    assert service.pool.queue.qsize() == 2  # both back in the queue once the pause is over
    service.journal.close()


def test_disk_full_in_the_cli_is_one_line_and_leaves_no_temp_file(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import focuspress.engine.io.write as write_module
    from focuspress.cli import app

    source = tmp_path / "photo.png"
    source.write_bytes(encode(synthetic_photo()))

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(write_module.os, "fsync", full)
    result = CliRunner().invoke(app, ["compress", str(source), "-o", str(tmp_path / "out"), "--saliency", "none"])
    assert result.exit_code == 2
    assert "cannot write output (no space left on device)" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert list((tmp_path / "out").iterdir()) == []  # the temp file was removed
    assert source.exists()


def test_running_out_of_memory_while_compressing_is_a_clean_refusal(monkeypatch):
    from focuspress.engine import CompressOptions, InputError
    from focuspress.engine.io import LoadedImage

    def exhausted(*args, **kwargs):
        raise MemoryError

    import focuspress.engine.ratecontrol.modes as modes

    monkeypatch.setattr(modes, "get_compositor", lambda name: type("Exhausted", (), {"prepare": exhausted})())
    with pytest.raises(InputError, match="128x96: not enough memory to compress this image"):
        Engine(saliency="none").compress(LoadedImage(rgb=synthetic_photo()), CompressOptions(quality=75))


def test_a_lost_worker_puts_the_file_back_and_a_repeat_offender_is_quarantined(tmp_path):
    """The Ray path's journal rules, with an executor whose worker dies under every photo."""
    from focuspress.engine.executors import WorkerLost

    config, journal, metrics, _, retries = _processor(tmp_path, max_attempts=2)

    class DyingExecutor:
        def run_batch(self, items, slot=0):
            raise WorkerLost(f"{items[0].name}: Ray worker lost (ActorDiedError)")

    processor = Processor(config, journal, metrics, DyingExecutor(), lambda inbox, d: retries.append(inbox))
    path = tmp_path / "in" / "poison.png"
    path.write_bytes(encode(synthetic_photo()))
    entry = _journal_file(journal, path)
    for expected_attempts in (1, 2):
        processor.process_batch([Job(journal.entry(entry.id), config.inboxes[0])])
        after = journal.entry(entry.id)
        assert after.state == "pending" and after.attempts == expected_attempts  # the attempt counts
    assert retries == [None, None] and metrics.worker_lost._value.get() == 2
    processor.process_batch([Job(journal.entry(entry.id), config.inboxes[0])])
    assert journal.entry(entry.id).state == "quarantined"
    assert "worker_crashed: " in (tmp_path / "q" / "poison.png.error.txt").read_text()
    assert metrics.files_quarantined.labels("cam", "worker_crashed")._value.get() == 1


def test_a_bug_met_on_a_photo_sets_it_aside_untouched_and_another_version_retries_it(tmp_path, monkeypatch):
    """An internal error is ours, not the photo's: the original stays in its inbox (not quarantined as
    broken input), the journal says set_aside with the version, the metric and log line say internal;
    a daemon of another version tries it again."""
    import focuspress
    import focuspress.engine.pipeline as pipeline

    config, journal, metrics, processor, _ = _processor(tmp_path)
    path = tmp_path / "in" / "odd.png"
    path.write_bytes(encode(synthetic_photo()))
    entry = _journal_file(journal, path)

    def broken(*args, **kwargs):
        raise ValueError("shapes differ")

    monkeypatch.setattr(pipeline, "encode", broken)
    processor.process_batch([Job(entry, config.inboxes[0])])
    after = journal.entry(entry.id)
    assert after.state == "set_aside"
    assert path.exists() and not (tmp_path / "q").exists()  # left where it was
    assert metrics.files_set_aside.labels("cam", "internal")._value.get() == 1
    assert metrics.files_quarantined.labels("cam", "undecodable")._value.get() == 0
    recent = metrics.recent[-1]
    assert recent["outcome"] == "set_aside" and recent["reason"] == "internal"
    assert "odd.png: internal error: ValueError: shapes differ" in recent["error"]
    assert journal.retry_set_aside(focuspress.__version__) == 0  # the same version: not again
    assert journal.retry_set_aside("9.9.9") == 1  # an upgrade: pending again
    monkeypatch.undo()
    processor.process_batch([Job(journal.entry(entry.id), config.inboxes[0])])
    assert journal.entry(entry.id).state == "done"
    assert (tmp_path / "out" / "odd.jpg").exists()


def test_an_internal_error_exits_1_in_the_cli_naming_the_photo(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import focuspress.engine.pipeline as pipeline
    from focuspress.cli import app

    source = tmp_path / "odd.png"
    source.write_bytes(encode(synthetic_photo(90, 131)))  # told apart by its width below
    good = tmp_path / "good.png"
    good.write_bytes(encode(synthetic_photo(seed=1)))

    real = pipeline.encode

    def broken(image, importance, options):
        if image.width == 131:
            raise ValueError("shapes differ")
        return real(image, importance, options)

    monkeypatch.setattr(pipeline, "encode", broken)
    result = CliRunner().invoke(
        app, ["compress", str(source), str(good), "-o", str(tmp_path / "out"), "--saliency", "none", "-q", "80"]
    )
    assert result.exit_code == 1, result.output
    assert "odd.png: internal error: ValueError: shapes differ" in result.output
    assert (tmp_path / "out" / "good.jpg").exists()  # the others are still done
