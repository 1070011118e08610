"""Scores of a candidate encode inside the contract's search: fast, and checked against the full metric.

A photo's full SSIMULACRA2 costs more than its encode (a decode and six scales over every pixel,
about 140 ms per megapixel here), and the search needs several trials. :class:`TileEstimator`
scores a trial on sampled tiles instead, at every photo size: 256-pixel squares, stratified over
the photo (the photo score; from 720p to 1440p, where three of them cover a fifth of it or less and
each spans a sixth of its height or more, 128-pixel squares: :data:`SMALL_BELOW_COVERAGE`)
plus 256-pixel tiles where the subject is (the subject score), decoded as a viewer decodes them
(``compositor/block/probe.py``) and pooled over all six of the photo's scales (a tile alone would
stop at five, and a missing scale counts as no error at all). Both scores come from one pass over
each tile's error maps: the photo's pools every pixel of the photo tiles, the subject's pools the
subject's pixels of every 256-pixel tile
(:meth:`~focuspress.engine.metrics.ssimulacra2.Reference.both_sums`). A trial asks only for what
it needs: the quality step of the search probes the subject's tiles alone, the background step
the photo's (the subject's blocks do not change with the background: ``subject.py``).

The photo score is post-stratified by the subject: a handful of photo tiles can hold twice the
subject's share of the photo, or none of it, and once the background is coarse the two parts
score far apart. So each scale's means are the subject's (its pixels in the subject's tiles: in a
background trial, those of the trial that scored the subject at this quality, whose blocks the
background does not change) and the rest's (the photo tiles' other pixels), weighted by their
shares of the photo (:func:`~focuspress.engine.metrics.ssimulacra2.stratified_score`); a photo
tile that is all subject then adds nothing, and a background trial leaves it out. Where the
subject covers most of the photo's tiles, tiles are added where it is not
(:func:`_background_tiles`), so that the rest is sampled as much as its share of the photo. On
camera-native (``calibrate_estimate``, whole photos and three crop sizes) this took the photo
estimate's error from sd 1.03 to 0.78 on the training split and from 1.90 to 1.34 on the
validation split (at 1280x720 from 2.68 to 1.58), and at the contract's settled points on whole
photos from sd 1.05 to 0.59 (``bench contract``; ``benchmarks/README.md``).

Tiles miss a photo's largest structures and its worst corners, so the raw estimate runs a little
high; :data:`BIAS` (fitted on the training split of ``../shared/data/camera-native`` by ``python
-m focuspress.training.calibrate_estimate``) takes that off. What is left (that module's report,
and ``benchmarks/README.md``) is the estimate's stated error. A photo too small for one tile and
its margins (under 320 pixels a side) is scored whole and exactly (:class:`FullEstimator`): its
encode costs little; so is one under :data:`WHOLE_BELOW_PIXELS` (about 0.2 MP), which the photo's
tiles would all but cover.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from focuspress.engine.compositor import Prepared, TileProbe
from focuspress.engine.compositor.block.probe import (
    Tile,
    cut_tiles,
    decode_rgb,
    sample_tiles,
    tile_places,
    window_fits,
)
from focuspress.engine.fidelity.subject import Subject
from focuspress.engine.jpeg_input import to_upright
from focuspress.engine.metrics.ssimulacra2 import (
    Reference,
    scale_count,
    score_sums,
    stratified_score,
)

#: Tile side in 8x8 blocks (256 pixels: 8 pixels at SSIMULACRA2's sixth scale).
TILE_BLOCKS = 32
#: Tiles for the photo score: about this fraction of the photo, within these bounds.
PHOTO_FRACTION, PHOTO_TILES = 0.04, (3, 10)
#: Photos under this many pixels (three tiles' worth: under 512x384) are scored whole even
#: where a tile fits: the three photo tiles would hold nearly all of such a photo, so the whole
#: photo costs a trial no more, and it is exact. Measured on photos nothing was tuned on: of 100
#: BSDS500 photos (481x321) 28 ended under 80 on the full metric on tiles (p10 78.8, lowest 73.9),
#: none scored whole (all 500: p10 80.1), for a little more saving (39.2% -> 40.0%) and less CPU;
#: on ECSSD's 80 held-out photos two at 76-77 -> none (``benchmarks/README.md``).
WHOLE_BELOW_PIXELS = 3 * (TILE_BLOCKS * 8) ** 2
#: Photos under this many pixels (2560x1440 snapshots and smaller) choose their chroma sampling on one
#: tile's pixels (:meth:`TileEstimator.sampling_choice`). It was 2.5 MP (1080p) until the eleventh
#: session: on camera-native's 15 crops of 2560x1440 with a sampling to choose, four small tiles chose
#: as every other one (six) did for 14 (Nikon D70 keeps its 4:2:2 now), and the contract took 3.5%
#: less CPU (232-241 -> 221-230 ms a photo), bytes +0.14%, p10 photo 79.84 -> 80.15.
ONE_TILE_CHOICE_PIXELS = 4_000_000
#: Tiles for the subject score: about this fraction of the subject, within these bounds (the photo
#: tiles that hold some of the subject count too).
SUBJECT_FRACTION, SUBJECT_TILES = 0.08, (2, 8)
#: A subject trial scores the photo too where the photo's tiles not among the subject's number at
#: most this many. The subject's tiles then cost only their whole-tile sums (one more pooling of the
#: error maps already made), and each extra tile one tile's probe and metric, about 4 ms here; the
#: background step's first trial, saved, costs the photo's tiles whole (16-18 ms at 640x480). On
#: camera-native's 640x480 crops 11 of 19 photos with a subject have none extra, 4 one.
JOINT_EXTRA_TILES = 1
#: Post-stratify the photo score by the subject (see the module's docstring); off, the photo tiles
#: are pooled as they come (what the calibration compares against).
STRATIFY = True
#: The raw tile estimate's bias, per score: estimate - full ~= a * (100 - estimate) + b (see the docstring).
#: "photo_small": the photo's from small tiles (:data:`SMALL_BELOW_COVERAGE`).
BIAS = {"photo": (0.0138, 0.2641), "subject": (-0.0023, 0.3345), "photo_small": (0.0610, 0.0685)}


@dataclass(frozen=True)
class Scores:
    """SSIMULACRA2 against the source: of the whole photo, and of its subject (None: no subject).
    NaN for a score a trial did not ask for."""

    photo: float
    subject: float | None = None


class Estimator(Protocol):
    exact: bool
    #: whether a trial that scores the subject can score the whole photo too for little more (the
    #: contract's search then asks for both, and its background step starts from a known score)
    photo_with_subject: bool
    #: whether the search holds the subject to its target at every background trial too: an exact
    #: estimator's subject, held with no margin, moves by hundredths as the background does (its
    #: blurs reach blocks the multiplier changes) and costs nothing more to score there; a tile
    #: estimate's subject is taken where its quality settled, within its stated error
    subject_at_every_trial: bool

    def scores(self, quality: float, background: float, *, photo: bool = True, subject: bool = True) -> Scores:
        """The scores of the encode at (``quality``, ``background``); a score not asked for may be NaN
        (where skipping it is cheaper)."""
        ...

    def sampling_choice(self, other: Prepared, quality: float) -> Prepared | None:
        """``other`` (the source's own chroma sampling) where it is worth its bytes at ``quality``, else
        None (also where this estimator cannot compare them)."""
        ...

    def with_probe(self, prepared: Prepared) -> Estimator:
        """This estimator on another preparation of the same source (the other chroma sampling)."""
        ...


def debias(raw: float, kind: str) -> float:
    """The tile estimate of ``kind`` (photo or subject) less its fitted bias (never below 0)."""
    a, b = BIAS[kind]
    return max(0.0, raw - (a * (100.0 - raw) + b))


def photo_tile_count(grid: tuple[int, int]) -> int:
    """How many stratified tiles a photo of ``grid`` luma blocks is sampled with (before any are added
    for the subject or the background): :data:`PHOTO_FRACTION` of its area, within :data:`PHOTO_TILES`."""
    rows, cols = grid
    return int(np.clip(round(PHOTO_FRACTION * rows * cols / TILE_BLOCKS**2), *PHOTO_TILES))


#: Where the photo tiles would cover under :data:`SMALL_BELOW_COVERAGE` of the photo and each
#: spans more than :data:`SMALL_WHERE_TILE_SPANS` of its short side (720p to 1440p snapshots,
#: photos under 1536 pixels a side), they are 128-pixel squares instead, four for each 256-pixel
#: one (the same pixels). A photo's error is clustered (a sky's banding, a wall's lost grain), and
#: three tiles that each span a quarter of the frame sample three places of it: at the settled
#: knobs of camera-native's 22 photos cropped to 1920x1080, scored on every tile place, three
#: 256-pixel tiles drawn as the contract draws them gave a raw photo estimate off the full metric
#: by sd 2.04 (1.70 of it from the draw alone), twelve 128-pixel tiles 1.10 (0.80). In the
#: contract (three tile draws each, ``benchmarks/README.md``): at 1920x1080 the settled estimate's
#: error sd 1.09 -> 0.75 and p10 photo 80.1 -> 80.8 for 0.9% more bytes and 6% more of the
#: search's time; at 2560x1440 sd 1.43 -> 0.94, p10 79.1 -> 79.8, the same bytes, 10% more time.
#: On whole 4-16 MP photos, whose tiles already span under a sixth of the frame, they did not
#: help (sd 0.59 -> 0.66, median saving 60.0 -> 57.5%): large tiles there. A 128-pixel tile keeps
#: less of the coarsest scales, so its estimate has its own bias (``BIAS["photo_small"]``), and
#: the subject keeps the 256-pixel tiles it had (its estimate, bias and margin are theirs). Since
#: the tenth session 720p-class photos too (the large tiles cover a fifth of a 1280x720 photo):
#: checked on photos nothing was tuned on, 40 lossless 1280x720 crops of ``../shared/data/camera``,
#: their three large tiles had left five photos under 80 on the full metric, one at 71.9 (a
#: background of lit wood and deep shadow: the tiles' scores there range 74-95 and three drew the
#: better places); small tiles: p10 79.92 -> 80.47, lowest 77.98. Photos whose tiles cover a
#: quarter or more (640x480 and smaller snapshots) keep the large ones.
SMALL_TILE_BLOCKS, SMALL_BELOW_COVERAGE, SMALL_WHERE_TILE_SPANS = 16, 0.25, 1 / 6
SMALL_PER_TILE = (TILE_BLOCKS // SMALL_TILE_BLOCKS) ** 2
#: ...and no more small tiles than cover this fraction of the photo: at 1280x720 four for each large
#: tile (twelve, 21% of the photo) cost the contract 15-25% more CPU (their windows' margins) where
#: nine cost 0-4%, for the same p10 (80.50 against 80.47 on those crops); 1080p and larger keep four
#: for each.
SMALL_MOST_COVERAGE = 0.16


def large_design(grid: tuple[int, int]) -> tuple[int, int]:
    """(side in blocks, count) of 256-pixel photo tiles for a photo of ``grid`` luma blocks."""
    return TILE_BLOCKS, photo_tile_count(grid)


def small_design(grid: tuple[int, int]) -> tuple[int, int]:
    """The same pixels in 128-pixel photo tiles, four for each 256-pixel one, at most as many as
    cover :data:`SMALL_MOST_COVERAGE` of the photo."""
    rows, cols = grid
    most = int(np.ceil(SMALL_MOST_COVERAGE * rows * cols / SMALL_TILE_BLOCKS**2))
    return SMALL_TILE_BLOCKS, min(photo_tile_count(grid) * SMALL_PER_TILE, most)


def covers_little(grid: tuple[int, int]) -> bool:
    """Whether the 256-pixel photo tiles would cover under :data:`SMALL_BELOW_COVERAGE` of the photo."""
    rows, cols = grid
    return photo_tile_count(grid) * TILE_BLOCKS**2 < SMALL_BELOW_COVERAGE * rows * cols


def photo_design(grid: tuple[int, int]) -> tuple[int, int]:
    """(side in blocks, count) of the stratified photo tiles of a photo of ``grid`` luma blocks (see
    :data:`SMALL_BELOW_COVERAGE`)."""
    spans = TILE_BLOCKS > SMALL_WHERE_TILE_SPANS * min(grid)
    return small_design(grid) if covers_little(grid) and spans else large_design(grid)


def fits_tiles(grid: tuple[int, int]) -> bool:
    """Whether a photo of ``grid`` luma blocks is scored on tiles: it holds one tile's mosaic window
    and is not so small that its photo tiles would hold nearly all of it (:data:`WHOLE_BELOW_PIXELS`);
    else it is scored whole."""
    rows, cols = grid
    return window_fits(grid, TILE_BLOCKS) and rows * cols * 64 >= WHOLE_BELOW_PIXELS


class TileEstimator:
    """Scores from sampled tiles (see the module's docstring).

    One stratified set of tiles covers the photo (the photo score pools them alone, so it stays a
    fair sample of the photo); tiles are added where the subject is until the tiles holding some of
    it number :data:`SUBJECT_TILES` ``[0]`` or more. The subject score pools the subject's pixels
    of all of them."""

    exact = False
    subject_at_every_trial = False

    def __init__(
        self,
        prepared: TileProbe,
        subject: Subject,
        *,
        seed: int = 0,
        raw: bool = False,
        source_pixels: np.ndarray | None = None,
        design: tuple[int, int] | None = None,
    ) -> None:
        self.prepared = prepared
        #: report the pooled tile scores as they are (the calibration fits the bias on them)
        self.raw = raw
        rows, cols = prepared.grid
        self.scales = scale_count(rows * 8, cols * 8)
        # (side, count) of the photo tiles: :func:`photo_design`'s unless given (the calibration
        # measures both designs on the same photo)
        side, count = design or photo_design(prepared.grid)
        #: whether the photo tiles are the small ones (the photo score then has its own bias)
        self.small = side < TILE_BLOCKS
        photo = _photo_tiles(prepared.grid, subject, side, count, seed)
        # the subject's tiles: the large photo tiles holding it, and tiles added where it is; with
        # small photo tiles, those of the large design all the same (the subject's estimate, its
        # bias and its margin are theirs), the large photo tiles that hold none of it left out
        large = photo if not self.small else _photo_tiles(prepared.grid, subject, *large_design(prepared.grid), seed)
        extra = [] if subject.empty else _subject_tiles(prepared.grid, subject, large, seed)
        if self.small:
            held = _holding_most([_weight(subject, tile) for tile in large + extra])
            extra = [(large + extra)[i] for i in held]
        self.tiles = photo + extra
        self.photo_count = len(photo)
        weights = [_weight(subject, tile) for tile in self.tiles]
        #: tiles holding some of the subject (their indices), photo tiles first
        self.subject_index = list(range(len(photo), len(self.tiles))) if self.small else _holding_most(weights)
        #: the photo's tiles that a subject trial does not probe: at most :data:`JOINT_EXTRA_TILES`
        self.photo_with_subject = len(set(range(len(photo))) - set(self.subject_index)) <= JOINT_EXTRA_TILES
        #: the subject's share of the photo, and its sums per quality from the last trial that scored it
        self.share = subject.share
        self._stratum: dict[float, list] = {}
        #: photo tiles that are all subject (a stratified photo trial can do without them)
        self._all_subject = {i for i, weight in enumerate(weights[: len(photo)]) if _all_ones(weight)}
        pixels = _source_tiles(prepared, self.tiles, source_pixels)
        self._refs = [Reference(tile, self.scales, weight) for tile, weight in zip(pixels, weights)]

    def scores(self, quality: float, background: float, *, photo: bool = True, subject: bool = True) -> Scores:
        """The scores asked for, from the tiles they need (see the class's docstring)."""
        stratify = photo and STRATIFY and bool(self.subject_index)
        at = round(quality, 3)  # (the subject's sums are kept per quality: the background leaves them)
        # the subject's sums at this quality from an earlier trial (a background trial's subject)
        known = self._stratum.get(at) if stratify and not subject else None
        photo_tiles = list(range(self.photo_count)) if photo else []
        if known is not None and len(self._all_subject) < self.photo_count:
            # a photo tile that is all subject adds nothing to the rest's sums: it need not be probed
            photo_tiles = [i for i in photo_tiles if i not in self._all_subject]
        wanted = sorted(set(photo_tiles) | set(self.subject_index if subject else ()))
        if not wanted:
            return Scores(float("nan"), None)
        shown = self.prepared.probe(quality, background, [self.tiles[i] for i in wanted])
        # a stratified photo trial pools each photo tile's pixels outside the subject (``rest``), and
        # the subject's own where no trial at this quality has scored it yet
        sums = {
            i: self._refs[i].both_sums(
                tile,
                whole=photo and i < self.photo_count,
                region=subject or (stratify and known is None and i < self.photo_count),
                rest=stratify and i < self.photo_count,
            )
            for i, tile in zip(wanted, shown)
        }
        subject_score: float | None = None
        if self.subject_index:
            subject_score = float("nan")
            if subject:
                regions = [r for r in (sums[i][1] for i in self.subject_index) if r is not None]
                self._stratum[at] = regions
                subject_score = self._fix(score_sums(regions, self.scales), "subject")
        photo_score = float("nan")
        if photo:
            pooled = [sums[i][0] for i in photo_tiles]
            raw = None
            if stratify:
                own = self._stratum.get(at)
                if own is None:
                    own = [r for r in (sums[i][1] for i in photo_tiles) if r is not None]
                raw = stratified_score(pooled, own, self.share, self.scales)
            photo_score = self._fix(score_sums(pooled, self.scales) if raw is None else raw, "photo")
        return Scores(photo_score, subject_score)

    def sampling_choice(self, other: Prepared, quality: float) -> Prepared | None:
        """``other`` (the source's own chroma sampling) where it is worth its bytes over this estimator's
        4:2:0 at ``quality`` on the photo tiles (the rule of ``compositor/block/sampling.py``), else None."""
        from focuspress.engine.compositor.block.sampling import keeps_sampling

        # every other photo tile (still spread over the photo): on camera-native's crops at three
        # sizes the choice was the same as on all of them for 49 of 51 photos, at half the cost.
        # A photo under :data:`ONE_TILE_CHOICE_PIXELS` decides on one tile's pixels (there the
        # choice is a tenth of the contract's time): on camera-native's 640x480 and 1280x720 crops
        # that chose as two tiles did for 35 of 36 photos, its 1920x1080 crops for 18 of 18 (its
        # 2560x1440 crops: the constant's comment).
        rows, cols = self.prepared.grid
        if rows * cols * 64 < ONE_TILE_CHOICE_PIXELS:
            # one tile's pixels: the first tile, or four small ones (:data:`SMALL_BELOW_COVERAGE`)
            # spread over the photo
            one = SMALL_PER_TILE if self.small else 1
            chosen = list(range(0, self.photo_count, max(1, self.photo_count // one)))[:one]
        else:
            chosen = list(range(0, self.photo_count, 2))
        tiles = [self.tiles[i] for i in chosen]
        if not tiles:
            return None
        references = [self._refs[i] for i in chosen]
        kept = keeps_sampling(self.prepared, other, tiles, references, quality)  # type: ignore[arg-type]
        return other if kept else None

    def with_probe(self, prepared: Prepared) -> TileEstimator:
        """The same tiles and references on another preparation of the same source (the other sampling)."""
        assert prepared.tiles is not None
        clone = copy.copy(self)
        clone.prepared = prepared.tiles
        clone._stratum = {}
        return clone

    def _fix(self, raw: float, kind: str) -> float:
        kind = "photo_small" if kind == "photo" and self.small else kind
        return raw if self.raw else debias(raw, kind)


def _photo_tiles(grid: tuple[int, int], subject: Subject, side: int, count: int, seed: int) -> list[Tile]:
    """``count`` stratified tiles of ``side`` blocks over the photo, and those added where the subject
    leaves the rest of the photo unsampled (:func:`_background_tiles`)."""
    rows, cols = grid
    photo = sample_tiles(grid, (0, 0, rows, cols), count, side, seed)
    if STRATIFY and not subject.empty:  # (tiles hold the subject wherever one can reach it: _subject_tiles)
        photo += _background_tiles(grid, subject, photo, seed)
    return photo


def _source_tiles(prepared: TileProbe, tiles: list[Tile], source_pixels: np.ndarray | None) -> list[np.ndarray]:
    """The source's pixels in ``tiles``: cut from ``source_pixels`` (the photo already decoded at load,
    in the probe's orientation), else decoded from the source's coefficients as a mosaic. The two
    are the same pixels (libjpeg decodes both; a tile's window keeps its chroma upsampling whole:
    tests/test_contract.py); the cut saves a 640x480 snapshot about 5 ms."""
    if not tiles:
        return []
    return prepared.reference(tiles) if source_pixels is None else cut_tiles(source_pixels, tiles)


#: The subject score pools the tiles that hold this share of the subject's pixels in all tiles, the
#: fullest first: a tile holding a sliver of the subject costs as much to probe as one holding a lot
#: of it, and adds almost nothing to a pooled score (see :func:`_holding_most`).
SUBJECT_SHARE = 0.95


def _holding_most(weights: list[np.ndarray | None]) -> list[int]:
    """Indices of the tiles (ascending) holding :data:`SUBJECT_SHARE` of the subject's weight over all
    tiles, the fullest first; the tiles left out hold a sliver of it each (on 640x480 crops of camera
    photos, where four tiles cover most of the frame, a tile with 4% of the subject beside one
    with 96%)."""
    totals = [(float(w.sum()), i) for i, w in enumerate(weights) if w is not None]
    whole = sum(total for total, _ in totals)
    kept: list[int] = []
    held = 0.0
    for total, index in sorted(totals, reverse=True):
        if kept and held >= SUBJECT_SHARE * whole:
            break
        kept.append(index)
        held += total
    return sorted(kept)


def _all_ones(weight: np.ndarray | None) -> bool:
    return weight is not None and bool(weight.min() >= 1.0)


def _weight(subject: Subject, tile: Tile) -> np.ndarray | None:
    """The subject's pixels in ``tile`` as weights, or None where it holds none."""
    if subject.empty:
        return None
    weight = subject.weight(*tile.pixels)
    return weight if weight.any() else None


def _subject_tiles(grid: tuple[int, int], subject: Subject, photo: list[Tile], seed: int) -> list[Tile]:
    """Tiles added where the subject is, most of the subject first, until enough tiles hold some."""
    rows, cols = np.nonzero(subject.blocks)
    area = len(rows) * 64 / (TILE_BLOCKS * 8) ** 2
    wanted = int(np.clip(round(SUBJECT_FRACTION * area) + 1, *SUBJECT_TILES))
    holding = sum(1 for tile in photo if _coverage(subject, tile) > 0)
    if holding >= wanted:
        return []
    region = (int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1)
    taken = {(t.row, t.col) for t in photo}
    candidates = [
        t
        for t in sample_tiles(grid, _at_least_a_tile(region), 2 * wanted, TILE_BLOCKS, seed + 1)
        if (t.row, t.col) not in taken
    ]
    candidates.sort(key=lambda t: -_coverage(subject, t))
    found = [t for t in candidates if _coverage(subject, t) > 0][: wanted - holding]
    if holding or found:
        return found
    return _fullest_tiles(grid, subject, taken, wanted)


def _fullest_tiles(grid: tuple[int, int], subject: Subject, taken: set[tuple[int, int]], count: int) -> list[Tile]:
    """Up to ``count`` tiles, apart from each other and from ``taken``, where they hold the most of the
    subject (none where no tile can hold any of it). Where the tiles sampled over the subject's
    bounding box miss it all: a subject of a few small regions far apart (camera-native's
    Bushnell cropped to 2560x1440: three regions in three corners, 4% of the frame) leaves most of
    its box empty, and a subject score needs a tile that holds some of it."""
    rows, cols = tile_places(grid, TILE_BLOCKS)
    # the subject's blocks in every aligned tile place, from a summed-area table
    table = np.pad(subject.blocks.astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    held = (
        table[rows[:, None] + TILE_BLOCKS, cols[None, :] + TILE_BLOCKS]
        - table[rows[:, None], cols[None, :] + TILE_BLOCKS]
        - table[rows[:, None] + TILE_BLOCKS, cols[None, :]]
        + table[rows[:, None], cols[None, :]]
    )
    placed = list(taken)
    chosen: list[Tile] = []
    for flat in np.argsort(-held, axis=None, kind="stable"):
        if len(chosen) >= count or held.flat[flat] <= 0:
            break
        row, col = int(rows[flat // len(cols)]), int(cols[flat % len(cols)])
        if all(abs(row - r) >= TILE_BLOCKS or abs(col - c) >= TILE_BLOCKS for r, c in placed):
            placed.append((row, col))
            chosen.append(Tile(row, col, TILE_BLOCKS))
    return chosen


#: Tiles added (at most) where the photo's tiles hold too little of what is not subject.
BACKGROUND_TILES = 3
#: Where the photo's tiles hold at least this share of the photo (a 640x480 snapshot's three, four
#: as they fall on its grid, hold 64-85% of it), tiles are added only while those hold less than
#: :data:`DENSE_REST_TILES` tiles' worth of what is not subject: the photo tiles are most of the
#: photo and already sample the rest in proportion, and each added tile costs every photo trial as
#: much as a photo tile (at 640x480, two added tiles made a trial's tiles cover more pixels than the
#: photo has). On camera-native's 22 photos cropped to 640x480: the contract's time 2.76-3.37 ->
#: 2.48-2.88 s, trials 88 -> 86, p10 photo 80.8 both (lowest 80.70 -> 80.53), median saving 54.2 ->
#: 55.1%. A close-up's subject over all of them still gets one (the rest must be seen).
DENSE_PHOTO_SHARE, DENSE_REST_TILES = 0.5, 0.5


def _background_tiles(grid: tuple[int, int], subject: Subject, photo: list[Tile], seed: int) -> list[Tile]:
    """Tiles added where the subject is not, the emptiest first, until the photo's tiles hold as much
    of the rest of the photo as its share of them (at most :data:`BACKGROUND_TILES`; where they are
    most of the photo already, only until they hold :data:`DENSE_REST_TILES` of it). The photo score
    is post-stratified (the module's docstring): the rest's part must be sampled too. Where the
    subject fills most of the frame, a few photo tiles can fall all on it and leave the background,
    which is what the background multiplier coarsens, unseen: on camera-native's Minolta cropped to
    1280x720 (a subject of 68% of the frame, three photo tiles 90-100% subject) the estimate stayed
    at 87.6 from multiplier 4 to 32 while the full metric fell from 85.9 to 76.8."""
    side = photo[0].size if photo else TILE_BLOCKS
    per = (TILE_BLOCKS // side) ** 2  # (small photo tiles: four for each large one, counts with them)
    held = sum(1.0 - _coverage(subject, tile) for tile in photo)
    wanted = (1.0 - subject.share) * len(photo)
    if len(photo) * side**2 >= DENSE_PHOTO_SHARE * grid[0] * grid[1]:
        wanted = min(wanted, DENSE_REST_TILES * per)
    if held >= wanted:
        return []
    taken = {(t.row, t.col) for t in photo}
    candidates = [
        t
        for t in sample_tiles(grid, (0, 0, grid[0], grid[1]), 4 * BACKGROUND_TILES * per, side, seed + 2)
        if (t.row, t.col) not in taken
    ]
    covered = sorted((_coverage(subject, t), index, t) for index, t in enumerate(candidates))
    added: list[Tile] = []
    for coverage, _, tile in covered[: BACKGROUND_TILES * per]:
        if held >= wanted or coverage >= 1.0:
            break
        added.append(tile)
        held += 1.0 - coverage
    return added


def _coverage(subject: Subject, tile: Tile) -> float:
    size = tile.size
    return float(subject.blocks[tile.row : tile.row + size, tile.col : tile.col + size].mean())


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
    """Every trial's encode scored whole and exactly: for photos too small to hold a tile (see the
    module's docstring). The source's side of the metric is computed once (a
    :class:`~focuspress.engine.metrics.ssimulacra2.Reference` of the whole photo, the subject as
    its region); each trial decodes the encode (:meth:`TileProbe.show`: without optimized tables or
    a re-scan where the compositor can, the same pixels) and scores both scores in one pass.

    ``reference``: the photo as a viewer shows it (upright); ``orientation``: the EXIF orientation
    that turns the encoder's grid (and the subject's) upright, 1 where it is upright already. The
    scores are of the upright photo, the full metric a user measures (SSIMULACRA2's blur treats
    rows and columns differently at the edges: a score on the stored grid differs by tenths)."""

    exact = True
    photo_with_subject = True  # (both scores come from the one pass every trial makes)
    subject_at_every_trial = True

    def __init__(self, prepared: Prepared, reference: np.ndarray, subject: Subject, *, orientation: int = 1) -> None:
        self.prepared = prepared
        self.subject = subject
        self.orientation = orientation
        self.scales = scale_count(*reference.shape[:2])
        weight = None if subject.empty else to_upright(subject.weight(), orientation)
        self._ref = Reference(reference, self.scales, weight)

    def scores(self, quality: float, background: float, *, photo: bool = True, subject: bool = True) -> Scores:
        probe = self.prepared.tiles
        if probe is not None:
            shown = probe.show(quality, background)
        else:
            shown = decode_rgb(self.prepared.encode(quality, background).data)
        whole, region = self._ref.both_sums(to_upright(shown, self.orientation), whole=photo, region=subject)
        photo_score = score_sums([whole], self.scales) if photo else float("nan")
        if self.subject.empty:
            return Scores(photo_score, None)
        subject_score = score_sums([region], self.scales) if subject and region is not None else float("nan")
        return Scores(photo_score, subject_score)

    def sampling_choice(self, other: Prepared, quality: float) -> Prepared | None:
        """None: a photo this small stays at 4:2:0 unless its targets cannot be met."""
        return None

    def with_probe(self, prepared: Prepared) -> FullEstimator:
        """The same reference on another preparation of the same source (the other sampling)."""
        clone = copy.copy(self)
        clone.prepared = prepared
        return clone
