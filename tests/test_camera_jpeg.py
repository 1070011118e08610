"""JPEG inputs: the source is the reference, never larger, coefficients kept, metadata as asked."""

from __future__ import annotations

import io

import jpeglib
import numpy as np
import pytest
from PIL import Image, ImageOps

import focuspress
from focuspress.bench.photos import detailed_photo
from focuspress.engine.compositor.block.encoder import BlockSettings
from focuspress.engine.compositor.block.transcode import prepare_transcode, transcode_settings
from focuspress.engine.io import decode_upright, load_image
from focuspress.engine.io.jpeg import estimate_quality
from focuspress.engine.metrics import psnr
from focuspress.engine.results import RESULT_KINDS
from tests.camera import EXIFTOOL, add_thumbnail, camera_jpeg, exiftool

_photo = detailed_photo


def _jpeg(rgb, quality, subsampling=2, progressive=False) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality, subsampling=subsampling, progressive=progressive)
    return buffer.getvalue()


def _levels(data: bytes, tmp_path) -> tuple[list[np.ndarray], np.ndarray]:
    path = tmp_path / "read.jpg"
    path.write_bytes(data)
    jpeg = jpeglib.read_dct(str(path))
    return [jpeg.Y, jpeg.Cb, jpeg.Cr], jpeg.qt


@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("subsampling", [2, 0])
def test_never_larger_than_the_input_at_any_source_quality(progressive, subsampling):
    rgb = _photo()
    for quality in range(20, 101, 10):
        source = _jpeg(rgb, quality, subsampling, progressive)
        result = focuspress.compress(source, saliency="none")  # default settings
        label = f"q{quality} {'progressive' if progressive else 'baseline'} sub{subsampling}"
        assert len(result.data) <= len(source), f"{label}: {len(result.data)} > {len(source)}"
        assert result.outcome in RESULT_KINDS
        if result.outcome == "kept":
            assert result.data == source
        assert decode_upright(result.data).shape == rgb.shape, label


def test_a_high_quality_source_is_recompressed_and_a_low_quality_one_is_not():
    rgb = _photo()
    high = focuspress.compress(_jpeg(rgb, 95), saliency="none")
    assert high.outcome == "recompressed" and high.route == "dct"
    for quality in (20, 30):  # coarser everywhere than the default quality asks: only coding to gain
        low_source = _jpeg(rgb, quality)
        low = focuspress.compress(low_source, saliency="none", quality=75)
        assert low.outcome in ("lossless", "kept"), quality
        assert psnr(decode_upright(low_source), low.decoded()) == float("inf")  # the same pixels


def test_the_dct_route_reproduces_the_source_coefficients_at_no_change_settings(tmp_path):
    source = _jpeg(_photo(), 90)
    image = load_image(source)
    settings = transcode_settings(BlockSettings(progressive="never"))
    from dataclasses import replace

    prepared = prepare_transcode(image, None, 0.0, replace(settings, rdo_lambda=0.0))
    encoded = prepared.encode(100.0)  # tables at q100 are finer than the source's: the floor (= source) rules
    assert encoded.exact
    out = encoded.data
    (src_levels, src_qt), (out_levels, out_qt) = _levels(source, tmp_path), _levels(out, tmp_path)
    for a, b in zip(src_levels, out_levels):
        assert np.array_equal(a, b)
    assert np.array_equal(src_qt[0], out_qt[0])


def test_steps_are_never_finer_than_the_source(tmp_path):
    source = _jpeg(_photo(), 85)
    result = focuspress.compress(source, saliency="none", quality=95, min_saving=0)
    (_, src_qt), (_, out_qt) = _levels(source, tmp_path), _levels(result.data, tmp_path)
    assert result.route == "dct"
    assert np.all(out_qt[0] >= src_qt[0]) and np.all(out_qt[1:] >= src_qt[1])


