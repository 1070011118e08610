"""The subject of a photo: where the importance map says people look, as boxes a score can be measured on.

The fidelity contract keeps the subject visually lossless and lets the rest of the photo go
cheaper, so the subject must be a region a score can be measured on: the bounding boxes of the
map's confident regions (importance above :data:`THRESHOLD`: a uniform map of 0.5, saliency
"none", has none), one box each, specks under :data:`MIN_AREA` of the photo dropped, grown by
:data:`MARGIN` of their sides (:data:`MARGIN_MIN_PIXELS` at least: a map is soft at the edges
of an object, and a viewer's eye is on the object's outline too), each at least :func:`min_side`
pixels a side (256, or a quarter of a small photo's short side); boxes that overlap (or nest)
become one, their bounding box. The subject's soft mask falls off over a ramp outside the boxes
(:func:`subject_mask`). The subject score is SSIMULACRA2 over those boxes taken as one image
(their per-scale sums pooled, as many scales as the smallest box has: six on photos of 1024
pixels a side or more); a photo whose map has no confident region has no subject (only the
whole-photo target).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THRESHOLD = 0.5
#: a confident region smaller than this fraction of the photo is not a subject (a speck of the map)
MIN_AREA = 0.005
#: the box grows by this fraction of its own height and width on every side...
MARGIN = 0.06
#: ...and by at least this many pixels: one and a half of JPEG's 16-pixel coding units (4:2:0), so
#: that the blocks an object's outline falls in are coded as subject. On a small photo 6% of a box
#: is a dozen pixels, and an object's thin parts (a tail, a hand) poke out of the map's region:
#: its ground-truth box then takes in background coded coarse, which pulls it far below the
#: subject (see :data:`FEATHER_MIN_PIXELS` for the figures). Camera-sized boxes grow by more.
MARGIN_MIN_PIXELS = 24
#: the subject mask's ramp outside the boxes: this fraction of the photo's short side...
FEATHER = 0.04
#: ...and at least this many pixels (three coding units), so that the step from subject to
#: background is spread over blocks, not a seam one block wide. With the two pixel floors and
#: overlapping boxes merged, ECSSD's tuning images (validation split before index 300) went from
#: p10 88.7 to 89.7 on their ground-truth objects' boxes, and the 80 held-out ones (``focuspress
#: bench objects``) from 82.7 to 89.1, for 5 points of their median saving (34.8% to 29.9%).
#: Camera photos are untouched by the floors (their margins and ramps are larger); merging cost
#: camera-native's median saving 0.6 points (55.9% to 55.3%) and raised its subjects' scores.
FEATHER_MIN_PIXELS = 48
#: and to at least this many pixels a side: every subject box then has SSIMULACRA2's six scales
#: (it stops below 8 pixels; 256 / 2**5 = 8), so the pooled subject score uses them all...
MIN_SIDE = 256
#: ...but never more than this fraction of the photo's short side (and at least MIN_SIDE_FLOOR:
#: four scales). On a small photo a 256-pixel box is most of the photo, and a small object's
#: errors drown in its surround. Boxes under 256 pixels score on fewer scales, which
#: :func:`focuspress.engine.metrics.ssimulacra2.pooled_ssimulacra2` weighs channel by channel
#: (the reference misplaces its weights there). On ECSSD's 80 held-out photos (``focuspress
#: bench objects``) it raised the ground-truth objects' p10 to 83.1, before the pixel floors.
#: Camera photos are unaffected (a quarter of their short side is over 256 pixels).
MIN_SIDE_FRACTION = 0.25
MIN_SIDE_FLOOR = 64


@dataclass(frozen=True)
class Box:
    """Rows ``top:bottom`` and columns ``left:right`` of a photo (pixels, end exclusive)."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def area(self) -> int:
        return max(0, self.height) * max(0, self.width)

    def overlaps(self, other: Box) -> bool:
        return (
            self.top < other.bottom and other.top < self.bottom and self.left < other.right and other.left < self.right
        )

    def union(self, other: Box) -> Box:
        """The bounding box of both."""
        return Box(
            min(self.top, other.top),
            min(self.left, other.left),
            max(self.bottom, other.bottom),
            max(self.right, other.right),
        )

    def crop(self, array: np.ndarray) -> np.ndarray:
        return array[self.top : self.bottom, self.left : self.right]


