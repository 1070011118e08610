"""Scores of a candidate encode inside the contract's search: fast, and checked against the full metric.

A camera photo's full SSIMULACRA2 takes seconds (a decode and six scales over every pixel), and
the search needs several trials. :class:`TileEstimator` scores a trial on sampled tiles instead:
256-pixel squares, stratified over the photo (the photo score) and over the subject's boxes
(the subject score), decoded as a viewer decodes them (``compositor/block/probe.py``) and pooled
over all six of the photo's scales (:func:`pooled_ssimulacra2`; a tile alone would stop at five,
and a missing scale counts as no error at all). Tiles miss the photo's largest structures and
its worst corners, so the raw estimate runs a little high; :data:`BIAS` (fitted on the training
split of ``../shared/data/camera-native`` by ``python -m focuspress.training.calibrate_estimate``)
takes that off. What is left (see that module's report, and ``benchmarks/README.md``) is the
estimate's stated error. Photos small enough to score whole (:data:`FULL_PIXELS`) use
:class:`FullEstimator`: the real encode, decoded, scored exactly.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image

from focuspress.engine.compositor import Encoded, TileProbe
from focuspress.engine.compositor.block.probe import Tile, sample_tiles
from focuspress.engine.fidelity.subject import Box
from focuspress.engine.metrics.ssimulacra2 import Reference, pooled_ssimulacra2, scale_count, score_sums

#: Photos up to this many pixels are scored whole, exactly, on every trial.
FULL_PIXELS = 1_500_000
#: Tile side in 8x8 blocks (256 pixels: 8 pixels at SSIMULACRA2's sixth scale).
TILE_BLOCKS = 32
#: Tiles for the photo score: about this fraction of the photo, within these bounds.
PHOTO_FRACTION, PHOTO_TILES = 0.04, (6, 12)
#: Tiles for the subject score: about this fraction of the subject's boxes, within these bounds.
SUBJECT_FRACTION, SUBJECT_TILES = 0.08, (4, 10)
#: The raw tile estimate's bias, per score: estimate - full ~= a * (100 - estimate) + b (see the docstring).
BIAS = {"photo": (0.0098, 0.4572), "subject": (-0.1378, 1.5710)}


@dataclass(frozen=True)
class Scores:
    """SSIMULACRA2 against the source: of the whole photo, and of its subject (None: no subject)."""

    photo: float
    subject: float | None = None


class Encodable(Protocol):
    def encode(self, quality: float, background: float = 1.0) -> Encoded: ...


class Estimator(Protocol):
    exact: bool

    def scores(self, quality: float, background: float, *, photo: bool = True) -> Scores:
        """The scores of the encode at (``quality``, ``background``); ``photo=False`` may skip the
        photo score (NaN) where that is cheaper."""
        ...


def debias(raw: float, kind: str) -> float:
    """The tile estimate of ``kind`` (photo or subject) less its fitted bias (never below 0)."""
    a, b = BIAS[kind]
    return max(0.0, raw - (a * (100.0 - raw) + b))


class TileEstimator:
    """Scores from sampled tiles (see the module's docstring).

    One stratified set of tiles covers the photo; those whose centre falls in a subject box also
    count for the subject, and tiles are added inside the boxes until the subject has
    :data:`SUBJECT_TILES` ``[0]`` of its own (they count for the subject only, so the photo score
    stays a fair sample of the photo)."""

    exact = False

    def __init__(self, prepared: TileProbe, subject: list[Box], *, seed: int = 0, raw: bool = False) -> None:
        self.prepared = prepared
        #: report the pooled tile scores as they are (the calibration fits the bias on them)
        self.raw = raw
        rows, cols = prepared.grid
        self.scales = scale_count(rows * 8, cols * 8)
        self.subject_scales = min([scale_count(b.height, b.width) for b in subject], default=self.scales)
        area_tiles = rows * cols / TILE_BLOCKS**2
        count = int(np.clip(round(PHOTO_FRACTION * area_tiles), *PHOTO_TILES))
        photo = sample_tiles(prepared.grid, (0, 0, rows, cols), count, TILE_BLOCKS, seed)
        inside = [tile for tile in photo if _centre_in(tile, subject)]
        wanted = 0
        if subject:
            total = sum(box.area for box in subject) / (TILE_BLOCKS * 8) ** 2
            wanted = int(np.clip(round(SUBJECT_FRACTION * total), *SUBJECT_TILES))
        extra: list[Tile] = []
        for box in subject:
            if len(inside) + len(extra) >= wanted:
                break
            share = max(1, wanted - len(inside) - len(extra))
            region = (box.top // 8, box.left // 8, -(-box.bottom // 8), -(-box.right // 8))
            taken = {(t.row, t.col) for t in photo + extra}
            extra += [
                t
                for t in sample_tiles(prepared.grid, _at_least_a_tile(region), share, TILE_BLOCKS, seed + 1)
                if (t.row, t.col) not in taken
            ]
        self.tiles = photo + extra
        self.photo_count = len(photo)
        self.subject_index = [i for i, tile in enumerate(self.tiles) if i >= len(photo) or tile in inside]
        pixels = prepared.reference(self.tiles) if self.tiles else []
        # one reference per tile, at the photo's scales: a tile that counts for both scores is
        # compared once per trial, the subject pooling the first of its scales
        self._refs = [Reference(tile, self.scales) for tile in pixels]

    def scores(self, quality: float, background: float, *, photo: bool = True) -> Scores:
        """Both scores; ``photo=False``: the subject's only (cheaper: only its tiles are probed)."""
        wanted = range(len(self.tiles)) if photo else self.subject_index
        tiles = [self.tiles[i] for i in wanted]
        shown = self.prepared.probe(quality, background, tiles)
        sums = {i: self._refs[i].sums(tile) for i, tile in zip(wanted, shown)}
        photo_score: float = float("nan")
        if photo:
            photo_score = self._fix(score_sums([sums[i] for i in range(self.photo_count)], self.scales), "photo")
        subject_score = None
        if self.subject_index:
            pooled = score_sums([sums[i] for i in self.subject_index], self.subject_scales)
            subject_score = self._fix(pooled, "subject")
        return Scores(photo_score, subject_score)

    def _fix(self, raw: float, kind: str) -> float:
        return raw if self.raw else debias(raw, kind)


def _centre_in(tile: Tile, boxes: list[Box]) -> bool:
    top, left, bottom, right = tile.pixels
    cy, cx = (top + bottom) / 2, (left + right) / 2
    return any(box.top <= cy < box.bottom and box.left <= cx < box.right for box in boxes)


def _at_least_a_tile(region: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """A region grown about its centre to at least one tile (a small subject is scored with its surround)."""
    top, left, bottom, right = region
    if bottom - top < TILE_BLOCKS:
        centre = (top + bottom) // 2
        top, bottom = centre - TILE_BLOCKS // 2, centre + TILE_BLOCKS // 2
    if right - left < TILE_BLOCKS:
        centre = (left + right) // 2
        left, right = centre - TILE_BLOCKS // 2, centre + TILE_BLOCKS // 2
    return max(0, top), max(0, left), bottom, right


class FullEstimator:
    """The real encode of every trial, decoded by libjpeg-turbo and scored exactly: for small photos."""

    exact = True

    def __init__(self, prepared: Encodable, reference: np.ndarray, subject: list[Box]) -> None:
        self.prepared = prepared
        self.reference = reference
        self.subject = subject

    def scores(self, quality: float, background: float, *, photo: bool = True) -> Scores:
        data = self.prepared.encode(quality, background).data
        with Image.open(io.BytesIO(data)) as image:
            shown = np.asarray(image.convert("RGB"))
        photo_score = pooled_ssimulacra2([(self.reference, shown)])
        subject = None
        if self.subject:
            pairs = [(box.crop(self.reference), box.crop(shown)) for box in self.subject]
            subject = pooled_ssimulacra2(pairs, scales=min(scale_count(b.height, b.width) for b in self.subject))
        return Scores(photo_score, subject)