@pytest.mark.parametrize("quality", list(range(20, 101, 5)) + [92, 97, 98, 99])
def test_estimated_source_quality_is_within_3_of_what_libjpeg_was_given(quality):
    image = Image.open(io.BytesIO(_jpeg(_photo(64, 64), quality)))
    tables = np.stack([np.asarray(image.quantization[i]).reshape(8, 8) for i in (0, 1)])
    assert abs(estimate_quality(tables) - quality) <= 3


def test_subsampling_keep_keeps_the_source_grid_on_the_dct_route(tmp_path):
    for subsampling, expected in ((2, "420"), (1, "422"), (0, "444")):
        source = _jpeg(_photo(), 95, subsampling)
        result = focuspress.compress(source, saliency="none", quality=60, subsampling="keep")
        out = load_image(result.data)
        assert result.route == "dct"
        assert out.jpeg.subsampling == expected == load_image(source).jpeg.subsampling


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool not installed (apt install libimage-exiftool-perl)")
class TestMetadata:
    """Each policy, read back by exiftool, on the DCT route, the pixel route and the lossless route."""

    ROUTES = {"dct": {}, "pixel": {"route": "pixel"}, "lossless": {"min_saving": 0.99}}

    def _run(self, tmp_path, policy, route, orientation=1, thumbnail=False):
        src = tmp_path / f"src-{policy}-{route}.jpg"
        src.write_bytes(camera_jpeg(_photo(), quality=95, orientation=orientation, icc=_icc()))
        if thumbnail:
            add_thumbnail(src)
        result = focuspress.compress(src, saliency="none", metadata=policy, **self.ROUTES[route])
        assert result.route == ("source" if route == "lossless" else route)
        out = result.save(tmp_path / f"out-{policy}-{route}.jpg")
        return exiftool(src), exiftool(out), result

    @pytest.mark.parametrize("route", ["dct", "pixel", "lossless"])
    def test_keep(self, tmp_path, route):
        before, after, _ = self._run(tmp_path, "keep", route)
        for tag in ("IFD0:Make", "IFD0:Model", "ExifIFD:DateTimeOriginal", "ExifIFD:ExposureTime",
                    "GPS:GPSLatitude", "GPS:GPSLongitude", "XMP-photoshop:City", "XMP-dc:Creator",
                    "IPTC:City", "IPTC:Caption-Abstract"):  # fmt: skip
            assert after.get(tag) == before[tag], tag
        assert "ICC_Profile:ProfileDescription" in after

    @pytest.mark.parametrize("route", ["dct", "pixel", "lossless"])
    def test_no_location(self, tmp_path, route):
        before, after, _ = self._run(tmp_path, "no-location", route)
        assert not [tag for tag in after if tag.startswith("GPS:") or "GPS" in tag.split(":")[-1]]
        assert (
            "XMP-photoshop:City" not in after
            and "IPTC:City" not in after
            and "IPTC:Country-PrimaryLocationName" not in after
        )
        for tag in ("IFD0:Make", "IFD0:Model", "ExifIFD:DateTimeOriginal", "XMP-dc:Creator", "IPTC:Caption-Abstract"):
            assert after.get(tag) == before[tag], tag
        assert "ICC_Profile:ProfileDescription" in after

    @pytest.mark.parametrize("route", ["dct", "pixel", "lossless"])
    def test_strip(self, tmp_path, route):
        _, after, _ = self._run(tmp_path, "strip", route)
        groups = {tag.split(":")[0] for tag in after}
        assert not groups & {"IFD0", "ExifIFD", "GPS", "IFD1"} and not any(
            g.startswith(("XMP", "IPTC")) for g in groups
        )
        assert "ICC_Profile:ProfileDescription" in after

    @pytest.mark.parametrize("route", ["dct", "pixel", "lossless"])
    def test_orientation_and_thumbnail(self, tmp_path, route):
        """A JPEG's pixels stay as stored on every route, so its tag and thumbnail stay right."""
        before, after, result = self._run(tmp_path, "keep", route, orientation=6, thumbnail=True)
        assert before["IFD0:Orientation"] == 6 and "IFD1:ThumbnailImage" in before
        source = decode_upright((tmp_path / f"src-keep-{route}.jpg").read_bytes())
        shown = result.decoded()
        assert shown.shape == source.shape == (256, 192, 3)  # stored 192x256 turned 90 degrees
        assert psnr(source, shown) > 30  # the same picture, the same way up
        assert after["IFD0:Orientation"] == 6 and "IFD1:ThumbnailImage" in after

    def test_strip_on_a_sideways_photo_keeps_only_the_orientation(self, tmp_path):
        src = tmp_path / "sideways.jpg"
        src.write_bytes(camera_jpeg(_photo(), quality=95, orientation=6))
        result = focuspress.compress(src, saliency="none", metadata="strip")
        out = result.save(tmp_path / "sideways-out.jpg")
        tags = exiftool(out)
        assert result.route == "dct" and tags["IFD0:Orientation"] == 6
        assert not {tag.split(":")[0] for tag in tags} & {"ExifIFD", "GPS", "IFD1"}
        assert Image.open(out).size == (256, 192)  # stored sideways, shown upright by the tag
        assert result.decoded().shape == (256, 192, 3)


