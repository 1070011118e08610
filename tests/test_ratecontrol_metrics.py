"""Rate control hits its targets; metrics agree with their references."""

from __future__ import annotations

import io

import numpy as np
import pytest

from focuspress.engine import CompressOptions, Engine
from focuspress.engine.errors import OptionsError
from focuspress.engine.io import LoadedImage, load_image
from focuspress.engine.metrics import bd_rate, psnr, roi_psnr
from focuspress.engine.ratecontrol import parse_size
from tests.conftest import encode, synthetic_photo


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(saliency="none")


def _image(rgb) -> LoadedImage:
    return load_image(encode(rgb))


@pytest.mark.parametrize("compositor", ["block", "pixel"])
def test_target_size_within_three_percent_under(engine, compositor):
    rgb = synthetic_photo(192, 256, seed=5)
    for target in (6000, 12000):
        result = engine.compress(_image(rgb), CompressOptions(target_size=target, compositor=compositor))
        assert result.bytes <= target
        if compositor == "block":
            assert result.bytes >= 0.97 * target, (target, result.bytes)


def test_target_size_below_minimum_is_an_error(engine):
    with pytest.raises(OptionsError, match="below the smallest"):
        engine.compress(_image(synthetic_photo()), CompressOptions(target_size=50))


def test_target_ssimulacra2_reaches_target(engine):
    from focuspress.engine.metrics import ssimulacra2

    rgb = synthetic_photo(128, 128, seed=2)
    result = engine.compress(_image(rgb), CompressOptions(target_ssimulacra2=70))
    assert ssimulacra2(rgb, result.decoded()) >= 70
    lower = engine.compress(_image(rgb), CompressOptions(quality=max(1, result.quality - 8)))
    assert ssimulacra2(rgb, lower.decoded()) < ssimulacra2(rgb, result.decoded())


def test_parse_size():
    assert parse_size("150KB") == 150_000
    assert parse_size("1.5MB") == 1_500_000
    assert parse_size("2KiB") == 2048
    assert parse_size("900") == 900
    with pytest.raises(OptionsError):
        parse_size("lots")


def test_bd_rate_known_answer():
    rate = np.array([0.5, 1.0, 2.0, 4.0])
    quality = np.array([30.0, 35.0, 40.0, 45.0])
    assert bd_rate(rate, quality, rate * 0.8, quality) == pytest.approx(-20.0, abs=1e-6)
    assert bd_rate(rate, quality, rate * 1.1, quality, window=(32, 40)) == pytest.approx(10.0, abs=1e-6)
    assert np.isnan(bd_rate(rate, quality, rate, quality + 100))


def test_psnr_and_roi_psnr():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0] = 10
    mask = np.zeros((4, 4), bool)
    mask[2:, 2:] = True
    assert roi_psnr(a, b, mask) == float("inf")
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / (100 * 3 / 48)))


def test_ssimulacra2_matches_package(tmp_path):
    """At 256 pixels a side and more (all six scales) the score is the package's."""
    from PIL import Image
    from ssimulacra2 import compute_ssimulacra2

    from focuspress.engine.metrics import ssimulacra2

    ref = synthetic_photo(256, 288, seed=7)
    for q in (30, 85):
        dist_path = tmp_path / f"d{q}.jpg"
        Image.fromarray(ref).save(dist_path, quality=q)
        ref_path = tmp_path / "r.png"
        Image.fromarray(ref).save(ref_path)
        dist = np.asarray(Image.open(dist_path).convert("RGB"))
        assert ssimulacra2(ref, dist) == pytest.approx(compute_ssimulacra2(str(ref_path), str(dist_path)), abs=0.01)
    assert ssimulacra2(ref, ref) == pytest.approx(100.0, abs=0.01)


