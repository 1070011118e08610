"""Input hygiene: every odd or hostile input gets a clear outcome."""

from __future__ import annotations

import io
import os
import warnings

import numpy as np
import pytest
from PIL import Image

from focuspress.engine.errors import InputError, OutputError, Reason
from focuspress.engine.io import atomic_write, decode_upright, load_image, refuse_overwrite
from tests.conftest import encode, synthetic_photo
from tests.corpus import damaged_exif_jpeg, float_rgb_tiff


def test_png_roundtrip(tmp_path, photo):
    path = tmp_path / "a.png"
    path.write_bytes(encode(photo))
    loaded = load_image(path)
    np.testing.assert_array_equal(loaded.rgb, photo)
    assert loaded.source_format == "PNG"
    assert loaded.source_bytes == path.stat().st_size


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "TIFF", "BMP"])
def test_formats_decode(tmp_path, photo, fmt):
    path = tmp_path / f"a.{fmt.lower()}"
    path.write_bytes(encode(photo, fmt))
    assert load_image(path).rgb.shape == photo.shape


@pytest.mark.parametrize(
    "content,needle",
    [
        (b"", "empty file"),
        (b"this is not an image at all", "cannot decode"),
        (encode(synthetic_photo(), "PNG")[:300], "cannot decode"),
        (encode(synthetic_photo(), "JPEG")[:400], "cannot decode"),
    ],
    ids=["empty", "text", "truncated-png", "truncated-jpeg"],
)
def test_bad_inputs_raise_one_line(tmp_path, content, needle):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        load_image(path)
    message = str(info.value)
    assert needle in message and "\n" not in message and str(path) in message


def test_missing_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(InputError, match="directory"):
        load_image(tmp_path)


def test_decompression_bomb_header_refused(tmp_path):
    # A tiny PNG whose header claims 30000x30000 pixels.
    from tests.corpus import bomb_png

    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png(30000, 30000))
    with pytest.raises(InputError, match="decompression-bomb"):
        load_image(path, max_pixels=50_000_000)


def test_exif_orientation_applied(tmp_path):
    photo = synthetic_photo(40, 80)
    img = Image.fromarray(photo)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 CW to display
    path = tmp_path / "rot.jpg"
    img.save(path, "JPEG", exif=exif, quality=95)
    loaded = load_image(path)
    assert loaded.rgb.shape[:2] == (80, 40)


def test_icc_profile_kept(tmp_path, photo):
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / "icc.png"
    Image.fromarray(photo).save(path, icc_profile=icc)
    assert load_image(path).icc_profile == icc


def test_alpha_flattened_onto_white(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:4, :, 3] = 255  # top opaque red, bottom fully transparent
    path = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(path)
    loaded = load_image(path)
    np.testing.assert_array_equal(loaded.rgb[0, 0], [255, 0, 0])
    np.testing.assert_array_equal(loaded.rgb[7, 0], [255, 255, 255])
    assert any("alpha" in note for note in loaded.notes)


