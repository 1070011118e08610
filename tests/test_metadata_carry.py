"""Everything a camera file carries survives: maker notes, thumbnails, MPF images, trailers, APPn.

Read back with exiftool on the cameras' own files (``../shared/data/camera-native``), a phone's
HEIC (``../shared/data/heic``) and made cases (an MPF gain map, a motion-photo trailer); plus the
CLI for camera dumps (``--recursive``) and native decoder warnings named per file.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps, features

import focuspress
from focuspress.bench.photos import detailed_photo, encoded
from focuspress.engine.io.metadata import XMP_HEADER, Metadata, with_metadata
from tests.conftest import SHARED

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(
    EXIFTOOL is None, reason="exiftool not installed (apt install libimage-exiftool-perl)"
)


def _tags(path: Path, *selection: str) -> dict:
    command = [EXIFTOOL, "-j", "-G1", "-a", "-u", "-b", *selection, str(path)]
    found = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)[0]
    found.pop("SourceFile", None)
    return found


#: maker-note tags that are positions in the file, not content: the data they point at is compared instead
_POSITIONS = ("ImageStart", "Offset", "Offsets")


@pytest.mark.slow
@pytest.mark.data
@needs_exiftool
@pytest.mark.parametrize("policy", ["keep", "no-location"])
def test_maker_notes_read_back_identical_on_camera_files(tmp_path, policy):
    folder = SHARED / "camera-native"
    if not folder.is_dir():
        pytest.skip(f"shared data absent: {folder}")
    different = {}
    thumbnails = 0
    for source in sorted(folder.glob("*.jpg")):
        out = focuspress.compress(source, metadata=policy, quality=80).save(tmp_path / source.name)
        # every EXIF tag (IFD0, Exif, Interop, IFD1) and maker-note tag but the location's
        before, after = _tags(source, "-EXIF:all", "-MakerNotes:all"), _tags(out, "-EXIF:all", "-MakerNotes:all")
        changed = [
            key
            for key in before
            if before[key] != after.get(key) and not key.endswith(_POSITIONS) and not key.startswith("GPS:")
        ]
        thumbnail = _tags(source, "-ThumbnailImage").get("IFD1:ThumbnailImage")
        thumbnails += thumbnail is not None
        if thumbnail != _tags(out, "-ThumbnailImage").get("IFD1:ThumbnailImage"):
            changed.append("thumbnail")
        if _tags(source, "-PreviewImage") != _tags(out, "-PreviewImage"):
            changed.append("preview image")
        if changed:
            different[source.name] = changed
        gps = [key for key in _tags(out) if key.startswith("GPS:")]
        if policy == "no-location":
            assert not gps, f"{source.name}: {gps}"
    assert thumbnails > 0, "no camera file with an EXIF thumbnail: the thumbnail check compared nothing"
    assert different == {}


@pytest.mark.data
@needs_exiftool
@pytest.mark.parametrize("policy", ["keep", "no-location", "strip"])
def test_a_phones_heic_compresses_with_its_metadata(tmp_path, policy):
    heic = SHARED / "heic" / "IMG_2929.heic"
    if not heic.exists():
        pytest.skip(f"shared data absent: {heic}")
    located = tmp_path / "located.heic"
    shutil.copy(heic, located)
    subprocess.run(
        [EXIFTOOL, "-q", "-overwrite_original", "-GPSLatitude=52.5", "-GPSLatitudeRef=N", str(located)], check=True
    )
    result = focuspress.compress(located, metadata=policy, saliency="none", quality=80)
    out = result.save(tmp_path / "out.jpg")
    tags = _tags(out)
    assert Image.open(out).format == "JPEG" and Image.open(out).size == (3024, 4032)  # upright
    assert "ICC_Profile:ProfileDescription" in tags  # Display P3 carried under every policy
    if policy == "strip":
        assert "IFD0:Make" not in tags and not any(k.startswith("XMP") for k in tags)
        return
    assert tags["IFD0:Make"] == "Apple" and tags["IFD0:Model"] == "iPhone 11 Pro"
    assert tags["ExifIFD:DateTimeOriginal"] == "2020:05:04 18:44:06"
    assert any(k.startswith("XMP") for k in tags)
    assert ("GPS:GPSLatitude" in tags) == (policy == "keep")


@needs_exiftool
@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF plugin (Pillow >= 11.3 wheels do)")
@pytest.mark.parametrize("policy", ["keep", "no-location", "strip"])
def test_an_avif_compresses_upright_with_its_metadata(tmp_path, policy):
    """AVIF (Pillow's plugin): stored 640x480 with Orientation 6, so shown 480x640; a JPEG out, upright,
    with the camera's tags and location as the policy says, and its ICC profile under every policy."""
    photo = detailed_photo(480, 640)
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "Focus", "Cam 1", 6
    exif.get_ifd(0x8825).update({1: "N", 2: (52.0, 30.0, 0.0)})
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / "snap.avif"
    Image.fromarray(photo).save(path, "AVIF", quality=90, exif=exif.tobytes(), icc_profile=icc)
    result = focuspress.compress(path, metadata=policy, saliency="none", quality=90)
    out = result.save(tmp_path / "out.jpg")
    with Image.open(out) as shown:
        assert shown.format == "JPEG"
        upright = np.asarray((ImageOps.exif_transpose(shown) or shown).convert("RGB"), dtype=np.float32)
    assert upright.shape == (640, 480, 3)  # turned as the tag said, once
    turned = np.rot90(photo, -1).astype(np.float32)  # Orientation 6: the stored top is on the right
    assert np.abs(upright - turned).mean() < 0.25 * np.abs(upright - turned[::-1, ::-1]).mean()
    tags = _tags(out)
    assert "ICC_Profile:ProfileDescription" in tags
    assert ("IFD0:Make" in tags) == (policy != "strip")
    assert ("GPS:GPSLatitude" in tags) == (policy == "keep")


def _mpo(tmp_path: Path) -> tuple[Path, np.ndarray]:
    """A phone-like file: a primary photo and an MPF secondary image (a small 'gain map')."""
    primary = Image.fromarray(detailed_photo(384, 512))
    gain = np.tile(np.linspace(0, 255, 256, dtype=np.uint8), (192, 1))
    secondary = Image.fromarray(np.stack([gain] * 3, axis=-1))
    path = tmp_path / "gainmap.jpg"
    primary.save(path, "MPO", save_all=True, append_images=[secondary], quality=95)
    return path, np.asarray(secondary)


@pytest.mark.parametrize("policy", ["keep", "no-location"])
def test_an_mpf_gain_map_survives(tmp_path, policy):
    path, secondary = _mpo(tmp_path)
    with Image.open(path) as source:
        assert source.format == "MPO" and source.n_frames == 2
        source.seek(1)
        expected = np.asarray(source.convert("RGB"))
    result = focuspress.compress(path, metadata=policy, saliency="none", quality=80)
    assert result.outcome == "recompressed"
    with Image.open(io.BytesIO(result.data)) as out:
        assert out.format == "MPO" and out.n_frames == 2  # the index, its offsets rewritten
        out.seek(1)
        assert np.array_equal(np.asarray(out.convert("RGB")), expected)  # the secondary image, untouched


def _motion_photo(tmp_path: Path) -> tuple[Path, bytes]:
    """A Google-style motion photo: XMP says the video is the last N bytes; the video follows the image."""
    video = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 40
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:GCamera="http://ns.google.com/photos/1.0/camera/" '
        b'GCamera:MicroVideo="1" GCamera:MicroVideoVersion="1" GCamera:MicroVideoOffset="'
        + str(len(video)).encode()
        + b'"/></rdf:RDF></x:xmpmeta>'
    )
    photo = with_metadata(encoded(detailed_photo(384, 512), "JPEG", quality=95), Metadata(xmp=xmp))
    path = tmp_path / "motion.jpg"
    path.write_bytes(photo + video)
    return path, video


