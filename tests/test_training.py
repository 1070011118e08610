"""The training command on tiny generated datasets: it runs, resumes, logs and learns."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from focuspress.training.datasets import layout, mask_pairs, split
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _mask_dataset(root, n=10, side=96):
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        img = rng.integers(0, 80, (side, side, 3), dtype=np.uint8)
        mask = np.zeros((side, side), np.uint8)
        y, x = rng.integers(10, side // 2, 2)
        img[y : y + 40, x : x + 40] = (220, 60, 40)  # a red object on dark noise
        mask[y : y + 40, x : x + 40] = 255
        Image.fromarray(img).save(root / "images" / f"{i:03d}.jpg", quality=95)
        Image.fromarray(mask).save(root / "masks" / f"{i:03d}.png")


def test_split_is_fixed_and_disjoint(tmp_path):
    _mask_dataset(tmp_path, n=10)
    pairs = mask_pairs(tmp_path)
    val, train = split(pairs, "val"), split(pairs, "train")
    assert len(val) == 2 and len(train) == 8 and not set(val) & set(train)
    assert layout(tmp_path) == "masks"
    with pytest.raises(ValueError):
        layout(tmp_path / "images")


def _train(data, run, *extra) -> subprocess.CompletedProcess:
    args = ["train", "saliency", "--data", str(data), "-o", str(run), *extra]
    return subprocess.run([sys.executable, "-m", "focuspress", *args], capture_output=True, text=True, timeout=600)


def test_train_saliency_learns_and_resumes(tmp_path):
    data, run = tmp_path / "data", tmp_path / "run"
    _mask_dataset(data)
    first = _train(data, run, "--epochs", "6", "--views", "2")
    assert first.returncode == 0, first.stderr
    rows = list(csv.DictReader(open(run / "log.csv")))
    assert [int(r["epoch"]) for r in rows] == list(range(1, 7))
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])
    assert (run / "saliency_head.npz").exists()
    again = _train(data, run, "--epochs", "8", "--views", "2")
    assert again.returncode == 0, again.stderr
    rows = list(csv.DictReader(open(run / "log.csv")))
    assert [int(r["epoch"]) for r in rows] == list(range(1, 9))  # resumed at 7, not restarted


def test_train_classes_layout(tmp_path):
    rng = np.random.default_rng(1)
    data = tmp_path / "classes"
    for name, colour in (("red", (220, 30, 30)), ("blue", (30, 30, 220))):
        (data / name).mkdir(parents=True)
        for i in range(6):
            img = rng.integers(0, 60, (64, 64, 3), dtype=np.uint8)
            img[16:48, 16:48] = colour
            Image.fromarray(img).save(data / name / f"{i}.jpg")
    (data / "notes").mkdir()  # a folder without images is not a class
    proc = _train(data, tmp_path / "run", "--epochs", "30")
    assert proc.returncode == 0, proc.stderr
    weights = np.load(tmp_path / "run" / "cam_classifier.npz")
    assert weights["kernel"].shape == (1280, 2) and list(weights["classes"]) == ["blue", "red"]
    # the cam map uses the trained classes when their weights are given (installed)
    from focuspress.engine.saliency.cam import CamSaliency

    cam = CamSaliency(classifier=tmp_path / "run" / "cam_classifier.npz")
    assert cam.classes == ["blue", "red"] and cam.top_k == 2
    square = np.zeros((128, 128, 3), np.uint8)
    square[32:96, 32:96] = (220, 30, 30)
    heat = cam.predict(square)
    assert heat.shape == (128, 128) and heat[48:80, 48:80].mean() > heat[:16, :16].mean()


def test_background_cost_measures_the_lambda_curve_against_coarser_tables():
    """The diagnostic behind the contract's byte floor (training/background_cost.py): a camera-like
    JPEG, all background, gets cheaper and scores lower as the multiplier grows at the subject's
    tables, and as the tables coarsen; the cost is the lambda curve's BD-rate against the tables'."""
    import io

    from focuspress.training.background_cost import cost, curves

    rgb = np.asarray(Image.open(ROOT / "samples" / "astronaut.png").convert("RGB"))[:256, 96:352]
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=95, subsampling=2)
    tables, lambdas = curves(buffer.getvalue())
    for curve in (lambdas, tables[::-1]):  # the multiplier up, the table quality down
        bits, scores = np.array(curve).T
        assert np.all(np.diff(bits) < 0), curve
        assert scores[-1] < scores[0] - 5, curve
    assert cost(tables, tables) == pytest.approx(0.0, abs=1e-6)
    dearer = [(1.1 * bpp, score) for bpp, score in tables]
    assert cost(tables, dearer) == pytest.approx(10.0, abs=0.1)
    assert np.isnan(cost(tables, [(1.0, 99.0), (2.0, 99.5)]))  # no overlap inside 65..85
