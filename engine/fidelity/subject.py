"""The subject of a photo: the 8x8 blocks where the importance map says people look.

The fidelity contract keeps the subject visually lossless and lets the rest of the photo go
cheaper. The subject is the map's confident region itself (importance above :data:`THRESHOLD`:
a uniform map of 0.5, saliency "none", has none), on the JPEG's own 8x8 block grid: specks under
:data:`MIN_AREA` of the photo dropped, the rest grown by a margin (:func:`margin_pixels`: a map
is soft at an object's edge and a viewer's eye is on its outline), which also fills the map's
small holes. The subject score is SSIMULACRA2's error maps of the whole photo pooled over the
subject's pixels only (:func:`focuspress.engine.metrics.ssimulacra2.ssimulacra2_with_region`):
the subject is seen in context at all the photo's scales, and the background between two
objects, or around one inside its bounding box, counts for nothing there. (Until round 4 the
subject was the bounding box of the confident regions: half a frame's map in two regions made
the whole frame the subject, held at 90; the issue's camera crops saved 49% where the photo
target alone allowed 60% and more.)

The encoder's knob follows the same blocks: :attr:`Subject.importance` is 1 on the subject and
one block and a half around it (so every luma block of the subject, and every 4:2:0 chroma block
that touches it, is coded the same whatever the background multiplier), falling to 0 over a ramp
outside (:data:`FEATHER`), so that the step from subject to background is spread over blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THRESHOLD = 0.5
#: resampling a uniform map of 0.5 to the block grid can give 0.50000006: not confident
ROUNDING = 1e-4
#: a confident region smaller than this fraction of the photo is not a subject (a speck of the map)
MIN_AREA = 0.005
#: the subject grows by this many pixels at least around the map's confident region: one and a
#: half of JPEG's 16-pixel coding units, so the blocks an object's outline falls in are subject...
MARGIN_MIN_PIXELS = 24
#: ...and by this fraction of the photo's short side where that is more (the map is computed at
#: 448 pixels: on a camera photo one map pixel is 7-9 photo pixels, and its edges are that soft)
MARGIN_FRACTION = 0.02
#: the importance ramp outside the subject: this fraction of the photo's short side...
FEATHER = 0.04
#: ...and at least this many pixels (three coding units): the step from subject to background is
#: spread over blocks, not a seam one block wide
FEATHER_MIN_PIXELS = 48
#: blocks this close to the subject (in blocks, centre to centre) keep importance 1: a 4:2:0 chroma
#: block covers 2x2 luma blocks, and the one that touches the subject diagonally is 1.41 away
KEEP_BLOCKS = 1.5


@dataclass(frozen=True)
class Subject:
    """The subject on a photo's 8x8 block grid (``height`` x ``width`` pixels, in the encoder's
    orientation): ``blocks`` marks the subject's blocks, ``importance`` (0..1 per block) is what
    the background knob is steered by. An empty subject (no confident region) has no blocks."""

    blocks: np.ndarray
    importance: np.ndarray
    height: int
    width: int

    @property
    def empty(self) -> bool:
        return not bool(self.blocks.any())

    @property
    def share(self) -> float:
        """The subject's fraction of the photo's blocks."""
        return float(self.blocks.mean()) if self.blocks.size else 0.0

    def weight(self, top: int = 0, left: int = 0, bottom: int | None = None, right: int | None = None) -> np.ndarray:
        """The subject's pixels in rows ``top:bottom``, columns ``left:right`` (default: the photo) as
        float32 weights (1 on the subject, 0 elsewhere): what its score is pooled over."""
        bottom = self.height if bottom is None else bottom
        right = self.width if right is None else right
        rows = np.arange(top, bottom) // 8
        cols = np.arange(left, right) // 8
        rows = np.clip(rows, 0, self.blocks.shape[0] - 1)
        cols = np.clip(cols, 0, self.blocks.shape[1] - 1)
        return self.blocks[np.ix_(rows, cols)].astype(np.float32)


def block_grid(height: int, width: int) -> tuple[int, int]:
    """Luma blocks of a ``height`` x ``width`` photo (partial blocks included, as libjpeg codes them)."""
    return -(-height // 8), -(-width // 8)


def margin_pixels(height: int, width: int) -> float:
    """How far the subject reaches beyond the map's confident region (see :data:`MARGIN_MIN_PIXELS`)."""
    return max(MARGIN_MIN_PIXELS, MARGIN_FRACTION * min(height, width))


def feather_pixels(height: int, width: int) -> float:
    return max(FEATHER_MIN_PIXELS, FEATHER * min(height, width))


def find_subject(importance: np.ndarray, height: int, width: int) -> Subject:
    """The subject of a ``height`` x ``width`` photo from its importance map (any resolution, the
    photo's orientation): see the module's docstring."""
    import cv2

    rows, cols = block_grid(height, width)
    shrinking = rows < importance.shape[0] and cols < importance.shape[1]
    grid = cv2.resize(
        importance.astype(np.float32),
        (cols, rows),
        interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR,
    )
    confident = (grid > THRESHOLD + ROUNDING).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(confident, connectivity=8)
    keep = np.zeros(count, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= MIN_AREA * confident.size
    core = keep[labels]
    if not core.any():
        empty = np.zeros((rows, cols), dtype=bool)
        return Subject(empty, np.zeros((rows, cols), np.float32), height, width)
    distance = _distance_in_blocks(core)
    blocks = distance <= margin_pixels(height, width) / 8.0
    around = _distance_in_blocks(blocks)
    ramp = feather_pixels(height, width) / 8.0
    weight = np.clip(1.0 - np.maximum(around - KEEP_BLOCKS, 0.0) / ramp, 0.0, 1.0).astype(np.float32)
    return Subject(blocks, weight, height, width)


def _distance_in_blocks(region: np.ndarray) -> np.ndarray:
    """Each block's Euclidean distance (in blocks) to the nearest block of ``region`` (0 inside)."""
    import cv2

    outside = (~region).astype(np.uint8)
    return cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
