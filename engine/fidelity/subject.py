"""The subject of a photo: where the importance map says people look, as boxes a score can be measured on.

The fidelity contract keeps the subject visually lossless and lets the rest of the photo go
cheaper, so the subject must be a region a score can be measured on: the bounding boxes of the
map's confident regions (importance above :data:`THRESHOLD`: a uniform map of 0.5, saliency
"none", has none), one box each, specks under :data:`MIN_AREA` of the photo dropped, grown by
:data:`MARGIN` of their sides (a map is soft at the edges of an object, and a viewer's eye is on
the object's outline too), each at least :func:`min_side` pixels a side (256, or a quarter of a
small photo's short side); a box inside another
is dropped, overlapping ones stay apart. The subject score is SSIMULACRA2 over those boxes
taken as one image (their per-scale sums pooled, as many scales as the smallest box has: six
on photos of 1024 pixels a side or more); a photo whose map has no confident region has no
subject (only the whole-photo target).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THRESHOLD = 0.5
#: a confident region smaller than this fraction of the photo is not a subject (a speck of the map)
MIN_AREA = 0.005
#: the box grows by this fraction of its own height and width on every side
MARGIN = 0.06
#: and to at least this many pixels a side: every subject box then has SSIMULACRA2's six scales
#: (it stops below 8 pixels; 256 / 2**5 = 8), so the pooled subject score uses them all...
MIN_SIDE = 256
#: ...but never more than this fraction of the photo's short side (and at least MIN_SIDE_FLOOR:
#: four scales). On a small photo a 256-pixel box is most of the photo, and a small object's
#: errors drown in its surround. Boxes under 256 pixels score on fewer scales, which
#: :func:`focuspress.engine.metrics.ssimulacra2.pooled_ssimulacra2` weighs channel by channel
#: (the reference misplaces its weights there). On ECSSD's 80 held-out photos (``focuspress
#: bench objects``) the ground-truth objects' p10 is 83.1, median 90.2. Camera photos are
#: unaffected (a quarter of their short side is over 256 pixels).
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
        grow_y, grow_x = MARGIN * (bottom - top), MARGIN * (right - left)
        boxes.append(
            Box(
                top=max(0, int(np.floor((top - grow_y) * sy))),
                left=max(0, int(np.floor((left - grow_x) * sx))),
                bottom=min(height, int(np.ceil((bottom + grow_y) * sy))),
                right=min(width, int(np.ceil((right + grow_x) * sx))),
            )
        )
    grown = [_at_least(box, min_side(height, width), height, width) for box in boxes]
    return sorted(_without_nested(grown), key=lambda box: -box.area)


def min_side(height: int, width: int) -> int:
    """The smallest side a subject box of a ``height`` x ``width`` photo is grown to (see :data:`MIN_SIDE`)."""
    return int(np.clip(MIN_SIDE_FRACTION * min(height, width), MIN_SIDE_FLOOR, MIN_SIDE))


def _without_nested(boxes: list[Box]) -> list[Box]:
    """Boxes that lie inside another one add nothing: dropped. Overlapping ones stay apart (their
    union's bounding box would count background between two subjects as subject)."""

    def inside(a: Box, b: Box) -> bool:
        return b.top <= a.top and b.left <= a.left and a.bottom <= b.bottom and a.right <= b.right

    out: list[Box] = []
    for index, box in enumerate(boxes):
        if any(
            inside(box, other) and (box != other or later < index)
            for later, other in enumerate(boxes)
            if later != index
        ):
            continue
        out.append(box)
    return out


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


def subject_mask(boxes: list[Box], height: int, width: int, feather: float = 0.04) -> np.ndarray:
    """A soft 0..1 mask of ``boxes`` at ``height`` x ``width``: 1 inside, falling to 0 over ``feather``
    of the photo's short side outside them (so the encoder's step between subject and background
    is not a visible seam). All zeros without a subject."""
    mask = np.zeros((height, width), np.float32)
    ramp = max(1.0, feather * min(height, width))
    rows = np.arange(height, dtype=np.float32)
    cols = np.arange(width, dtype=np.float32)
    for box in boxes:
        dy = np.maximum(np.maximum(box.top - rows, rows - (box.bottom - 1)), 0.0)
        dx = np.maximum(np.maximum(box.left - cols, cols - (box.right - 1)), 0.0)
        distance = np.sqrt(dy[:, None] ** 2 + dx[None, :] ** 2)
        np.maximum(mask, np.clip(1.0 - distance / ramp, 0.0, 1.0), out=mask)
    return mask
