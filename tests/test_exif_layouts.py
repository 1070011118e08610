"""``--metadata no-location`` removes the GPS directory and nothing else, however the EXIF is laid out.

Writers place EXIF's directories and values in every order; the edit is in place (maker notes
keep their offsets), so it must know which bytes the GPS directory alone owns. Each layout of
``tests/exif_layouts.py`` is compressed under no-location and read back with exiftool: every
tag that is not a location reads back identical, no GPS tag is left, and the GPS values' bytes
are gone from the file.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import focuspress
from focuspress.engine.io.exif import has_location, without_location
from focuspress.engine.io.metadata import Metadata, with_metadata
from tests.exif_layouts import LAYOUTS, exif_layout

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(
    EXIFTOOL is None, reason="exiftool not installed (apt install libimage-exiftool-perl)"
)
#: the GPS latitude's value bytes (52 deg 31' 12"), which must not survive in the output
LATITUDE = struct.pack("<6I", 52, 1, 31, 1, 12, 1)


def _tags(path: Path) -> dict:
    command = [EXIFTOOL, "-j", "-G1", "-a", "-u", "-EXIF:all", "-MakerNotes:all", str(path)]
    found = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)[0]
    found.pop("SourceFile", None)
    return found


def _source(layout: str) -> bytes:
    out = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 255, (64, 96, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(out, "JPEG", quality=95)
    return with_metadata(out.getvalue(), Metadata(exif=exif_layout(layout)))


@needs_exiftool
@pytest.mark.parametrize("layout", LAYOUTS)
def test_no_location_keeps_every_other_tag(tmp_path, layout):
    source = tmp_path / "source.jpg"
    source.write_bytes(_source(layout))
    before = _tags(source)
    assert has_location(exif_layout(layout)), "the made source has no GPS directory to remove"
    assert "ExifIFD:DateTimeOriginal" in before and "Canon:CanonImageType" in before, before
    result = focuspress.compress(source, quality=90, metadata="no-location", saliency="none", min_saving=0)
    output = result.save(tmp_path / "out.jpg")
    after = _tags(output)
    changed = {key: (before[key], after.get(key)) for key in before if not key.startswith("GPS:")}
    changed = {key: pair for key, pair in changed.items() if pair[0] != pair[1]}
    assert changed == {}
    assert [key for key in after if key.startswith("GPS:")] == []
    assert LATITUDE not in output.read_bytes()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_edit_keeps_the_blocks_length_and_unlinks_gps(layout):
    block = exif_layout(layout)
    edited = without_location(block)
    assert edited is not None and len(edited) == len(block)
    assert has_location(block) and not has_location(edited)