@pytest.mark.parametrize("policy", ["keep", "no-location"])
def test_a_motion_photos_video_survives_keep(tmp_path, policy):
    path, video = _motion_photo(tmp_path)
    result = focuspress.compress(path, metadata=policy, saliency="none", quality=80)
    assert result.bytes < path.stat().st_size
    if policy == "keep":
        assert result.data.endswith(video)
        start = result.data.index(XMP_HEADER)
        assert b'GCamera:MicroVideoOffset="%d"' % len(video) in result.data[start : start + 2000]
    else:  # a video can hold where it was taken: not kept
        assert b"ftypmp42" not in result.data
    assert Image.open(io.BytesIO(result.data)).size == (512, 384)


@pytest.mark.parametrize("policy, kept", [("keep", True), ("no-location", False), ("strip", False)])
def test_unknown_app_segments_are_carried_under_keep(policy, kept):
    private = b"\xff\xec" + struct.pack(">H", 2 + 20) + b"Ducky\x00maker-private\x00"  # an APP12 segment
    photo = encoded(detailed_photo(), "JPEG", quality=95)
    source = photo[:2] + private + photo[2:]
    result = focuspress.compress(source, metadata=policy, saliency="none", quality=80)
    assert (private in result.data) == kept


def test_a_camera_dump_with_subfolders(tmp_path):
    dump = tmp_path / "DCIM"
    for folder in ("100CANON", "101CANON/raw"):
        (dump / folder).mkdir(parents=True)
        (dump / folder / "IMG_0001.jpg").write_bytes(encoded(detailed_photo(), "JPEG", quality=95))
    (dump / "top.jpg").write_bytes(encoded(detailed_photo(), "JPEG", quality=95))
    command = [sys.executable, "-m", "focuspress", "compress", str(dump), "--saliency", "none", "-q", "80"]
    flat = subprocess.run([*command, "-o", str(tmp_path / "flat")], capture_output=True, text=True, timeout=300)
    assert flat.returncode == 0, flat.stderr
    assert "2 photo(s) in 2 subfolder(s) skipped" in flat.stderr and "--recursive" in flat.stderr
    assert sorted(p.name for p in (tmp_path / "flat").rglob("*.jpg")) == ["top.jpg"]
    deep = subprocess.run(
        [*command, "-o", str(tmp_path / "deep"), "--recursive"], capture_output=True, text=True, timeout=300
    )
    assert deep.returncode == 0, deep.stderr
    written = sorted(str(p.relative_to(tmp_path / "deep")) for p in (tmp_path / "deep").rglob("*.jpg"))
    assert written == ["100CANON/IMG_0001.jpg", "101CANON/raw/IMG_0001.jpg", "top.jpg"]  # the tree mirrored


def test_a_decoders_warnings_are_named_per_file(tmp_path):
    data = bytearray(encoded(detailed_photo(384, 512), "JPEG", quality=95))
    middle = len(data) // 2
    data[middle : middle + 40] = b"\xff\xd0" * 20  # damaged entropy data libjpeg works around
    (tmp_path / "damaged.jpg").write_bytes(bytes(data))
    command = [
        sys.executable,
        "-m",
        "focuspress",
        "compress",
        str(tmp_path / "damaged.jpg"),
        "-o",
        str(tmp_path / "out"),
    ]
    proc = subprocess.run([*command, "--saliency", "none", "-q", "80"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "Corrupt JPEG data" in line]
    assert lines and all(line.startswith("note: damaged.jpg: ") for line in lines)
    assert len(lines) == len(set(lines))  # said once, not once per decode
    assert "recompressed*" in proc.stdout and "* decoder warnings" in proc.stdout  # flagged in the summary