def find_subject(importance: np.ndarray, height: int, width: int) -> list[Box]:
    """The subject of a photo of ``height`` x ``width`` from its map (any resolution): one box per
    confident region (boxes that overlap once grown are merged), largest first; empty: no subject."""
    import cv2

    mask = (importance.astype(np.float32) > THRESHOLD).astype(np.uint8)
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    sy, sx = height / mask.shape[0], width / mask.shape[1]
    boxes = []
    for i in range(1, count):
        if stats[i, cv2.CC_STAT_AREA] < MIN_AREA * mask.size:
            continue
        top, left = stats[i, cv2.CC_STAT_TOP], stats[i, cv2.CC_STAT_LEFT]
        bottom, right = top + stats[i, cv2.CC_STAT_HEIGHT], left + stats[i, cv2.CC_STAT_WIDTH]
        # (in the map's pixels: sy and sx are the photo's pixels per map pixel)
        grow_y = max(MARGIN * (bottom - top), MARGIN_MIN_PIXELS / sy)
        grow_x = max(MARGIN * (right - left), MARGIN_MIN_PIXELS / sx)
        boxes.append(
            Box(
                top=max(0, int(np.floor((top - grow_y) * sy))),
                left=max(0, int(np.floor((left - grow_x) * sx))),
                bottom=min(height, int(np.ceil((bottom + grow_y) * sy))),
                right=min(width, int(np.ceil((right + grow_x) * sx))),
            )
        )
    grown = [_at_least(box, min_side(height, width), height, width) for box in boxes]
    return sorted(_merged(grown), key=lambda box: -box.area)


def min_side(height: int, width: int) -> int:
    """The smallest side a subject box of a ``height`` x ``width`` photo is grown to (see :data:`MIN_SIDE`)."""
    return int(np.clip(MIN_SIDE_FRACTION * min(height, width), MIN_SIDE_FLOOR, MIN_SIDE))


def _merged(boxes: list[Box]) -> list[Box]:
    """Boxes that overlap (a box inside another included) replaced by their bounding box, until
    none overlap. A map often splits one object into overlapping regions (a head and a body);
    kept apart, the corners between them got background treatment although the object's box
    holds them, and on ECSSD's held-out photos those objects scored 80-85 with the subject at 90."""
    out = list(boxes)
    while True:
        pair = next(((i, j) for i in range(len(out)) for j in range(i + 1, len(out)) if out[i].overlaps(out[j])), None)
        if pair is None:
            return out
        i, j = pair
        out[i] = out[i].union(out.pop(j))


def _at_least(box: Box, side: int, height: int, width: int) -> Box:
    """``box`` grown about its centre to ``side`` pixels a side (the photo's size at most), kept inside."""

    def span(lo: int, hi: int, limit: int) -> tuple[int, int]:
        want = min(side, limit)
        if hi - lo >= want:
            return lo, hi
        lo = max(0, min((lo + hi) // 2 - want // 2, limit - want))
        return lo, lo + want

    top, bottom = span(box.top, box.bottom, height)
    left, right = span(box.left, box.right, width)
    return Box(top, left, bottom, right)


def subject_mask(boxes: list[Box], height: int, width: int) -> np.ndarray:
    """A soft 0..1 mask of ``boxes`` at ``height`` x ``width``: 1 inside, falling to 0 outside them
    over :data:`FEATHER` of the photo's short side, :data:`FEATHER_MIN_PIXELS` at least (so the
    encoder's step between subject and background is not a visible seam). All zeros without a subject."""
    mask = np.zeros((height, width), np.float32)
    ramp = max(FEATHER * min(height, width), FEATHER_MIN_PIXELS)
    rows = np.arange(height, dtype=np.float32)
    cols = np.arange(width, dtype=np.float32)
    for box in boxes:
        dy = np.maximum(np.maximum(box.top - rows, rows - (box.bottom - 1)), 0.0)
        dx = np.maximum(np.maximum(box.left - cols, cols - (box.right - 1)), 0.0)
        distance = np.sqrt(dy[:, None] ** 2 + dx[None, :] ** 2)
        np.maximum(mask, np.clip(1.0 - distance / ramp, 0.0, 1.0), out=mask)
    return mask
