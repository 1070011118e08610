"""Every valid photo gets its output: the generated matrix of ``focuspress.bench.fuzz.matrix``.

Sizes from 1x1 through odd MCU remainders to 601x451, every sampling libjpeg writes (4:4:4,
4:2:2, 4:2:0, 4:4:0, 4:1:1, grey, Cb and Cr sampled apart, chroma finer than luma) and CMYK and
PNG, baseline and progressive, restart intervals, EXIF orientations 1-8, both routes, the
contract and ``-q``, each metadata policy: every output decodes, upright at the source's upright
size and the right way round. The quick run covers every (size, sampling) pair twice with the
other axes cycling (every value of every axis is met); the slow one six times more; ``focuspress
bench matrix --full`` runs the product.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from focuspress.bench.fuzz.matrix import (
    CJPEG,
    ORIENTATIONS,
    POLICIES,
    SAMPLINGS,
    SIZES,
    MatrixCase,
    judge,
    matrix_cases,
    run_matrix,
    source_bytes,
)
from focuspress.engine.io.jpeg import JpegInfo
from focuspress.engine.io.load import LoadedImage
from focuspress.engine.jpeg_input import pixel_route_reason
from focuspress.engine.options import CompressOptions

needs_cjpeg = pytest.mark.skipif(CJPEG is None, reason="cjpeg not installed (apt install libjpeg-turbo-progs)")


def _wrong(verdicts) -> list[str]:
    return [f"{v.case.name}: {v.outcome}: {v.message}" for v in verdicts if v.outcome != "ok"]


def test_the_quick_matrix_meets_every_value_of_every_axis():
    cases = matrix_cases(per_pair=2)
    assert {(c.height, c.width) for c in cases} == set(SIZES)
    assert {c.sampling for c in cases} == set(SAMPLINGS)
    assert {c.orientation for c in cases} == set(ORIENTATIONS)
    assert {c.policy for c in cases} == set(POLICIES)
    assert {(c.scan, c.restart, c.route, c.mode) for c in cases} >= {
        ("baseline", 0, "auto", "contract"),
        ("progressive", 1, "pixel", "quality"),
        ("arithmetic", 0, "auto", "contract"),
    }
    for sampling in SAMPLINGS:  # every orientation meets every sampling
        assert {c.orientation for c in cases if c.sampling == sampling} == set(ORIENTATIONS)


@needs_cjpeg
def test_every_valid_photo_of_the_quick_matrix_gets_its_output():
    verdicts = run_matrix(matrix_cases(per_pair=2))
    assert _wrong(verdicts) == []


@pytest.mark.slow
@needs_cjpeg
def test_every_valid_photo_of_a_wider_matrix_gets_its_output():
    verdicts = run_matrix(matrix_cases(per_pair=8)[1::2])  # (the quick run's cases are among the others)
    assert _wrong(verdicts) == []


@needs_cjpeg
def test_the_judge_sees_a_turned_output():
    """The judge itself can fail: an output shown flipped is wrong, a refusal with a traceback is wrong."""
    case = MatrixCase(33, 65, "420", orientation=6)
    source = source_bytes(case)
    assert judge(case, source, source, None).outcome == "ok"
    upright = source_bytes(MatrixCase(33, 65, "420", orientation=1))
    assert judge(case, source, upright, None).outcome == "ok"  # the same photo, stored upright
    mirrored = io.BytesIO()
    Image.open(io.BytesIO(upright)).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(mirrored, "JPEG", quality=95)
    assert judge(case, source, mirrored.getvalue(), None).outcome == "wrong"
    assert judge(case, source, None, "x: internal error: ValueError: shapes differ").outcome == "wrong"
    assert judge(case, source, None, "x: cannot decode image (truncated)").outcome == "refused"


# The failures the matrix was made for, each on its own (each raised an internal error before)
@needs_cjpeg
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("orientation", [5, 7])
def test_transposed_orientations_5_and_7(orientation, policy):
    """``shapes differ: (3, 451, 601) vs (451, 601, 3)``: the transpose swapped the colour axis too."""
    cases = [
        MatrixCase(451, 601, "420", orientation=orientation, policy=policy, mode=m) for m in ("contract", "quality")
    ]
    assert _wrong(run_matrix(cases)) == []


@needs_cjpeg
@pytest.mark.parametrize("size", [(1, 1), (3, 2), (13, 7)])
@pytest.mark.parametrize("sampling", ["png", "420"])
def test_photos_under_8_pixels_a_side(size, sampling):
    """``no images to score``: SSIMULACRA2 stops below 8 pixels; the contract scores them padded."""
    assert _wrong(run_matrix([MatrixCase(*size, sampling)])) == []


@needs_cjpeg
@pytest.mark.parametrize("mode", ["contract", "quality"])
def test_411_at_33x65(mode):
    """``index can't contain negative values``: 4:1:1 chroma is 4 luma blocks wide, not round(5 / 2)."""
    assert _wrong(run_matrix([MatrixCase(65, 33, "411", mode=mode, orientation=o) for o in (1, 6)])) == []


@needs_cjpeg
@pytest.mark.parametrize("sampling", ["apart", "finer"])
def test_chroma_sampled_unlike_any_cameras(sampling):
    """``could not broadcast input array from shape (30,20,8,8) into shape (30,40,8,8)``: the DCT route
    read Cb's sampling for both chroma planes. Cb and Cr sampled apart (``cjpeg -sample
    2x1,1x1,1x2``) or finer than luma (``1x1,2x2,1x1``) take the pixel route, at every size."""
    cases = [MatrixCase(451, 601, sampling, mode=m) for m in ("contract", "quality")]
    cases += [MatrixCase(29, 37, sampling, mode="quality", orientation=6), MatrixCase(7, 13, sampling)]
    assert _wrong(run_matrix(cases)) == []


def test_which_chroma_layouts_the_dct_route_takes():
    """Both chroma planes on one sampling that divides luma's: every camera's layout, 4:1:1 and 3x1
    included; otherwise the pixel route (a reason, not an exception deep in the resampling)."""

    def info(*sampling: tuple[int, int]) -> JpegInfo:
        return JpegInfo(len(sampling), tuple(sampling), np.ones((len(sampling), 8, 8)), False, None, 75.0)

    taken = [((2, 2), (1, 1), (1, 1)), ((2, 1), (1, 1), (1, 1)), ((1, 1), (1, 1), (1, 1)), ((1, 2), (1, 1), (1, 1))]
    taken += [((4, 1), (1, 1), (1, 1)), ((3, 1), (1, 1), (1, 1)), ((2, 2), (2, 1), (2, 1)), ((1, 1),)]
    for sampling in taken:
        assert info(*sampling).chroma_follows_luma, sampling
    refused = [((2, 1), (1, 1), (1, 2)), ((1, 1), (2, 2), (1, 1)), ((2, 2), (1, 1), (2, 2)), ((1, 1), (1, 1), (2, 1))]
    for sampling in refused:
        assert not info(*sampling).chroma_follows_luma, sampling
    photo = LoadedImage(np.zeros((8, 8, 3), np.uint8), data=b"\xff\xd8", jpeg=info(*refused[0]))
    assert pixel_route_reason(photo, CompressOptions()) is not None
    photo = LoadedImage(np.zeros((8, 8, 3), np.uint8), data=b"\xff\xd8", jpeg=info(*taken[1]))
    assert pixel_route_reason(photo, CompressOptions()) is None
