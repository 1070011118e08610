"""The installed shape: one namespace, the documented API, one options schema everywhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tomllib
from PIL import Image

from tests.conftest import encode, synthetic_photo

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_on_disk_is_installed_under_focuspress():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping, listed = config["package-dir"], set(config["packages"])
    on_disk = set()
    for name, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            on_disk.add(".".join([name, *relative.parts]))
    assert on_disk <= listed, f"subpackages missing from pyproject.toml: {sorted(on_disk - listed)}"
    assert all(name == "focuspress" or name.startswith("focuspress.") for name in listed)


def test_no_generic_name_is_importable_from_a_neutral_folder(tmp_path):
    code = (
        "import importlib.util, focuspress\n"
        "print([n for n in ('engine', 'daemon', 'bench', 'training') if importlib.util.find_spec(n)])\n"
        "from focuspress import compress, importance_map; print('api ok')"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["[]", "api ok"]


def test_version_comes_from_the_package_metadata():
    from importlib.metadata import version

    import focuspress

    assert focuspress.__version__ == version("focuspress")
    assert "version =" not in (ROOT / "src" / "focuspress" / "__init__.py").read_text()


def test_compress_takes_a_path_bytes_or_an_array_and_saves(tmp_path):
    import focuspress

    rgb = synthetic_photo()
    path = tmp_path / "p.png"
    path.write_bytes(encode(rgb))
    results = [
        focuspress.compress(path, saliency="none", quality=70),
        focuspress.compress(path.read_bytes(), saliency="none", quality=70),
        focuspress.compress(rgb, saliency="none", quality=70),
    ]
    assert results[0].data == results[1].data == results[2].data
    result = results[0]
    assert result.data[:2] == b"\xff\xd8" and result.quality == 70 and (result.width, result.height) == (128, 96)
    saved = result.save(tmp_path / "out" / "p.jpg")
    assert Image.open(saved).size == (128, 96) and saved.read_bytes() == result.data
    with pytest.raises(focuspress.OptionsError, match="progressive: must be one of"):
        focuspress.compress(rgb, progressive="bogus")
    with pytest.raises(focuspress.InputError, match="HxWx3 uint8"):
        focuspress.compress(rgb.astype(np.float32))


def test_importance_map_is_hxw_float32_in_unit_range():
    import focuspress

    heat = focuspress.importance_map(synthetic_photo(), saliency="faces")
    assert heat.shape == (96, 128) and heat.dtype == np.float32
    assert float(heat.min()) >= 0.0 and float(heat.max()) <= 1.0


def test_one_schema_drives_the_cli_the_daemon_and_the_gui():
    from focuspress.cli import app
    from focuspress.daemon.config import InboxConfig
    from focuspress.engine.options import CompressOptions
    from focuspress.gui.server import FORM_FIELDS

    fields = set(CompressOptions.model_fields)
    command = next(c for c in app.registered_commands if c.callback.__name__ == "compress")
    import inspect

    cli_params = set(inspect.signature(command.callback).parameters)
    assert fields <= cli_params
    assert InboxConfig.model_fields["compress"].annotation is CompressOptions
    assert set(FORM_FIELDS) <= fields
