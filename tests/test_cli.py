"""The command line: exit codes, messages, outputs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.conftest import encode, synthetic_photo

CLI = [sys.executable, "-m", "focuspress"]


def run(*args, cwd=None):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_help_teaches():
    proc = run("compress", "--help")
    assert proc.returncode == 0
    assert "--target-size" in proc.stdout and "--roi-strength" in proc.stdout and "Example" in proc.stdout


def test_bad_inputs_exit_2_without_traceback(tmp_path):
    good = tmp_path / "good.png"
    good.write_bytes(encode(synthetic_photo()))
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a jpeg")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    proc = run("compress", good, bad, empty, "-o", tmp_path / "out", "--saliency", "none")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "bad.jpg: cannot decode" in proc.stderr and "empty.png: empty file" in proc.stderr
    assert (tmp_path / "out" / "good.jpg").exists()  # the good one still got done
    assert not (tmp_path / "out" / "bad.jpg").exists()


def test_refuses_to_overwrite_input(tmp_path):
    src = tmp_path / "photo.jpg"
    Image.fromarray(synthetic_photo()).save(src, quality=95)
    before = src.read_bytes()
    proc = run("compress", src, "-o", tmp_path, "--saliency", "none")
    assert proc.returncode == 2 and "refusing to overwrite" in proc.stderr
    assert src.read_bytes() == before


def test_bad_option_values_exit_2(tmp_path):
    good = tmp_path / "good.png"
    good.write_bytes(encode(synthetic_photo()))
    assert run("compress", good, "-q", "150").returncode == 2
    proc = run("compress", good, "--compositor", "magic", "-o", tmp_path / "o")
    assert proc.returncode == 2 and "compositor must be" in proc.stderr


@pytest.mark.slow
def test_compress_and_map_with_the_model(tmp_path, sample_path):
    out = tmp_path / "out"
    proc = run("compress", sample_path, "-o", out, "--metrics")
    assert proc.returncode == 0, proc.stderr
    jpg = out / "astronaut.jpg"
    decoded = np.asarray(Image.open(jpg).convert("RGB"))
    assert decoded.shape == (512, 512, 3)
    assert jpg.stat().st_size < sample_path.stat().st_size / 4
    assert "SSIMULACRA2" in proc.stdout
    proc = run("map", sample_path, "-o", out)
    assert proc.returncode == 0, proc.stderr
    grey = np.asarray(Image.open(out / "astronaut.map.png"))
    assert grey.shape == (512, 512) and grey.max() > 200