def _icc() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def test_a_png_carries_its_exif_into_the_jpeg():
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "Pixel"
    exif[0x0112] = 8
    Image.fromarray(_photo()).save(buffer, "PNG", exif=exif.tobytes())
    result = focuspress.compress(buffer.getvalue(), saliency="none")
    with Image.open(io.BytesIO(result.data)) as out:
        assert out.getexif().get(0x010F) == "Pixel" and out.getexif().get(0x0112) == 1
        assert out.size == (192, 256)  # turned upright, tag set to 1
    assert ImageOps.exif_transpose(Image.open(io.BytesIO(result.data))).size == (192, 256)


@pytest.mark.slow
def test_never_larger_on_real_photos_at_every_source_quality(kodak_dir):
    """Kodak photos re-saved at qualities 20..100, baseline and progressive, 4:2:0 and 4:4:4."""
    from focuspress.engine.io import load_image as load

    photos = [load(kodak_dir / name).rgb for name in ("kodim03.png", "kodim13.png", "kodim23.png")]
    larger = []
    for index, rgb in enumerate(photos):
        for quality in (20, 35, 50, 65, 75, 85, 92, 97, 100):
            for subsampling in (2, 0):
                source = _jpeg(rgb, quality, subsampling, progressive=(quality + index) % 2 == 0)
                result = focuspress.compress(source, saliency="none")
                if len(result.data) > len(source):
                    larger.append((index, quality, subsampling, len(source), len(result.data)))
    assert not larger


@pytest.mark.parametrize(
    "quality, subsampling, resave",
    [(92, 2, True), (75, 2, True), (95, 2, False), (92, 1, False), (90, 0, False)],
)
def test_software_resaves_get_their_own_tuning(quality, subsampling, resave):
    """libjpeg's tables at q <= 92, 4:2:0 (a software re-save) take the re-save tuning; a camera's
    kind of file (q 93+, or 4:2:2 / 4:4:4) the camera tuning."""
    import io

    from PIL import Image as PILImage

    from focuspress.engine.compositor.block.compositor import BlockCompositor
    from focuspress.engine.compositor.block.transcode import RESAVE_LAMBDA, TRANSCODE_LAMBDA, is_software_resave
    from focuspress.engine.io import load_image
    from focuspress.engine.options import CompressOptions
    from tests.conftest import synthetic_photo

    buffer = io.BytesIO()
    PILImage.fromarray(synthetic_photo(64, 96, seed=2)).save(buffer, "JPEG", quality=quality, subsampling=subsampling)
    image = load_image(buffer.getvalue())
    assert is_software_resave(image.jpeg) is resave
    options = CompressOptions(quality=80, subsampling="keep")
    prepared = BlockCompositor().prepare(image, np.full((64, 96), 0.5, np.float32), options)
    assert prepared.settings.rdo_lambda == (RESAVE_LAMBDA if resave else TRANSCODE_LAMBDA)


