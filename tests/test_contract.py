"""The fidelity contract (the default) and the camera-JPEG choices it builds on.

Checked with the full SSIMULACRA2, independent of the in-loop estimate: both targets met on camera
crops, a photo without a subject held to the photo target only, the chroma sampling chosen per
photo on 4:2:2 and 4:4:4 sources, the tile estimate within its stated error, never larger under
the default, and the scores where operators look (log line, metrics).
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import focuspress
from focuspress.bench.photos import detailed_photo, encoded
from focuspress.engine.fidelity.subject import find_subject
from focuspress.engine.io import decode_upright, load_image
from focuspress.engine.io.load import LoadedImage
from focuspress.engine.metrics.ssimulacra2 import Reference, pooled_ssimulacra2, ssimulacra2, ssimulacra2_with_region
from tests.conftest import SHARED
from tests.daemon_harness import Daemon, wait_for, write_config

CAMERA = SHARED / "camera-native"
#: the tile estimate's stated error (docs: benchmarks/README.md, the contract section)
PHOTO_ERROR, SUBJECT_ERROR = 1.5, 2.0


def _full_scores(source: bytes, result) -> tuple[float, float | None]:
    image = load_image(source)
    shown = decode_upright(result.data)
    subject = find_subject(result.importance, image.height, image.width)
    if subject.empty:
        return ssimulacra2(image.rgb, shown), None
    return ssimulacra2_with_region(image.rgb, shown, subject.weight())


def _crop(name: str, size: tuple[int, int]) -> bytes:
    from focuspress.evaluation import lossless_crop

    path = CAMERA / name
    if not path.exists():
        pytest.skip(f"shared data absent: {path}")
    return lossless_crop(path.read_bytes(), size)


def _blob_map(height: int, width: int, boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    importance = np.full((height, width), 0.1, np.float32)
    for top, left, bottom, right in boxes:
        importance[top:bottom, left:right] = 0.9
    return importance


def test_the_subject_is_the_maps_region_with_a_margin_not_its_box():
    """A small object is its own blocks and 24 pixels around them on a small photo (2% of the short
    side on a camera-sized one); specks are dropped; an L-shaped region is not its bounding box."""
    small = find_subject(_blob_map(300, 400, [(130, 190, 190, 260)]), 300, 400)  # a 60x70 object
    rows, cols = np.nonzero(small.blocks)
    top, left, bottom, right = rows.min() * 8, cols.min() * 8, rows.max() * 8 + 8, cols.max() * 8 + 8
    # 24 pixels beyond the object's edge, to the block (the object's partial blocks count where mostly object)
    assert 130 - 32 <= top <= 130 - 16 and 190 - 32 <= left <= 190 - 16
    assert 190 + 16 <= bottom <= 190 + 32 and 260 + 16 <= right <= 260 + 32
    big = find_subject(_blob_map(3000, 4000, [(1300, 1500, 1400, 2200)]), 3000, 4000)  # 100x700
    rows, _ = np.nonzero(big.blocks)
    assert 1300 - 68 <= rows.min() * 8 <= 1300 - 48  # 2% of 3000: 60 pixels, to the block
    assert find_subject(_blob_map(3000, 4000, [(10, 10, 40, 40)]), 3000, 4000).empty  # under 0.5%: a speck
    ell = _blob_map(400, 400, [(0, 0, 400, 100), (300, 0, 400, 400)])  # an L: a column and a row
    subject = find_subject(ell, 400, 400)
    assert not subject.blocks[5:30, 20:50].any()  # the L's empty corner is not subject
    assert subject.share < 0.6


def test_two_regions_half_the_frame_apart_leave_the_gap_to_the_background():
    """A map covering half the frame in two separate regions: the gap between them is neither subject
    nor steered like it (importance 0 there once past the margin and the ramp)."""
    two = find_subject(_blob_map(600, 1600, [(0, 0, 600, 400), (0, 1200, 600, 1600)]), 600, 1600)
    assert 0.45 < two.share < 0.6
    gap = slice(600 // 8, 1000 // 8)
    assert not two.blocks[:, gap].any() and (two.importance[:, gap] == 0).all()


def test_the_subject_keeps_its_coefficients_whatever_the_background():
    """Raising the background multiplier changes nothing of the subject: its luma blocks and the
    chroma blocks that touch it are coded the same (importance 1 there), the background coarser."""
    from focuspress.engine.fidelity.contract import prepare_contract
    from focuspress.engine.jpegfile.reader import read_dct
    from focuspress.engine.options import CompressOptions

    source = encoded(detailed_photo(480, 640, seed=3), "JPEG", quality=95, subsampling=1)
    image = load_image(source)
    importance = _blob_map(480, 640, [(120, 160, 360, 400)])
    prepared, subject, _ = prepare_contract(image, importance, CompressOptions())
    fine, coarse = (read_dct(prepared.encode(92.0, background).data) for background in (1.0, 16.0))
    inside = subject.blocks
    assert np.array_equal(fine.Y[inside], coarse.Y[inside])
    chroma = inside[::2, ::2][: fine.Cb.shape[0], : fine.Cb.shape[1]]  # 4:2:0: one chroma block per 2x2
    assert np.array_equal(fine.Cb[chroma], coarse.Cb[chroma]) and np.array_equal(fine.Cr[chroma], coarse.Cr[chroma])
    outside = subject.importance == 0
    ac = np.ones((8, 8), bool)
    ac[0, 0] = False
    assert np.count_nonzero(coarse.Y[outside][:, ac]) < 0.9 * np.count_nonzero(fine.Y[outside][:, ac])


@pytest.mark.slow
@pytest.mark.data
@pytest.mark.parametrize(
    "name, size",
    [
        ("Apple_iPhone_6.jpg", (640, 480)),  # IoT snapshot sizes
        ("Nikon_D70.jpg", (1280, 720)),
        ("Canon_EOS_450D.jpg", (2048, 1536)),  # camera-sized
        ("Bushnell_Trophy_HD_Aggressor.jpg", (1920, 1080)),
        # a subject of three small regions in three corners: the tiles sampled over its box held
        # none of it, and the photo ended as an internal error
        ("Bushnell_Trophy_HD_Aggressor.jpg", (2560, 1440)),
    ],
)
def test_the_contract_is_met_on_camera_crops(name, size):
    source = _crop(name, size)
    result = focuspress.compress(source)
    assert result.outcome == "recompressed" and result.route == "dct"
    photo, subject = _full_scores(source, result)
    exact = result.contract is not None and result.contract.exact
    assert photo >= 80.0 - (0.0 if exact else PHOTO_ERROR), photo
    if subject is not None:
        assert subject >= 90.0 - (0.0 if exact else SUBJECT_ERROR), subject
    assert result.bytes < 0.8 * len(source)  # and it saves


def test_a_photo_without_a_subject_gets_the_photo_target_only():
    source = encoded(detailed_photo(384, 512), "JPEG", quality=96, subsampling=1)
    result = focuspress.compress(source, saliency="none")  # a uniform map: nothing stands out
    assert result.scores is not None and result.scores.subject is None
    photo, subject = _full_scores(source, result)
    assert subject is None and 80.0 <= photo <= 87.0  # met, and not far past it (the smallest file)
    stricter = focuspress.compress(source, saliency="none", photo_ssimulacra2=90)
    assert ssimulacra2(load_image(source).rgb, stricter.decoded()) >= 90.0 and stricter.bytes > result.bytes


def test_a_fixed_quality_is_still_a_knob():
    source = encoded(detailed_photo(), "JPEG", quality=95)
    low, high = (focuspress.compress(source, saliency="none", quality=q) for q in (40, 90))
    assert low.contract is None and low.scores is None and low.bytes < high.bytes


def _stripes(height: int = 384, width: int = 512) -> np.ndarray:
    """Saturated one-pixel rows (red, blue): detail 4:2:0 halves away, 4:2:2 keeps."""
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[0::2] = (220, 20, 30)
    rgb[1::2] = (20, 40, 220)
    return rgb


@pytest.mark.parametrize("subsampling, name", [(1, "422"), (0, "444")])
def test_a_photo_sampled_finer_than_420_becomes_420_where_that_wins(subsampling, name):
    source = encoded(detailed_photo(384, 512), "JPEG", quality=95, subsampling=subsampling)
    assert load_image(source).jpeg.subsampling == name
    result = focuspress.compress(source, saliency="none", quality=80)
    assert result.route == "dct" and load_image(result.data).jpeg.subsampling == "420"
    kept = focuspress.compress(source, saliency="none", quality=80, subsampling="keep")
    assert load_image(kept.data).jpeg.subsampling == name


def test_fine_saturated_detail_keeps_its_own_sampling():
    source = encoded(_stripes(), "JPEG", quality=95, subsampling=1)  # 4:2:2: full vertical chroma
    result = focuspress.compress(source, saliency="none", quality=85)
    assert result.route == "dct" and load_image(result.data).jpeg.subsampling == "422"
    forced = focuspress.compress(source, saliency="none", quality=85, subsampling="420")
    reference = load_image(source).rgb
    assert ssimulacra2(reference, result.decoded()) > ssimulacra2(reference, forced.decoded()) + 5


@pytest.mark.parametrize("size", [(480, 640), (720, 1280), (1536, 2048)])
def test_the_tile_estimate_tracks_the_full_metric_at_every_size(size):
    """At a snapshot's size as at a camera's, and for the subject as the background moves: the
    estimate stays within twice its stated error of the full metric."""
    from PIL import Image

    from focuspress.engine.fidelity.contract import prepare_contract
    from focuspress.engine.fidelity.estimate import TileEstimator
    from focuspress.engine.options import CompressOptions

    height, width = size
    rgb = np.asarray(Image.fromarray(detailed_photo(192, 256, seed=5)).resize((width, height), Image.BICUBIC))
    rgb = np.clip(rgb.astype(np.int16) + np.random.default_rng(1).integers(-6, 7, rgb.shape), 0, 255).astype(np.uint8)
    image = load_image(encoded(rgb, "JPEG", quality=95, subsampling=1))
    importance = _blob_map(height, width, [(height // 4, width // 3, 3 * height // 4, 2 * width // 3)])
    prepared, subject, _ = prepare_contract(image, importance, CompressOptions())
    assert prepared.tiles is not None and not subject.empty
    estimator = TileEstimator(prepared.tiles, subject)
    for quality, background in ((85.0, 1.0), (92.0, 1.0), (92.0, 8.0), (92.0, 32.0)):
        estimate = estimator.scores(quality, background)
        shown = decode_upright(prepared.encode(quality, background).data)
        photo, region = ssimulacra2_with_region(image.rgb, shown, subject.weight())
        assert abs(estimate.photo - photo) <= 2 * PHOTO_ERROR, (quality, background)
        assert abs(estimate.subject - region) <= 2 * SUBJECT_ERROR, (quality, background)


@pytest.mark.parametrize("quality", [20, 40, 60, 75, 85, 92, 97, 100])
@pytest.mark.parametrize("subsampling", [2, 1, 0])
def test_never_larger_under_the_default_contract(quality, subsampling):
    source = encoded(detailed_photo(), "JPEG", quality=quality, subsampling=subsampling)
    result = focuspress.compress(source, saliency="none")
    assert result.bytes <= len(source)
    if result.outcome == "kept":
        assert result.data == source


@pytest.mark.slow
def test_scores_are_in_the_log_line_status_and_metrics(tmp_path):
    config = write_config(tmp_path, log_format="json")
    import yaml

    raw = yaml.safe_load(config.read_text())
    del raw["inboxes"][0]["compress"]  # the default: the contract
    raw["saliency"] = "combined"
    config.write_text(yaml.safe_dump(raw))
    daemon = Daemon(config).start()
    try:
        astronaut = Path(__file__).resolve().parents[1] / "samples" / "astronaut.png"
        shutil.copy(astronaut, tmp_path / "in0" / "astronaut.png")
        wait_for(lambda: (tmp_path / "out0" / "astronaut.jpg").exists(), 120, message=daemon.log())

        def finished() -> list[dict]:
            records = [json.loads(line) for line in daemon.log().splitlines() if line.startswith("{")]
            return [r for r in records if r.get("file") == "astronaut.png" and r.get("outcome") == "recompressed"]

        # the output is made durable before the photo's log line and metrics are written: wait for both
        wait_for(lambda: finished() and daemon.metric("focuspress_subject_ssimulacra2_count", 'inbox="cam0"') == 1, 30)
        done = finished()[0]
        # a 512x512 photo is scored on tiles (estimated); the margins are the stated errors
        exact = done["scores"] == "exact"
        assert done["scores"] in ("exact", "estimated")
        assert done["photo_ssimulacra2"] >= 80 - (0 if exact else PHOTO_ERROR)
        assert done["subject_ssimulacra2"] >= 90 - (0 if exact else SUBJECT_ERROR)
        recent = daemon.status()["recent"][0]
        assert recent["subject_ssimulacra2"] == done["subject_ssimulacra2"]
        assert daemon.metric("focuspress_photo_ssimulacra2_count", 'inbox="cam0"') == 1
        assert daemon.metric("focuspress_subject_ssimulacra2_count", 'inbox="cam0"') == 1
        assert daemon.metric("focuspress_subject_ssimulacra2_bucket", 'inbox="cam0",le="88.0"') == 0
        assert daemon.stop() == 0
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()


@pytest.mark.skipif(shutil.which("jpegtran") is None, reason="jpegtran not installed (apt install libjpeg-turbo-progs)")
@pytest.mark.data
def test_the_lossless_crop_matches_jpegtran(tmp_path):
    from focuspress.evaluation import lossless_crop

    path = CAMERA / "Canon_EOS_450D.jpg"
    if not path.exists():
        pytest.skip(f"shared data absent: {path}")
    ours = decode_upright(lossless_crop(path.read_bytes(), (1280, 960)))
    width, height = load_image(path).width, load_image(path).height  # 4:2:2, stored upright
    left, top = (width - 1280) // 2 // 16 * 16, (height - 960) // 2 // 8 * 8
    out = tmp_path / "crop.jpg"
    subprocess.run(["jpegtran", "-crop", f"1280x960+{left}+{top}", "-outfile", str(out), str(path)], check=True)
    assert np.array_equal(ours, decode_upright(out.read_bytes()))


class _ScriptedEstimator:
    """Scores as smooth functions of the knobs: the subject by quality alone (its blocks do not move
    with the background), the photo falling with the background."""

    exact = False
    subject_at_every_trial = False

    def __init__(
        self, photo_per_doubling: float = 4.0, photo_with_subject: bool = False, subject_ceiling: float = 100.0
    ) -> None:
        self.photo_per_doubling = photo_per_doubling
        self.photo_with_subject = photo_with_subject
        self.subject_ceiling = subject_ceiling  # (a subject its chroma sampling cannot keep stops here)
        self.calls: list[tuple[float, float, bool, bool]] = []

    def scores(self, quality: float, background: float, *, photo: bool = True, subject: bool = True):
        from focuspress.engine.fidelity.estimate import Scores

        self.calls.append((quality, background, photo, subject))
        doublings = float(np.log2(background))
        subject_score = min(self.subject_ceiling, 90.0 + 2.5 * (quality - 92.0))
        photo_score = 89.0 + 1.5 * (quality - 92.0) - self.photo_per_doubling * doublings
        return Scores(photo_score if photo else float("nan"), subject_score if subject else float("nan"))


def test_a_photo_without_a_subject_starts_where_its_target_with_the_margin_lies():
    """Without a subject the search looks for the photo's target plus its margin: a photo whose
    estimate meets exactly that where the search's prior says (and passes a little over it there)
    settles on the first trial. (Started at the bare target, its first trial failed by the margin
    and the search took three: camera-native's no-subject crops, 3 -> 2 trials.)"""
    from focuspress.engine.fidelity.contract import MARGIN, _start, settle
    from focuspress.engine.fidelity.estimate import Scores

    wanted = 80.0 + MARGIN[False]["photo"]
    prior = _start(None, wanted)

    class PhotoOnly:
        exact = False
        photo_with_subject = False
        subject_at_every_trial = False

        def __init__(self) -> None:
            self.calls: list[float] = []

        def scores(self, quality: float, background: float, *, photo: bool = True, subject: bool = True) -> Scores:
            self.calls.append(quality)
            return Scores(wanted + 0.3 + 1.5 * (quality - prior), None)

    estimator = PhotoOnly()
    settlement = settle(estimator, None, 80.0)  # type: ignore[arg-type]
    assert estimator.calls == [prior] and settlement.trials == 1
    assert settlement.scores.photo >= wanted and settlement.background == 1.0


@pytest.mark.parametrize("photo_per_doubling", [1.5, 4.0, 8.0])
def test_the_search_meets_both_targets_in_few_trials(photo_per_doubling):
    """The quality step asks for the subject alone, the background step for the photo alone; both
    targets are met, the photo within the search's closeness of its own, in at most eight trials."""
    from focuspress.engine.fidelity.contract import CLOSE_ENOUGH, MARGIN, settle

    estimator = _ScriptedEstimator(photo_per_doubling)
    settlement = settle(estimator, 90.0, 80.0)
    margin = MARGIN[False]
    assert settlement.scores.photo >= 80.0 + margin["photo"]
    assert settlement.scores.subject >= 90.0 + margin["subject"]
    assert settlement.scores.photo <= 80.0 + margin["photo"] + CLOSE_ENOUGH + 0.5 or settlement.background == 32.0
    assert settlement.trials == len(estimator.calls) <= 8
    assert all(not (photo and subject) for _, _, photo, subject in estimator.calls)  # never both at once


@pytest.mark.parametrize("photo_per_doubling", [1.5, 4.0, 8.0])
def test_a_subject_trial_that_scores_the_photo_too_is_the_background_steps_first(photo_per_doubling):
    """Where the estimator scores the photo alongside the subject, the quality step's trials are the
    background step's first guess: the same knobs are never tried twice, one trial fewer than
    scoring them apart, and both targets are still met."""
    from focuspress.engine.fidelity.contract import MARGIN, settle

    apart, joint = _ScriptedEstimator(photo_per_doubling), _ScriptedEstimator(photo_per_doubling, True)
    separate, together = settle(apart, 90.0, 80.0), settle(joint, 90.0, 80.0)
    margin = MARGIN[False]
    assert together.scores.photo >= 80.0 + margin["photo"] and together.scores.subject >= 90.0 + margin["subject"]
    assert (together.quality, together.background) == pytest.approx((separate.quality, separate.background))
    knobs = [(round(q, 3), round(b, 4)) for q, b, _, _ in joint.calls]
    assert len(knobs) == len(set(knobs))  # no trial repeated
    assert together.trials == len(joint.calls) == separate.trials - 1
    assert any(photo and subject for _, _, photo, subject in joint.calls)


def test_a_subject_out_of_reach_ends_the_search_where_another_sampling_waits():
    """Where no quality keeps the subject (4:2:0 on fine red detail) and the caller has the source's
    own sampling to try, the search stops after the quality step, unmet, with the best subject score
    it saw; without that fallback it settles the background as best it can."""
    from focuspress.engine.fidelity.contract import MAX_TRIALS, _met, settle

    short = _ScriptedEstimator(subject_ceiling=89.4)
    ended = settle(short, 90.0, 80.0, fallback=True)
    assert not _met(ended, 90.0, 80.0)
    assert ended.scores.subject == pytest.approx(89.4)
    assert ended.trials == len(short.calls) <= MAX_TRIALS
    assert not any(photo for _, _, photo, _ in short.calls)  # no background step
    alone = _ScriptedEstimator(subject_ceiling=89.4)
    best_effort = settle(alone, 90.0, 80.0)
    assert best_effort.trials > ended.trials and any(photo for _, _, photo, _ in alone.calls)
    reachable = _ScriptedEstimator()
    assert _met(settle(reachable, 90.0, 80.0, fallback=True), 90.0, 80.0)


@pytest.mark.parametrize("orientation, subsampling", [(1, 1), (6, 1), (5, 2), (1, 0)])
def test_the_source_tiles_cut_from_the_decoded_photo_are_the_ones_its_coefficients_decode_to(orientation, subsampling):
    """A snapshot decoded at load gives the estimator its source tiles by cutting them out (in the
    coefficients' stored orientation); they are, pixel for pixel, the tiles a mosaic of the source's
    own coefficients decodes to, at 4:2:2, 4:2:0 and 4:4:4 and under EXIF rotations and transposes."""
    from focuspress.engine.fidelity.contract import estimator_for, prepare_contract
    from focuspress.engine.fidelity.estimate import TileEstimator, _source_tiles
    from focuspress.engine.options import CompressOptions
    from tests.camera import camera_jpeg

    rgb = np.asarray(Image.fromarray(detailed_photo(192, 256, seed=3)).resize((640, 480), Image.BICUBIC))
    image = load_image(camera_jpeg(rgb, subsampling=subsampling, orientation=orientation))
    assert image.decoded and image.orientation == orientation
    importance = _blob_map(image.height, image.width, [(100, 100, 300, 300)])
    prepared, subject, stored = prepare_contract(image, importance, CompressOptions())
    estimator = estimator_for(image, prepared, subject, stored)
    assert isinstance(estimator, TileEstimator) and prepared.tiles is not None and len(estimator.tiles) >= 4
    pixels = image.rgb if orientation == 1 else np.ascontiguousarray(np.asarray(Image.open(io.BytesIO(image.data))))
    cut = _source_tiles(prepared.tiles, estimator.tiles, pixels)  # (the stored pixels, as Pillow decodes them)
    decoded = prepared.tiles.reference(estimator.tiles)
    assert all(np.array_equal(a, b) for a, b in zip(cut, decoded))
    # and the estimator's references are built from exactly these
    for reference, tile in zip(estimator._refs, decoded):
        assert np.array_equal(reference.levels[0][0], Reference(tile, 1).levels[0][0])


@pytest.mark.parametrize("orientation, subsampling", [(1, 2), (6, 1), (5, 2)])
def test_a_photo_too_small_for_tiles_is_scored_on_the_full_metric_itself(orientation, subsampling):
    """A photo under 320 pixels a side is scored whole: each trial's scores are the full SSIMULACRA2
    of what a viewer sees of that encode (upright, the subject's pixels for the subject's), under
    EXIF turns and transposes too (SSIMULACRA2's blur treats rows and columns differently at the
    edges: scored on the stored grid, a turned photo's scores differ)."""
    from focuspress.engine.fidelity.contract import estimator_for, prepare_contract
    from focuspress.engine.fidelity.estimate import FullEstimator
    from focuspress.engine.jpeg_input import to_upright
    from focuspress.engine.options import CompressOptions
    from tests.camera import camera_jpeg

    rgb = np.asarray(Image.fromarray(detailed_photo(192, 256, seed=3)).resize((448, 304), Image.BICUBIC))
    image = load_image(camera_jpeg(rgb, subsampling=subsampling, orientation=orientation))
    importance = _blob_map(image.height, image.width, [(40, 60, 200, 220)])
    prepared, subject, stored = prepare_contract(image, importance, CompressOptions())
    estimator = estimator_for(image, prepared, subject, stored)
    assert isinstance(estimator, FullEstimator) and estimator.exact and stored == (orientation != 1)
    turn = image.orientation if stored else 1
    weight = to_upright(subject.weight(), turn)
    for quality, background in ((92.0, 1.0), (86.0, 16.0)):
        scores = estimator.scores(quality, background)
        shown = to_upright(np.asarray(Image.open(io.BytesIO(prepared.encode(quality, background).data))), turn)
        photo, region = ssimulacra2_with_region(image.rgb, shown, weight)
        assert scores.photo == pytest.approx(photo, abs=0.01) and scores.subject == pytest.approx(region, abs=0.01)
        alone = estimator.scores(quality, background, photo=False)
        assert np.isnan(alone.photo) and alone.subject == pytest.approx(scores.subject, abs=1e-4)


@pytest.mark.parametrize("size, whole", [((480, 360), True), ((512, 384), False), ((640, 480), False)])
def test_a_photo_its_tiles_would_all_but_cover_is_scored_whole(size, whole):
    """A photo that holds a tile but is under three tiles' pixels (480x360, ECSSD's 400x333) is
    scored whole and exactly: its photo tiles would overlap over nearly all of it. From 512x384 up,
    tiles."""
    from focuspress.engine.fidelity.contract import estimator_for, prepare_contract
    from focuspress.engine.fidelity.estimate import FullEstimator, TileEstimator
    from focuspress.engine.options import CompressOptions
    from tests.camera import camera_jpeg

    width, height = size
    rgb = np.asarray(Image.fromarray(detailed_photo(192, 256, seed=3)).resize(size, Image.BICUBIC))
    image = load_image(camera_jpeg(rgb, subsampling=2))
    importance = _blob_map(height, width, [(40, 60, 200, 220)])
    prepared, subject, stored = prepare_contract(image, importance, CompressOptions())
    estimator = estimator_for(image, prepared, subject, stored)
    assert prepared.tiles is not None
    assert isinstance(estimator, FullEstimator if whole else TileEstimator) and estimator.exact == whole


@pytest.mark.parametrize("photo", ["ecssd/images/0947.jpg", "train/bsds500/296058.jpg"])
def test_a_small_photo_the_tiles_misjudged_keeps_the_photo_target(photo):
    """ECSSD's 0947 (400x333) and BSDS500's 296058 (481x321), held out of every tuning: on tiles the
    estimate passed their photos (0947's at 81.4) where the full metric gave 76.0 and 73.9; scored
    whole, the default contract's output meets 80 on the full metric."""
    path = SHARED / photo
    if not path.exists():
        pytest.skip(f"needs ../shared/data/{photo}")
    result = focuspress.compress(path.read_bytes())
    source, shown = decode_upright(path.read_bytes()), decode_upright(result.data)
    assert ssimulacra2(source, shown) >= 80.0
    assert result.bytes < path.stat().st_size


@pytest.mark.parametrize("kind", ["JPEG", "PNG"])  # the coefficients' route and the pixels'
def test_a_photo_scored_exactly_meets_both_targets_on_the_full_metric(kind):
    """Scored exactly, the settled encode meets both targets on the full metric itself, the subject's
    where the search settled its background too (not only where it settled its quality); and a
    photo whose map has no subject meets the photo's."""
    from focuspress.engine.fidelity.contract import meet_contract
    from focuspress.engine.options import CompressOptions

    rgb = np.asarray(Image.fromarray(detailed_photo(240, 320, seed=11)).resize((400, 300), Image.BICUBIC))
    source = encoded(rgb, "JPEG", quality=95, subsampling=1) if kind == "JPEG" else encoded(rgb, "PNG")
    image = load_image(source)
    for boxes in ([(60, 80, 220, 300)], []):
        importance = _blob_map(300, 400, boxes)
        rate, _, settlement = meet_contract(image, importance, CompressOptions())
        assert settlement.exact
        shown = np.asarray(Image.open(io.BytesIO(rate.encoded.data)).convert("RGB"))
        subject = find_subject(importance, 300, 400)
        photo, region = ssimulacra2_with_region(image.rgb, shown, subject.weight())
        assert photo >= 80.0 and photo == pytest.approx(settlement.scores.photo, abs=0.01)
        if boxes:
            # (the subject's score where step 1 settled the quality differs from this by ~1e-3 here)
            assert region >= 90.0 and region == pytest.approx(settlement.scores.subject, abs=2e-4)
            assert len(rate.encoded.data) < len(source)
        else:
            assert subject.empty and settlement.scores.subject is None


def test_one_reference_serves_the_photo_and_the_subject():
    """A tile that counts for both scores is compared once: pooling its first scales gives what a
    reference built with fewer scales gives."""
    from focuspress.engine.metrics.ssimulacra2 import Reference, pooled_against, score_sums

    rng = np.random.default_rng(4)
    source = detailed_photo(256, 256, seed=2)
    shown = np.clip(source.astype(np.int16) + rng.integers(-9, 10, source.shape), 0, 255).astype(np.uint8)
    six = Reference(source, 6).sums(shown)
    for scales in (6, 4, 2):
        assert score_sums([six], scales) == pytest.approx(
            pooled_against([Reference(source, scales)], [shown]), abs=1e-6
        )
    assert pooled_against([Reference(source, 6)], [shown]) == pytest.approx(
        pooled_ssimulacra2([(source, shown)]), abs=0.01
    )


@pytest.mark.parametrize("size", [(300, 400), (400, 300), (311, 330)])
def test_photos_a_tile_window_wide_or_less_are_scored_whole(size):
    # a side of 288-311 px holds a tile and one margin but not the mosaic's window (a tile and a
    # margin on both sides): such a photo wrote a mosaic from planes shorter than its header and
    # aborted the process (ECSSD 0437, 300x400)
    from focuspress.engine.fidelity.estimate import fits_tiles

    width, height = size
    assert not fits_tiles((-(-height // 8), -(-width // 8)))
    source = encoded(detailed_photo(height, width), "JPEG", quality=95)
    result = focuspress.compress(source, saliency="none")
    with Image.open(io.BytesIO(result.data)) as shown:
        assert shown.size == (width, height)


@pytest.mark.parametrize("subsampling", [1, 2])  # 4:2:2 (kept or taken to 4:2:0), 4:2:0
def test_a_snapshot_probed_whole_shows_its_tiles_as_the_mosaic_does(subsampling):
    """Where the tiles' windows hold as many blocks as the photo (a 640x480 snapshot), a trial codes
    the whole photo instead of a mosaic: every tile's pixels are the mosaic's, to the level."""
    from focuspress.engine.compositor.block.probe import decode_mosaics
    from focuspress.engine.fidelity.contract import prepare_contract
    from focuspress.engine.fidelity.estimate import TileEstimator
    from focuspress.engine.options import CompressOptions

    source = encoded(detailed_photo(480, 640, seed=7), "JPEG", quality=95, subsampling=subsampling)
    image = load_image(source)
    prepared, subject, _ = prepare_contract(image, _blob_map(480, 640, [(100, 120, 380, 520)]), CompressOptions())
    probe = prepared.tiles
    assert probe is not None
    for variant in (probe, prepared.alternative or probe):
        tiles = TileEstimator(variant, subject).tiles
        rows, cols = variant.grid
        assert len(tiles) * (tiles[0].size + 2 * variant.margin) ** 2 >= rows * cols  # the whole photo's path
        for quality, background in ((92.0, 1.0), (88.0, 12.0)):
            whole = variant.probe(quality, background, tiles)
            coded = variant.tile_mosaics(quality, background, tiles)
            mosaic = decode_mosaics(coded, tiles, variant.grid, variant.margin)
            assert all(np.array_equal(a, b) for a, b in zip(whole, mosaic))


def _camera_variants(sampling: str, seed: int, tmp_path: Path):
    """A 1000x600 camera-style JPEG at ``sampling`` with one subject, prepared for the contract: the
    image, its subject, and the tile probes of both preparations (4:2:0 and, where it differs, the
    source's own sampling)."""
    from focuspress.engine.fidelity.contract import prepare_contract
    from focuspress.engine.options import CompressOptions
    from tests.test_block_encoder import _cjpeg

    rgb = np.asarray(Image.fromarray(detailed_photo(240, 400, seed=seed)).resize((1000, 600), Image.BICUBIC))
    image = load_image(_cjpeg(rgb, sampling, tmp_path))
    prepared, subject, _ = prepare_contract(image, _blob_map(600, 1000, [(150, 200, 450, 700)]), CompressOptions())
    variants = [prepared.tiles, prepared.alternative.tiles if prepared.alternative is not None else None]
    return image, subject, [v for v in variants if v is not None]


def _assert_tiles_as_encoded(variant, tiles, image, knobs, label) -> None:
    """Each probed tile is, pixel for pixel, what the real encode at each (quality, background) of
    ``knobs`` decodes to there, and each of the variant's source tiles what the source decodes to."""
    for quality, background in knobs:
        shown = np.asarray(Image.open(io.BytesIO(variant.encode(quality, background).data)).convert("RGB"))
        for tile, probed in zip(tiles, variant.probe(quality, background, tiles)):
            top, left, bottom, right = tile.pixels
            assert np.array_equal(probed, shown[top:bottom, left:right]), (label, quality, tile)
    source = np.asarray(Image.open(io.BytesIO(image.data)).convert("RGB"))
    for tile, pixels in zip(tiles, variant.reference(tiles)):
        top, left, bottom, right = tile.pixels
        assert np.array_equal(pixels, source[top:bottom, left:right]), (label, tile)


@pytest.mark.parametrize("sampling", ["420", "422", "444", "440", "411", "grey"])
def test_a_mosaic_shows_its_tiles_as_the_whole_encode_does_at_every_sampling(sampling, tmp_path):
    """A trial's mosaic puts one MCU of the photo around each tile (``probe.margin_for``: 2 blocks at
    4:2:0 and 4:2:2, 1 at 4:4:4 and grey, 4 at 4:1:1) and cuts it off after decoding: each tile is,
    pixel for pixel, what the real encode at those knobs decodes to there, for both preparations
    (4:2:0 and the source's own sampling) and the source's tiles the estimator compares against."""
    from focuspress.engine.compositor.block.probe import margin_for
    from focuspress.engine.fidelity.estimate import TileEstimator

    image, subject, variants = _camera_variants(sampling, 9, tmp_path)
    for variant in variants:
        margin = variant.margin
        chroma = variant.factors[1] if len(variant.factors) > 1 else (1, 1)
        assert margin == margin_for(variant.factors) == {(1, 1): 1, (1, 4): 4}.get(tuple(chroma), 2)
        tiles = TileEstimator(variant, subject).tiles
        rows, cols = variant.grid
        assert len(tiles) * (tiles[0].size + 2 * margin) ** 2 < rows * cols  # the mosaic's path
        _assert_tiles_as_encoded(variant, tiles, image, ((92.0, 1.0), (85.0, 16.0)), sampling)


@pytest.mark.parametrize("sampling", ["420", "422", "411", "440"])
def test_tiles_on_the_photos_left_edge_show_what_the_whole_encode_does(sampling, tmp_path):
    """A window on the photo's left edge has no margin there: in a row of windows its first chroma
    column would be upsampled against the previous window's last. Such tiles, wherever they come in
    the list, each open a mosaic of their own and show, pixel for pixel, what the real encode does
    (and the source's tiles what the source does)."""
    from focuspress.engine.compositor.block.probe import Tile, mosaic_groups

    image, _, variants = _camera_variants(sampling, 5, tmp_path)
    tiles = [Tile(8, 40, 32), Tile(0, 0, 32), Tile(36, 64, 32), Tile(24, 0, 32)]
    for variant in variants:
        groups = mosaic_groups(tiles, variant.grid, variant.margin)
        assert sorted(i for group in groups for i in group) == [0, 1, 2, 3] and len(groups) == 2
        _assert_tiles_as_encoded(variant, tiles, image, ((90.0, 8.0),), sampling)


@pytest.mark.parametrize("sampling", ["420", "422", "411"])
def test_tiles_of_two_sizes_in_one_probe_show_what_the_whole_encode_does(sampling, tmp_path):
    """Where the photo is sampled with small tiles (``estimate.SMALL_BELOW_COVERAGE``) a trial probes
    them with the subject's 256-pixel tiles: a mosaic holds windows of one size, so each size gets
    its own (a left-edge tile of each size still opens one of its own), and every tile, in the
    order asked, is pixel for pixel what the real encode shows there."""
    from focuspress.engine.compositor.block.probe import Tile, mosaic_groups

    image, _, variants = _camera_variants(sampling, 6, tmp_path)
    tiles = [Tile(8, 40, 16), Tile(0, 0, 32), Tile(36, 64, 16), Tile(24, 0, 16), Tile(40, 88, 32), Tile(4, 100, 16)]
    for variant in variants:
        groups = mosaic_groups(tiles, variant.grid, variant.margin)
        assert sorted(i for group in groups for i in group) == list(range(len(tiles)))
        assert all(len({tiles[i].size for i in group}) == 1 for group in groups)
        _assert_tiles_as_encoded(variant, tiles, image, ((90.0, 8.0), (94.0, 1.0)), sampling)


@pytest.mark.parametrize(
    "size, small, count",
    [((1080, 1920), True, 12), ((720, 1280), True, 9), ((480, 640), False, 3), ((1600, 2400), False, 3)],
)
def test_photos_the_large_tiles_barely_cover_are_sampled_with_small_ones(size, small, count):
    """At 1080p three 256-pixel photo tiles cover a tenth of the photo, each a quarter of its height:
    the photo is then sampled with four 128-pixel tiles for each (the same pixels, spread over more
    places), debiased by their own fit, while the subject keeps the 256-pixel tiles it had (its
    estimate and bias are theirs). At 720p (a fifth) with about as many as cover 16% of it (nine,
    drawn on a grid of 2 x 4 cells).
    640x480 snapshots keep the large tiles (they cover a quarter of the photo or more), and so do
    photos whose short side holds six tiles or more."""
    from focuspress.engine.fidelity import estimate
    from focuspress.engine.fidelity.contract import prepare_contract
    from focuspress.engine.options import CompressOptions

    height, width = size
    rgb = np.asarray(Image.fromarray(detailed_photo(192, 256, seed=3)).resize((width, height), Image.BICUBIC))
    image = load_image(encoded(rgb, "JPEG", quality=95, subsampling=2))
    importance = _blob_map(height, width, [(height // 4, width // 3, 3 * height // 4, 2 * width // 3)])
    prepared, subject, _ = prepare_contract(image, importance, CompressOptions())
    assert prepared.tiles is not None and not subject.empty
    tiles = estimate.TileEstimator(prepared.tiles, subject)
    photo = tiles.tiles[: tiles.photo_count]
    assert tiles.small is small and estimate.photo_design(prepared.tiles.grid)[1] == count
    if small:
        assert {t.size for t in photo} == {estimate.SMALL_TILE_BLOCKS}
        assert len(photo) >= count - 1  # (a stratified grid of about ``count`` cells)
    else:
        assert {t.size for t in photo} == {estimate.TILE_BLOCKS} and len(photo) >= count
    assert tiles.subject_index and all(tiles.tiles[i].size == estimate.TILE_BLOCKS for i in tiles.subject_index)
    raw = estimate.TileEstimator(prepared.tiles, subject, raw=True).scores(90.0, 8.0)
    fixed = tiles.scores(90.0, 8.0)
    assert fixed.photo == pytest.approx(estimate.debias(raw.photo, "photo_small" if small else "photo"))
    assert fixed.subject == pytest.approx(estimate.debias(raw.subject, "subject"))
    # the subject's tiles, and so its score, are the large design's whichever samples the photo
    large = estimate.TileEstimator(prepared.tiles, subject, design=estimate.large_design(prepared.tiles.grid))
    assert [tiles.tiles[i] for i in tiles.subject_index] == [large.tiles[i] for i in large.subject_index]
    assert fixed.subject == pytest.approx(large.scores(90.0, 8.0).subject, abs=1e-6)


@pytest.mark.parametrize("sampling", ["444", "422"])
def test_the_sampling_choice_weighs_two_mosaics_of_the_same_blocks(sampling, tmp_path, monkeypatch):
    """4:2:0 and the camera's own sampling are compared by their mosaics' sizes: both code the same
    blocks around each tile (the wider MCU), though each alone would use its own (4:4:4's one block
    against 4:2:0's two), so that a smaller margin is never counted as a cheaper sampling."""
    from focuspress.engine.compositor.block import probe
    from focuspress.engine.fidelity.contract import prepare_contract
    from focuspress.engine.fidelity.estimate import TileEstimator
    from focuspress.engine.options import CompressOptions
    from tests.test_block_encoder import _cjpeg

    rgb = np.asarray(Image.fromarray(detailed_photo(240, 400, seed=4)).resize((1000, 600), Image.BICUBIC))
    image = load_image(_cjpeg(rgb, sampling, tmp_path))
    prepared, subject, _ = prepare_contract(image, _blob_map(600, 1000, [(150, 200, 450, 700)]), CompressOptions())
    assert prepared.tiles is not None and prepared.alternative is not None
    estimator = TileEstimator(prepared.tiles, subject)
    sizes: list[tuple[int, int]] = []
    original = probe.decode_rgb

    def measured(data: bytes) -> np.ndarray:
        rgb = original(data)
        sizes.append(rgb.shape[:2])
        return rgb

    monkeypatch.setattr(probe, "decode_rgb", measured)
    estimator.sampling_choice(prepared.alternative, 92.5)
    assert len(sizes) == 2 and sizes[0] == sizes[1]
    assert {prepared.tiles.margin, prepared.alternative.tiles.margin} == ({1, 2} if sampling == "444" else {2})


@pytest.mark.parametrize("size, count", [((1440, 2560), 4), ((1520, 2688), 6)])
def test_a_snapshot_chooses_its_sampling_on_one_tiles_pixels(size, count, tmp_path, monkeypatch):
    """Up to 2560x1440 (:data:`ONE_TILE_CHOICE_PIXELS`) the chroma-sampling choice codes and scores
    one large tile's pixels (four small tiles spread over the photo); a larger photo every other
    photo tile (here six of twelve small ones)."""
    from focuspress.engine.compositor.block import sampling
    from focuspress.engine.fidelity.contract import prepare_contract
    from focuspress.engine.fidelity.estimate import TileEstimator
    from focuspress.engine.options import CompressOptions
    from tests.test_block_encoder import _cjpeg

    height, width = size
    rgb = np.asarray(Image.fromarray(detailed_photo(height // 4, width // 4, seed=5)).resize((width, height)))
    image = load_image(_cjpeg(rgb, "422", tmp_path))
    importance = _blob_map(height, width, [(height // 4, width // 4, height // 2, width // 2)])
    prepared, subject, _ = prepare_contract(image, importance, CompressOptions())
    assert prepared.tiles is not None and prepared.alternative is not None
    estimator = TileEstimator(prepared.tiles, subject)
    assert estimator.small and estimator.photo_count == 12
    probed: list[list] = []
    monkeypatch.setattr(sampling, "keeps_sampling", lambda _a, _b, tiles, *_r: probed.append(tiles) or False)
    estimator.sampling_choice(prepared.alternative, 92.5)
    assert len(probed) == 1 and len(probed[0]) == count
    assert len({tile.row for tile in probed[0]}) > 1  # spread over the photo, not one row of it


def test_the_subject_score_skips_tiles_holding_a_sliver_of_it():
    """The subject's tiles are the fullest ones holding 95% of its pixels: a tile with 3% of them
    beside tiles with the rest is not probed for the subject, and every fuller one is."""
    from focuspress.engine.fidelity.estimate import SUBJECT_SHARE, _holding_most

    full = np.ones((4, 4), np.float32)
    weights = [full * 0.03, None, full * 0.5, full * 0.47]
    assert _holding_most(weights) == [2, 3]
    assert _holding_most([full * 0.02, None, full]) == [2]
    assert _holding_most([full * 0.3, full * 0.3, full * 0.4]) == [0, 1, 2]
    kept = _holding_most(weights)
    assert sum(float(weights[i].sum()) for i in kept) >= SUBJECT_SHARE * sum(  # type: ignore[union-attr]
        float(w.sum()) for w in weights if w is not None
    )


#: camera-native's Bushnell cropped to 2560x1440: its subject's three regions (in blocks)
BUSHNELL_2560 = [(0, 38, 30, 75), (147, 204, 180, 252), (167, 111, 180, 160)]


def _subject_of(grid: tuple[int, int], boxes: list[tuple[int, int, int, int]]):
    from focuspress.engine.fidelity.subject import Subject

    blocks = np.zeros(grid, bool)
    for top, left, bottom, right in boxes:
        blocks[top:bottom, left:right] = True
    return Subject(blocks, blocks.astype(np.float32), grid[0] * 8, grid[1] * 8)


@pytest.mark.parametrize("seed", range(12))
def test_a_subject_of_small_regions_far_apart_gets_tiles_that_hold_it(seed):
    """Camera-native's Bushnell cropped to 2560x1440: three subject regions in three corners, 4% of
    the frame, whose bounding box is nearly all of it. The subject's tiles hold some of it whatever
    the seed (tiles sampled over its box alone missed it all for seeds 0, 6 and 7)."""
    from focuspress.engine.compositor.block.probe import sample_tiles
    from focuspress.engine.fidelity.estimate import TILE_BLOCKS, _coverage, _subject_tiles, photo_tile_count

    grid = (180, 320)
    subject = _subject_of(grid, BUSHNELL_2560)
    photo = sample_tiles(grid, (0, 0, *grid), photo_tile_count(grid), TILE_BLOCKS, seed)
    added = _subject_tiles(grid, subject, photo, seed)
    assert any(_coverage(subject, t) > 0 for t in photo + added)
    assert all(_coverage(subject, t) > 0 for t in added)


def test_where_sampling_misses_the_subject_its_fullest_places_are_taken():
    """The fallback's tiles: the aligned places holding the most of the subject, apart from each
    other and from the tiles already taken."""
    from itertools import product

    from focuspress.engine.compositor.block.probe import ALIGN_BLOCKS, MARGIN_BLOCKS, Tile
    from focuspress.engine.fidelity.estimate import TILE_BLOCKS, _coverage, _fullest_tiles

    grid = (180, 320)
    subject = _subject_of(grid, BUSHNELL_2560)
    places = product(
        range(0, grid[0] - TILE_BLOCKS - MARGIN_BLOCKS + 1, ALIGN_BLOCKS),
        range(0, grid[1] - TILE_BLOCKS - MARGIN_BLOCKS + 1, ALIGN_BLOCKS),
    )
    best = max(_coverage(subject, Tile(row, col, TILE_BLOCKS)) for row, col in places)
    taken = {(60, 100)}
    chosen = _fullest_tiles(grid, subject, set(taken), 3)
    assert len(chosen) == 3 and _coverage(subject, chosen[0]) == best
    assert all(_coverage(subject, t) > 0 for t in chosen)
    placed = [*taken, *((t.row, t.col) for t in chosen)]
    for i, (row, col) in enumerate(placed):
        for other in placed[:i]:
            assert abs(row - other[0]) >= TILE_BLOCKS or abs(col - other[1]) >= TILE_BLOCKS


def test_a_subject_no_tile_can_hold_is_scored_whole():
    """A subject only in the photo's last block rows (tiles keep a mosaic's margin from the far
    edges) cannot be sampled: the contract scores such a photo exactly instead of failing."""
    from focuspress.engine.fidelity.contract import estimator_for, prepare_contract
    from focuspress.engine.fidelity.estimate import FullEstimator, TileEstimator
    from focuspress.engine.options import CompressOptions

    image = load_image(encoded(detailed_photo(480, 640), "JPEG", quality=95, subsampling=2))
    prepared, _, stored = prepare_contract(image, np.full((480, 640), 0.1, np.float32), CompressOptions())
    edge = _subject_of((60, 80), [(58, 10, 60, 30)])
    estimator = estimator_for(image, prepared, edge, stored)
    assert isinstance(estimator, FullEstimator)
    scores = estimator.scores(90.0, 4.0)
    assert scores.subject is not None and 0 < scores.subject <= 100
    reachable = _subject_of((60, 80), [(40, 10, 50, 30)])
    assert isinstance(estimator_for(image, prepared, reachable, stored), TileEstimator)


def test_a_search_step_takes_the_slope_of_the_side_it_starts_from():
    """The background's score curve is flatter on the passing side than on the failing one: a Newton
    step from a passing trial uses the first prior slope, from a failing trial the second, and a
    curve shaped like that is crossed in two trials from either side (swapping the two priors, or
    taking one for both, costs a third trial from at least one side)."""
    from focuspress.engine.fidelity.contract import CLOSE_ENOUGH, _lowest

    def slack(x: float) -> float:  # 3 points per unit above the crossing at 0, 5 below it
        return 3.0 * x if x >= 0 else 5.0 * x

    for start in (2.0, -2.0):
        probes: list[float] = []

        def counted(x: float, probes: list[float] = probes) -> float:
            probes.append(x)
            return slack(x)

        found = _lowest(counted, (-5.0, 5.0), start, (3.0, 5.0), 0.2)
        assert len(probes) == 2, (start, probes)
        assert 0.0 <= slack(found) <= CLOSE_ENOUGH


def _textured_photo(seed: int, noise_seed: int, size: tuple[int, int] = (768, 1024)) -> LoadedImage:
    """A photo (1024x768 unless ``size`` says) with fine texture everywhere (grain over a detailed
    scene), as a q95 4:2:0 JPEG: tiles anywhere on it score alike unless the encode treats them apart."""
    height, width = size
    rgb = np.asarray(Image.fromarray(detailed_photo(192, 256, seed=seed)).resize((width, height), Image.BICUBIC))
    grain = np.random.default_rng(noise_seed).integers(-6, 7, rgb.shape)
    rgb = np.clip(rgb.astype(np.int16) + grain, 0, 255).astype(np.uint8)
    return load_image(encoded(rgb, "JPEG", quality=95, subsampling=2))


def test_a_photo_trial_pools_the_subject_and_the_rest_by_their_shares_of_the_photo(monkeypatch):
    """The photo's tiles are a sample: here they hold about twice the subject's share of the photo.
    Pooled by the photo's own shares (the subject's sums from its own tiles, the rest's from the
    photo tiles) the estimate follows the full metric as the background coarsens, and a photo trial
    leaves out the photo tiles that are all subject (they add nothing to the rest) for the same score."""
    from focuspress.engine.fidelity import estimate
    from focuspress.engine.fidelity.contract import prepare_contract
    from focuspress.engine.fidelity.estimate import TileEstimator, _coverage
    from focuspress.engine.options import CompressOptions

    height, width = 768, 1024
    image = _textured_photo(8, 3)
    # two objects, each (with the subject's margin) one of the sampled photo tiles
    importance = _blob_map(height, width, [(72, 72, 312, 312), (8, 520, 248, 760)])
    prepared, subject, _ = prepare_contract(image, importance, CompressOptions())
    assert prepared.tiles is not None
    estimator = TileEstimator(prepared.tiles, subject)
    held = np.mean([_coverage(subject, estimator.tiles[i]) for i in range(estimator.photo_count)])
    assert held > 1.5 * subject.share and estimator._all_subject  # a sample heavy with subject
    probed: list[int] = []
    real_probe = prepared.tiles.probe
    monkeypatch.setattr(
        prepared.tiles, "probe", lambda q, b, tiles: probed.append(len(tiles)) or real_probe(q, b, tiles)
    )
    quality, errors = 90.0, {}
    estimator.scores(quality, 8.0, photo=False, subject=True)
    for stratified in (True, False):
        monkeypatch.setattr(estimate, "STRATIFY", stratified)
        for background in (8.0, 32.0):
            probed.clear()
            photo = estimator.scores(quality, background, photo=True, subject=False).photo
            full, _ = ssimulacra2_with_region(
                image.rgb, decode_upright(prepared.encode(quality, background).data), subject.weight()
            )
            errors[stratified, background] = abs(photo - full)
            if stratified:
                assert probed == [estimator.photo_count - len(estimator._all_subject)]
                clone = TileEstimator(prepared.tiles, subject)
                clone._all_subject = set()  # every photo tile probed: the same score
                clone.scores(quality, 8.0, photo=False, subject=True)
                assert clone.scores(quality, background, photo=True, subject=False).photo == pytest.approx(
                    photo, abs=1e-3
                )
    assert errors[True, 32.0] <= PHOTO_ERROR
    assert errors[True, 32.0] < errors[False, 32.0]


def test_a_subject_over_every_photo_tile_still_leaves_the_background_sampled(monkeypatch):
    """A subject that covers all of the photo's sampled tiles (a close-up): the background, which the
    multiplier coarsens, would go unseen and the photo's estimate would not move with it. Tiles are
    added where the subject is not, and the estimate follows the full metric as the background
    coarsens."""
    from focuspress.engine.fidelity import estimate
    from focuspress.engine.fidelity.contract import prepare_contract
    from focuspress.engine.fidelity.estimate import TileEstimator, _coverage
    from focuspress.engine.options import CompressOptions

    height, width = 768, 1024
    image = _textured_photo(9, 5)
    # the four photo tiles of this grid lie within rows 0-736 and columns 64-928
    importance = _blob_map(height, width, [(8, 72, 728, 920)])
    prepared, subject, _ = prepare_contract(image, importance, CompressOptions())
    assert prepared.tiles is not None
    errors, shipped = {}, estimate.BACKGROUND_TILES
    for extra in (shipped, 0):
        monkeypatch.setattr(estimate, "BACKGROUND_TILES", extra)
        estimator = TileEstimator(prepared.tiles, subject)
        sampled = [_coverage(subject, estimator.tiles[i]) for i in range(estimator.photo_count)]
        if extra:
            assert min(sampled) < 1.0 and sorted(sampled)[-4:] == [1.0] * 4  # the added tiles hold background
        else:
            assert sampled == [1.0] * 4  # (what the photo's own tiles hold: subject only)
        shown = decode_upright(prepared.encode(92.0, 32.0).data)
        full, _ = ssimulacra2_with_region(image.rgb, shown, subject.weight())
        errors[extra] = abs(estimator.scores(92.0, 32.0).photo - full)
    assert errors[shipped] <= 2 * PHOTO_ERROR < errors[0]  # (within twice the stated error)


def test_a_snapshots_photo_tiles_get_no_more_tiles_where_they_are_most_of_it(monkeypatch):
    """A 640x480 snapshot's photo tiles hold most of the photo: with a small subject no tiles are
    added for the background (they would make a photo trial score more pixels than the photo has),
    and the estimate still follows the full metric as the background coarsens. A close-up whose
    subject covers every photo tile of a 720x480 snapshot still gets one where the subject is not."""
    from focuspress.engine.compositor.block.probe import sample_tiles
    from focuspress.engine.fidelity import estimate
    from focuspress.engine.fidelity.contract import prepare_contract
    from focuspress.engine.fidelity.estimate import TILE_BLOCKS, TileEstimator, _coverage, photo_tile_count
    from focuspress.engine.options import CompressOptions

    def photo_tiles(prepared) -> int:
        rows, cols = prepared.tiles.grid
        return len(sample_tiles((rows, cols), (0, 0, rows, cols), photo_tile_count((rows, cols)), TILE_BLOCKS, 0))

    image = _textured_photo(9, 5, (480, 640))
    importance = _blob_map(480, 640, [(300, 420, 430, 600)])
    prepared, subject, _ = prepare_contract(image, importance, CompressOptions())
    sampled = photo_tiles(prepared)
    with monkeypatch.context() as patch:
        patch.setattr(estimate, "DENSE_PHOTO_SHARE", 2.0)  # (the rule off: the share-proportional one)
        assert TileEstimator(prepared.tiles, subject).photo_count > sampled
    estimator = TileEstimator(prepared.tiles, subject)
    assert estimator.photo_count == sampled
    for background in (8.0, 32.0):
        shown = decode_upright(prepared.encode(92.0, background).data)
        full, _ = ssimulacra2_with_region(image.rgb, shown, subject.weight())
        assert abs(estimator.scores(92.0, background).photo - full) <= 2 * PHOTO_ERROR, background

    close = _textured_photo(7, 3, (480, 720))
    # the three photo tiles of this grid, each grown by the subject's 24-pixel margin to cover it
    boxes = [(144, 16, 368, 240), (16, 240, 240, 464), (176, 432, 400, 656)]
    prepared, subject, _ = prepare_contract(close, _blob_map(480, 720, boxes), CompressOptions())
    estimator = TileEstimator(prepared.tiles, subject)
    sampled = photo_tiles(prepared)
    covered = [_coverage(subject, tile) for tile in estimator.tiles[: estimator.photo_count]]
    assert covered[:sampled] == [1.0] * sampled and estimator.photo_count == sampled + 1 and covered[-1] < 1.0