def test_sixteen_bit_and_grey(tmp_path):
    grey16 = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16).astype(np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(grey16).save(path)
    loaded = load_image(path)
    assert loaded.rgb.dtype == np.uint8 and loaded.rgb.shape == (64, 64, 3)
    assert loaded.rgb.max() > 200  # scaled from 16 bits, not clipped to 255 of 65535
    grey = tmp_path / "g.png"
    Image.fromarray(np.full((8, 8), 77, np.uint8)).save(grey)
    assert np.all(load_image(grey).rgb == 77)


def test_float_grey_tiff_in_either_range(tmp_path):
    """A 32-bit float TIFF as raw developers write it (0..1) is read as black..white, not as 0 and 1
    of 255 (a black photo); one that goes past 1 is 0..255; NaN is black, not garbage."""
    ramp = np.linspace(0.0, 1.0, 64 * 64, dtype=np.float32).reshape(64, 64)
    ramp[0, 1] = np.inf  # (an infinity does not set the range: it is white)
    unit = tmp_path / "unit.tif"
    Image.fromarray(ramp).save(unit)
    loaded = load_image(unit)
    assert loaded.rgb.shape == (64, 64, 3) and loaded.rgb.min() == 0 and loaded.rgb.max() == 255
    assert loaded.rgb[0, 1, 0] == 255
    assert abs(int(loaded.rgb[32, 0, 0]) - round(255 * float(ramp[32, 0]))) <= 1
    assert any("float" in note for note in loaded.notes)
    wide = tmp_path / "wide.tif"
    scaled = np.where(np.isfinite(ramp), ramp, 1.0) * 200.0
    scaled[0, 0] = np.nan
    Image.fromarray(scaled).save(wide)
    loaded = load_image(wide)
    assert loaded.rgb[0, 0, 0] == 0 and loaded.rgb.max() == 200
    assert abs(int(loaded.rgb[32, 0, 0]) - round(float(scaled[32, 0]))) <= 1


def test_a_known_format_pillow_cannot_read_is_named_not_called_not_an_image(tmp_path):
    """A float colour TIFF is a TIFF: saying "not a PNG, JPEG, WebP, TIFF..." sent the reader looking for
    a misnamed text file. Text is still not an image."""
    path = tmp_path / "developed.tif"
    path.write_bytes(float_rgb_tiff(6, 5))
    with pytest.raises(InputError) as info:
        load_image(path)
    assert "a TIFF of a kind this decoder does not read: 32-bit float colour" in str(info.value)
    assert info.value.reason == Reason.UNDECODABLE and "\n" not in str(info.value)
    text = tmp_path / "notes.jpg"
    text.write_bytes(b"II service notes, not a photo at all")
    with pytest.raises(InputError) as info:
        load_image(text)
    assert "(not a PNG, JPEG" in str(info.value) and info.value.reason == Reason.NOT_AN_IMAGE


def test_an_output_with_a_damaged_exif_decodes_without_a_warning():
    """``--metrics`` and the score mode decode outputs that carry the source's EXIF: an Orientation
    tag claiming more data than its block made Pillow print a UserWarning (two lines on stderr)."""
    damaged = damaged_exif_jpeg(16, 16)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shown = decode_upright(damaged)
    assert shown.shape == (16, 16, 3) and [str(w.message) for w in caught] == []


def test_atomic_write_leaves_no_temp(tmp_path):
    target = tmp_path / "out" / "x.jpg"
    atomic_write(target, b"abc")
    atomic_write(target, b"defg")
    assert target.read_bytes() == b"defg"
    assert os.listdir(target.parent) == ["x.jpg"]


def test_refuse_overwrite(tmp_path):
    src = tmp_path / "a.jpg"
    src.write_bytes(b"x")
    with pytest.raises(OutputError, match="refusing to overwrite"):
        refuse_overwrite(tmp_path / "." / "a.jpg", [src])
    refuse_overwrite(tmp_path / "b.jpg", [src])


def test_an_arithmetic_coded_jpeg_is_read_as_the_same_pixels_and_levels():
    """Pillow refuses arithmetic coding past its first 64 KB read ("broken data stream": a valid photo
    called broken). The loader reads it through a Huffman-coded copy: the same pixels as its twin,
    the contract's output byte for byte the twin's (the DCT route reads the same levels), EXIF kept,
    and never larger than the arithmetic-coded file itself."""
    from focuspress.engine import Engine
    from focuspress.engine.io.jpeg import arithmetic_coded
    from focuspress.engine.io.load import ARITHMETIC_NOTE
    from focuspress.engine.options import CompressOptions
    from tests.corpus import arithmetic_jpeg

    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: stored turned, shown upright
    exif[0x010F] = "TestMake"
    twin = encode(synthetic_photo(480, 640, 5), "JPEG", quality=95, exif=exif.tobytes())  # (over 64 KB coded)
    coded = arithmetic_jpeg(twin)
    assert arithmetic_coded(coded) and not arithmetic_coded(twin)
    with pytest.raises(OSError):  # (what the loader once passed on as the photo's fault)
        Image.open(io.BytesIO(coded)).load()

    image, reference = load_image(coded), load_image(twin)
    assert ARITHMETIC_NOTE in image.notes
    assert image.data == coded and image.source_bytes == len(coded)
    assert image.orientation == 6 and image.metadata.exif == reference.metadata.exif
    assert np.array_equal(image.rgb, reference.rgb)

    engine = Engine(saliency="none")
    out, out_twin = engine.compress(image, CompressOptions()), engine.compress(reference, CompressOptions())
    assert out.data == out_twin.data and not arithmetic_coded(out.data)
    # a saving the output cannot reach: the arithmetic-coded file's own bytes, not its larger copy's
    kept = engine.compress(load_image(coded), CompressOptions(min_saving=0.95))
    assert kept.data == coded


@pytest.mark.parametrize(
    ("head", "arithmetic"),
    [
        (b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc9\x00\x0b", True),  # APP0, then SOF9
        (b"\xff\xd8\xff\xff\xcf\x00\x0b", True),  # a fill byte, then SOF15
        (b"\xff\xd8\xff\xc0\x00\x11", False),  # baseline
        (b"\xff\xd8\xff\xc2\x00\x11", False),  # progressive Huffman
        (b"\xff\xd8\xff\xda\x00\x08", False),  # scans before any frame (damaged)
        (b"\x89PNG\r\n\x1a\n", False),
        (b"\xff\xd8\xff\xe1\xff\xff", False),  # a length past the end
    ],
)
def test_arithmetic_coding_is_read_from_the_frame_marker(head, arithmetic):
    from focuspress.engine.io.jpeg import arithmetic_coded

    assert arithmetic_coded(head + b"\x00" * 8) is arithmetic


def test_a_truncated_arithmetic_coded_jpeg_is_refused_as_truncated(photo):
    """libjpeg reads a cut arithmetic-coded file with a warning and grey below: refused as truncated,
    so a daemon waits for the rest of an upload instead of compressing half a photo."""
    from tests.corpus import arithmetic_jpeg

    coded = arithmetic_jpeg(encode(photo, "JPEG", quality=92))
    with pytest.raises(InputError) as caught:
        load_image(coded[: len(coded) // 2], name="cut.jpg")
    assert caught.value.reason == Reason.TRUNCATED
    assert str(caught.value) == (
        "cut.jpg: cannot decode image (image file is truncated: an arithmetic-coded JPEG cut short)"
    )