def test_the_maps_default_pull_is_gentler_on_a_jpeg_than_on_pixels():
    """With a fixed quality and no roi_strength asked, a JPEG source gets JPEG_ROI_STRENGTH (its
    whole photo first) and pixels DEFAULT_ROI_STRENGTH; a strength asked is used as it is."""
    from focuspress.engine.io import LoadedImage
    from focuspress.engine.options import DEFAULT_ROI_STRENGTH, JPEG_ROI_STRENGTH

    rgb = _photo()
    importance = np.zeros(rgb.shape[:2], np.float32)
    importance[: rgb.shape[0] // 2] = 1.0  # a subject: the top half
    from focuspress.engine import pipeline

    def encode(source, **asked) -> bytes:
        image = load_image(source) if isinstance(source, bytes) else LoadedImage(rgb=source)
        options = focuspress.CompressOptions(quality=85, min_saving=0.0, **asked)
        return pipeline.encode(image, importance, options).data

    source = _jpeg(rgb, 95)
    assert encode(source) == encode(source, roi_strength=JPEG_ROI_STRENGTH)
    assert encode(source) != encode(source, roi_strength=DEFAULT_ROI_STRENGTH)
    assert encode(source, roi_strength=0.85) != encode(source, roi_strength=JPEG_ROI_STRENGTH)
    assert encode(rgb) == encode(rgb, roi_strength=DEFAULT_ROI_STRENGTH)
    assert encode(rgb) != encode(rgb, roi_strength=JPEG_ROI_STRENGTH)


@pytest.mark.parametrize(
    "subsampling, size",
    [
        ((1, 2), (37, 61)),
        ((2, 1), (45, 30)),
        ((1, 1), (29, 53)),
        ((2, 2), (16, 16)),
        ((1, 2), (208, 301)),
        ((1, 2), (128, 256)),
        ((2, 1), (131, 96)),
        ((1, 1), (97, 250)),
        ((1, 1), (64, 48)),
    ],
)
def test_chroma_taken_to_420_is_the_box_average_of_its_samples(subsampling, size):
    """4:2:2, 4:4:0 and 4:4:4 chroma becomes the 2x2 (or 2x1) box average of its exact samples, odd
    edges replicated as libjpeg pads, at every photo size: whole pairs of blocks through the
    coefficients' matrix, the edges through samples (the strided sums equal a plain mean)."""
    from focuspress.engine.compositor.block.dct import forward_dct, inverse_dct
    from focuspress.engine.compositor.block.resample import chroma_to_420, factors_to_420

    factors = factors_to_420(subsampling)
    if factors is None:
        assert subsampling == (2, 2)
        return
    height, width = size
    rows, cols = -(-height // subsampling[0]), -(-width // subsampling[1])
    rng = np.random.default_rng(3)
    samples = rng.integers(0, 256, (-(-rows // 8) * 8, -(-cols // 8) * 8)).astype(np.float64)
    table = np.full((8, 8), 2.0, np.float32)
    levels = np.rint(forward_dct(samples) / table).astype(np.int16)
    exact = inverse_dct(levels.astype(np.float64) * table)[:rows, :cols]
    fy, fx = factors
    padded = np.pad(exact, ((0, (-rows) % fy), (0, (-cols) % fx)), mode="edge")
    average = padded.reshape(padded.shape[0] // fy, fy, padded.shape[1] // fx, fx).mean(axis=(1, 3))
    out = inverse_dct(chroma_to_420(levels, table, factors, (height, width), subsampling).astype(np.float64))
    target = (-(-height // 16) * 8, -(-width // 16) * 8)
    average = np.pad(average, ((0, target[0] - average.shape[0]), (0, target[1] - average.shape[1])), mode="edge")
    assert out.shape == target
    np.testing.assert_allclose(out - 128.0, average - 128.0, atol=1e-3)
