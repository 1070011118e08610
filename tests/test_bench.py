"""The benchmark harness: a real (small) sweep, the report, and the codec registry."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from focuspress.bench import codecs, report
from focuspress.bench.photos import detailed_photo
from tests.conftest import encode, synthetic_photo


def test_registry_has_every_anchor():
    from focuspress.bench.publish import ECSSD_CODECS, JPEG_CODECS, KODAK_CODECS

    assert set(KODAK_CODECS) | set(ECSSD_CODECS) | set(JPEG_CODECS) <= set(codecs.available())
    assert {"jpeg-turbo", "mozjpeg", "jpegli", "webp", "avif-444", "avif-420", "jxl"} <= set(KODAK_CODECS)
    with pytest.raises(KeyError, match="unknown codec"):
        codecs.get("nope")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--codecs", "jpeg-turbo,nope"], "error: unknown codec(s): nope; known: "),
        (["--anchor", "nope"], "error: --anchor: unknown codec 'nope'; known: "),
        (["--s2-window", "x"], "error: --s2-window takes two numbers like 50,90 (got x)"),
    ],
    ids=["codecs", "anchor", "s2-window"],
)
def test_a_bad_bench_option_is_one_line(tmp_path, args, line):
    """`focuspress bench` refuses an unknown codec, anchor or window before any work: one line, exit 2
    (an unknown ``--anchor`` ended in a KeyError's traceback)."""
    from typer.testing import CliRunner

    from focuspress.cli import app

    (tmp_path / "a.png").write_bytes(encode(synthetic_photo(32, 32)))
    result = CliRunner().invoke(app, ["bench", "--data", str(tmp_path), "--codecs", "jpeg-turbo", *args])
    assert result.exit_code == 2, result.output
    assert len(result.output.splitlines()) == 1 and result.output.startswith(line), result.output


@pytest.mark.parametrize("command", ["throughput", "daemon"])
def test_a_load_test_on_a_folder_without_images_is_one_line(tmp_path, command):
    """`bench throughput` and `bench daemon` on an empty folder: one line and exit 2 (a bad input), not
    a bare exit 1 from inside the load test; on a missing folder the same."""
    from typer.testing import CliRunner

    from focuspress.cli import app

    for data, line in ((tmp_path, f"error: {tmp_path}: no images"), (tmp_path / "nope", "error: --data must be a")):
        result = CliRunner().invoke(app, ["bench", command, "--data", str(data)])
        assert result.exit_code == 2, result.output
        assert len(result.output.splitlines()) == 1 and result.output.startswith(line), result.output


@pytest.mark.parametrize("command", [["latency"], ["memory"]], ids=["latency", "memory"])
def test_a_bench_photo_that_is_missing_or_no_image_is_one_line(tmp_path, command):
    """`bench latency` and `bench memory` on a photo that is not there or is not an image: one line,
    exit 2 (both ended in the engine's error's traceback), through the installed entry point."""
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    for photo, line in ((tmp_path / "nope.jpg", "nope.jpg: no such file"), (text, "notes.jpg: cannot decode image")):
        proc = subprocess.run(
            [sys.executable, "-m", "focuspress", "bench", *command, str(photo)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr and line in proc.stderr.splitlines()[-1], proc.stderr
        assert [row for row in proc.stderr.splitlines() if row.startswith("error:")] == [proc.stderr.splitlines()[-1]]


def test_publish_never_overwrites_notes_written_by_hand(tmp_path):
    """`bench publish` rewrites benchmarks/README.md only while it is what publish last wrote there:
    a page with notes added by hand (this repository's, a thousand lines of them) gets the new page
    beside it, README.generated.md, unless --overwrite."""
    from focuspress.bench.publish import write_readme

    readme = tmp_path / "README.md"
    first = write_readme({}, tmp_path)  # none there yet: written
    assert first == readme and readme.read_text().startswith("# Benchmarks")
    assert write_readme({}, tmp_path) == readme  # untouched since: replaced
    readme.write_text(readme.read_text() + "\nA note on the 1920x1080 tail, by hand.\n")
    beside = write_readme({}, tmp_path)
    assert beside == tmp_path / "README.generated.md" and "by hand" in readme.read_text()
    assert write_readme({}, tmp_path, overwrite=True) == readme and "by hand" not in readme.read_text()


def test_publish_with_nothing_to_publish_is_one_line(tmp_path):
    """A --data-root with none of the sections' data and no saved results: refused in one line, exit 2,
    instead of a page with no tables written over the old one."""
    from typer.testing import CliRunner

    from focuspress.cli import app

    result = CliRunner().invoke(
        app, ["bench", "publish", "--data-root", str(tmp_path / "nope"), "-o", str(tmp_path / "out")]
    )
    assert result.exit_code == 2, result.output
    assert result.output.splitlines()[-1].startswith("error: nothing to publish: no section's data under")
    assert not (tmp_path / "out" / "README.md").exists()


def test_savings_says_a_png_has_no_lossless_rescan(tmp_path):
    """`bench savings` on a folder that holds a PNG: its re-scan column says why it is empty, not
    "+nan%" (the median is over the JPEGs)."""
    from focuspress.bench.latency import savings

    png = tmp_path / "a.png"
    png.write_bytes(encode(synthetic_photo(64, 96)))
    lines = savings([png], saliency="none")
    assert "nan" not in " ".join(lines)
    assert lines[0].endswith("mozjpeg's lossless re-scan alone: n/a (not a JPEG)")


@pytest.mark.parametrize("name", ["jpeg-turbo", "mozjpeg", "jpegli", "webp", "avif-420", "jxl"])
def test_each_anchor_roundtrips_and_rate_grows_with_knob(name):
    codec = codecs.get(name)
    rgb = synthetic_photo(64, 80)
    low, high = codec.knobs[1], codec.knobs[-2]
    small, big = codec.encode(rgb, low, None), codec.encode(rgb, high, None)
    assert len(small) < len(big)
    decoded = codec.decode(big)
    assert decoded.shape == rgb.shape
    assert np.abs(decoded.astype(int) - rgb.astype(int)).mean() < 10


@pytest.mark.slow
def test_quick_bench_end_to_end(tmp_path):
    data = tmp_path / "data"
    masks = tmp_path / "masks"
    data.mkdir()
    masks.mkdir()
    for i in range(2):
        (data / f"img{i}.png").write_bytes(encode(synthetic_photo(96, 128, seed=i)))
        mask = np.zeros((96, 128), np.uint8)
        mask[20:70, 30:90] = 255
        (masks / f"img{i}.png").write_bytes(encode(mask))
    out = tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "focuspress",
            "bench",
            "--data",
            str(data),
            "--masks",
            str(masks),
            "--quick",
            "--codecs",
            "focuspress-block-roi0,jpeg-turbo,webp",
            "--jobs",
            "2",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    rows = json.loads((out / "results.json").read_text())
    assert {r["codec"] for r in rows} == {"focuspress-block-roi0", "jpeg-turbo", "webp"}
    assert all(r["roi_psnr"] is not None and r["bpp"] > 0 for r in rows)
    summary = (out / "summary.md").read_text()
    assert "| jpeg-turbo | +0.0%" in summary
    assert (out / "rd_ssimulacra2.png").stat().st_size > 1000
    table = report.bd_table(rows, "jpeg-turbo")
    assert table["jpeg-turbo"]["psnr"] == pytest.approx(0.0, abs=1e-9)
    assert np.isfinite(table["webp"]["ssimulacra2"])


@pytest.mark.slow
def test_jpeg_source_bench_scores_against_the_decoded_source(tmp_path):
    """--source-jpeg: focuspress gets the file, re-encoders its pixels, lossless transcodes their size."""
    data = tmp_path / "data"
    data.mkdir()
    for i in range(2):
        (data / f"img{i}.png").write_bytes(encode(synthetic_photo(96, 128, seed=i)))
    out = tmp_path / "results"
    codec_list = "focuspress-block-roi0,focuspress-block-roi0-pixel-route,jpeg-turbo,mozjpeg-lossless,jxl-jpeg"
    command = [sys.executable, "-m", "focuspress", "bench", "--data", str(data), "--quick", "--source-jpeg", "90",
               "--codecs", codec_list, "--s2-window", "60,90", "-o", str(out)]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads((out / "results.json").read_text())
    sized = [r for r in rows if r["size_only"]]
    assert {r["codec"] for r in sized} == {"mozjpeg-lossless", "jxl-jpeg"} and len(sized) == 4
    assert all(r["ssimulacra2"] == 100.0 and r["bytes"] < r["source_bytes"] for r in sized)
    assert all(r["source_bytes"] > 0 for r in rows)
    summary = (out / "summary.md").read_text()
    assert "Sources are JPEGs" in summary and "Lossless transcodes of the source" in summary
    assert "| focuspress-block-roi0-pixel-route |" in summary


@pytest.mark.slow
def test_contract_bench_searches_meet_the_same_targets(tmp_path):
    """bench contract: focuspress at its contract, mozjpeg and jpegli searched for the same targets
    (full metric), the lossless floor, and the time pass; every search's answer meets the targets."""
    from PIL import Image

    data = tmp_path / "camera"
    data.mkdir()
    Image.fromarray(synthetic_photo(480, 640, seed=3)).save(data / "cam.jpg", quality=96, subsampling=1)  # 4:2:2
    out = tmp_path / "results"
    command = [sys.executable, "-m", "focuspress", "bench", "contract", "--data", str(data), "--jobs", "1",
               "-o", str(out)]  # fmt: skip
    proc = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads((out / "results.json").read_text())
    source = (data / "cam.jpg").stat().st_size
    assert row["source_bytes"] == source and 0 < row["focuspress_bytes"] < row["source_image_bytes"] <= source
    assert row["photo"] >= 80.0 - 0.5  # exact scoring at this size: the full metric agrees
    for codec in ("mozjpeg", "jpegli"):  # the lowest quality that meets both, or 100 where none does
        photo, subject = row[f"{codec}_scores"]
        met = photo >= 80.0 and (subject is None or subject >= 90.0)
        assert met or row[f"{codec}_quality"] == 100
        assert 40 <= row[f"{codec}_quality"] <= 100
    assert 0 < row["mozjpeg_lossless_bytes"] < row["source_image_bytes"]  # the floor: the same image, re-scanned
    assert row["contract_seconds"] > 0 and row["fixed_seconds"] > 0
    summary = (out / "summary.md").read_text()
    assert "bytes / mozjpeg search" in summary and "| cam |" in summary


def test_the_size_sweep_reports_each_size_and_its_worst_photo(tmp_path):
    """bench latency --sizes: a row per size the photos hold (a size larger than every photo is left
    out), the contract's ratio to one fixed encode summed over the photos, and the worst photo's,
    which no sum of the same photos can exceed."""
    from focuspress.bench.latency import size_sweep, sweep_lines
    from tests.camera import camera_jpeg

    paths = []
    for seed, subsampling in ((1, 2), (2, 1)):  # a 4:2:0 photo and a 4:2:2 one
        rgb = np.asarray(Image.fromarray(detailed_photo(240, 320, seed=seed)).resize((800, 600), Image.BICUBIC))
        path = tmp_path / f"cam{seed}.jpg"
        path.write_bytes(camera_jpeg(rgb, subsampling=subsampling))
        paths.append(path)
    rows = size_sweep(paths, sizes=[(640, 480), (1024, 768), None], repeat=1, saliency="none")
    assert [row.label for row in rows] == ["640x480", "whole photos"]
    for row in rows:
        assert row.photos == 2 and row.contract > 0 and row.fixed > 0 and row.mozjpeg > 0
        assert row.worst >= row.ratio * 0.999
    lines = sweep_lines(rows, 75.0)
    assert "worst photo" in lines[0] and len(lines) == 4 and f"{rows[0].worst:.2f}x" in lines[2]
