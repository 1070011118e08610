"""The house's structure holds: one rate-control registry, the pipeline keeping only what is asked for,
``focuspress map`` showing the map compress uses, bench and training apart, and the loader and the
JPEG file layer below the stages that use them."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import get_args

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, encode, synthetic_photo


def test_every_mode_has_its_rate_control_and_the_contract_is_one_entry():
    from focuspress.engine.fidelity.contract import meet_contract
    from focuspress.engine.options import CompressOptions, Mode
    from focuspress.engine.ratecontrol import RATE_CONTROL_MODES, rate_control

    assert set(RATE_CONTROL_MODES) == set(get_args(Mode))
    assert rate_control("contract") is meet_contract
    with pytest.raises(KeyError, match="known: contract, quality, size, score"):
        rate_control("bogus")
    for options in (CompressOptions(), CompressOptions(quality=80), CompressOptions(target_size=9000)):
        assert callable(rate_control(options.mode))


def test_the_pipeline_keeps_the_decoded_photo_only_where_asked():
    from focuspress.engine.api import Engine
    from focuspress.engine.options import CompressOptions
    from focuspress.engine.pipeline import Work

    engine = Engine("none")
    data = encode(synthetic_photo())
    kept, dropped = engine.run(
        [
            Work(data, "a.png", CompressOptions(quality=80), keep_image=True),
            Work(data, "b.png", CompressOptions(quality=80)),
        ]
    )
    assert kept.image is not None and kept.image.rgb.shape == (96, 128, 3)
    assert dropped.image is None and dropped.result is not None


def test_the_local_executor_keeps_nothing_unless_asked(tmp_path):
    from focuspress.engine.executors.local import LocalExecutor
    from focuspress.engine.options import CompressOptions

    path = tmp_path / "a.png"
    path.write_bytes(encode(synthetic_photo()))
    executor = LocalExecutor("none")
    ((_, plain),) = executor.map([path], CompressOptions(quality=80))
    ((_, kept),) = executor.map([path], CompressOptions(quality=80), keep_image=True)
    assert plain.image is None and kept.image is not None


def test_focuspress_map_shows_the_map_compress_uses(tmp_path):
    """A big JPEG is mapped from its preview by compress; ``focuspress map`` goes through the same stages."""
    import focuspress

    rng = np.random.default_rng(3)
    rgb = np.asarray(Image.fromarray(synthetic_photo(240, 320, seed=3)).resize((1600, 1200), Image.BICUBIC))
    rgb = np.clip(rgb.astype(np.int16) + rng.integers(-4, 5, rgb.shape), 0, 255).astype(np.uint8)
    source = tmp_path / "big.jpg"
    Image.fromarray(rgb).save(source, "JPEG", quality=92)
    proc = subprocess.run(
        [sys.executable, "-m", "focuspress", "map", str(source), "-o", str(tmp_path), "--saliency", "trained"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    shown = np.asarray(Image.open(tmp_path / "big.map.png"))
    result = focuspress.compress(source, saliency="trained", quality=80)
    expected = np.clip(np.round(result.importance_at(1200, 1600) * 255), 0, 255).astype(np.uint8)
    assert shown.shape == expected.shape and np.abs(shown.astype(int) - expected.astype(int)).max() <= 1


def _imports_from(folder: Path, prefixes: tuple[str, ...]) -> list[str]:
    """Every import in ``folder``'s modules (functions' own imports too) of a module under ``prefixes``."""
    imported = []
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            imported += [f"{path.relative_to(ROOT)}: {name}" for name in names if name.startswith(prefixes)]
    return imported


@pytest.mark.parametrize("package, other", [("bench", "training"), ("training", "bench")])
def test_bench_and_training_do_not_import_each_other(package, other):
    assert _imports_from(ROOT / package, (f"focuspress.{other}",)) == []


@pytest.mark.parametrize("folder", ["engine/io", "engine/jpegfile"])
def test_loading_and_jpeg_files_do_not_import_the_stages_after_them(folder):
    """Data flows one way (load -> map -> composite -> write): the loader and the JPEG file layer
    (levels in and out of files, which the loader and the compositors both use) import none of the
    stages that consume them. Before round 5 the loader reached into the block compositor's writer
    for an arithmetic-coded JPEG's Huffman copy."""
    later = tuple(
        f"focuspress.engine.{stage}"
        for stage in ("compositor", "fidelity", "ratecontrol", "saliency", "pipeline", "api", "executors")
    )
    assert _imports_from(ROOT / folder, later) == []


def test_public_type_names_are_defined_once():
    """``Outcome``, ``Route``, ``Compositor`` and ``Pipeline`` each name one thing in the package."""
    names = {"Outcome": [], "Route": [], "Compositor": [], "Pipeline": [], "CompressResult": []}
    for folder in ("engine", "daemon", "bench", "training", "src/focuspress"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text())
            for node in tree.body:
                targets = []
                if isinstance(node, ast.ClassDef):
                    targets = [node.name]
                elif isinstance(node, ast.Assign):
                    targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    targets = [node.target.id]
                for name in targets:
                    if name in names:
                        names[name].append(str(Path(path).relative_to(ROOT)))
    assert {name: where for name, where in names.items() if len(where) > 1} == {}