@pytest.mark.parametrize("height", [256, 200, 131, 64, 9])
def test_a_kept_reference_scores_in_stripes_as_the_image_whole(height):
    """:meth:`Reference.both_sums` computes a tile's error maps in stripes of rows (each with its
    blur's context rows): the photo's and the region's scores are those of the one-pass function
    on the whole image, at heights on and off the stripe grid, including a stripe of a few rows."""
    from PIL import Image

    from focuspress.engine.metrics.ssimulacra2 import Reference, scale_count, score_sums, ssimulacra2_with_region

    ref = synthetic_photo(height, 256, seed=5)
    buffer = io.BytesIO()
    Image.fromarray(ref).save(buffer, "JPEG", quality=60)
    dist = np.asarray(Image.open(buffer).convert("RGB"))
    weight = np.zeros((height, 256), np.float32)
    weight[height // 4 : height // 4 + max(1, height // 2), 40:200] = 1.0
    weight[:, 200:230] = 0.5
    whole, region = Reference(ref, scale_count(height, 256), weight).both_sums(dist)
    assert region is not None
    expected_whole, expected_region = ssimulacra2_with_region(ref, dist, weight)
    scales = scale_count(height, 256)
    assert score_sums([whole], scales) == pytest.approx(expected_whole, abs=1e-3)
    assert score_sums([region], scales) == pytest.approx(expected_region, abs=1e-3)
    # the region alone (a subject trial), and the rest of the image (a stratified photo trial, which
    # leaves out rows all inside the region): the same scores, for a region off every edge too
    blob = np.zeros((height, 256), np.float32)
    blob[height // 3 : height // 3 + max(1, height // 4), 90:150] = 1.0
    for marked in (weight, blob):
        _, alone = Reference(ref, scales, marked).both_sums(dist, whole=False)
        assert alone is not None
        assert score_sums([alone], scales) == pytest.approx(ssimulacra2_with_region(ref, dist, marked)[1], abs=1e-3)
        rest, _ = Reference(ref, scales, marked).both_sums(dist, region=False, rest=True)
        outside = ssimulacra2_with_region(ref, dist, 1.0 - marked)[1]
        assert score_sums([rest], scales) == pytest.approx(outside, abs=1e-3)


def test_post_stratified_tiles_score_the_photo_their_strata_make():
    """Two sampled tiles, one all subject (held fine) and one all background (coarse), from a photo
    whose subject is a quarter of it: pooled plainly they weigh the two halves alike; stratified
    by the subject's share they score what the photo made of one such subject tile and three
    such background tiles scores (its means are a quarter one and three quarters the other)."""
    from PIL import Image

    from focuspress.engine.metrics.ssimulacra2 import (
        Reference,
        pooled_ssimulacra2,
        score_sums,
        stratified_score,
    )

    def coded(image: np.ndarray, quality: int) -> np.ndarray:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", quality=quality)
        return np.asarray(Image.open(buffer).convert("RGB"))

    subject, background = synthetic_photo(256, 256, seed=3), synthetic_photo(256, 256, seed=4)
    fine, coarse = coded(subject, 95), coded(background, 20)
    ones, zeros = np.ones((256, 256), np.float32), np.zeros((256, 256), np.float32)
    whole_s, _ = Reference(subject, 6, ones).both_sums(fine)
    rest_s, inside_s = Reference(subject, 6, ones).both_sums(fine, rest=True)
    whole_b, inside_b = Reference(background, 6, zeros).both_sums(coarse, rest=True)
    assert inside_s is not None and inside_b is None  # (no subject in the background tile)
    assert rest_s[0].count == 0  # (all subject: nothing of the rest computed)
    photo = pooled_ssimulacra2([(subject, fine)] + [(background, coarse)] * 3)
    plain = score_sums([whole_s, whole_b], 6)
    stratified = stratified_score([rest_s, whole_b], [inside_s], 0.25, 6)
    assert stratified == pytest.approx(photo, abs=1e-3)
    assert abs(plain - photo) > 3  # (what the plain pooling would have said)
    # a sample with nothing outside the subject: the subject's means stand for the rest
    assert stratified_score([rest_s], [inside_s], 0.25, 6) == pytest.approx(score_sums([inside_s], 6), abs=1e-6)
    assert stratified_score([whole_b], [], 0.25, 6) is None


def test_a_small_region_keeps_each_weight_on_its_own_feature():
    """Under 256 pixels a side the reference shifts its weights across channels (one running
    index over fewer scales): a uniformly compressed photo's 128-pixel crop then scores some 20
    points below the photo. Here a missing coarse scale adds nothing and the crop scores like
    the photo around it."""
    from PIL import Image
    from ssimulacra2 import ssimulacra2 as package

    from focuspress.engine.metrics import ssimulacra2

    ref = synthetic_photo(384, 384, seed=11)
    buffer = io.BytesIO()
    Image.fromarray(ref).save(buffer, "JPEG", quality=70)
    dist = np.asarray(Image.open(buffer).convert("RGB"))
    whole = ssimulacra2(ref, dist)
    for side in (128, 64):  # five and four scales
        crop = (slice(100, 100 + side), slice(120, 120 + side))
        assert abs(ssimulacra2(ref[crop], dist[crop]) - whole) < 6, side
    # the reference's own walk over five scales, for contrast: the bug this avoids
    from focuspress.engine.metrics.ssimulacra2 import _check, _pool, _scale_sums

    levels = _pool([_scale_sums(*_check(ref[:128, :128], dist[:128, :128]), 5)])
    shifted = package.Msssim()
    shifted.scales.extend(level.scale() for level in levels)
    assert whole - shifted.score() > 10


@pytest.mark.slow
def test_ms_ssim_matches_tensorflow():
    from focuspress.engine.metrics import ms_ssim
    from focuspress.engine.saliency.tf_runtime import tensorflow

    tf = tensorflow()
    rng = np.random.default_rng(3)
    for shape in ((200, 260), (181, 203), (64, 96)):
        ref = synthetic_photo(*shape, seed=4)
        dist = np.clip(ref.astype(int) + rng.integers(-20, 20, ref.shape), 0, 255).astype(np.uint8)
        scales = 5 if min(shape) >= 176 else 3
        weights = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)[:scales]
        expected = tf.image.ssim_multiscale(
            ref[None].astype(np.float32), dist[None].astype(np.float32), 255.0, power_factors=weights
        ).numpy()[0]
        assert ms_ssim(ref, dist) == pytest.approx(float(expected), abs=2e-3), shape
    assert ms_ssim(ref, ref) == pytest.approx(1.0)


def test_the_positive_part_is_the_same_on_views_and_in_place():
    """``_positive_part`` thresholds contiguous planes with OpenCV and falls back to numpy on a view
    OpenCV cannot take whole (a column slice): both give max(plane, 0), NaN-free, into ``out``."""
    from focuspress.engine.metrics.ssimulacra2 import _positive_part

    rng = np.random.default_rng(3)
    plane = rng.normal(size=(3, 40, 24)).astype(np.float32)
    expected = np.maximum(plane, 0.0)
    assert np.array_equal(_positive_part(plane), expected)
    view = plane[:, :, 5:17]  # not contiguous
    assert not view.flags.c_contiguous
    assert np.array_equal(_positive_part(view), expected[:, :, 5:17])
    out = np.full_like(view, -1.0)
    assert _positive_part(view, out) is out and np.array_equal(out, expected[:, :, 5:17])
    in_place = plane.copy()
    assert _positive_part(in_place, in_place) is in_place and np.array_equal(in_place, expected)
