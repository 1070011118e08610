"""Which chroma sampling a camera JPEG keeps, chosen per photo by the rate-distortion result.

Resampling 4:2:2 (or 4:4:4, 4:4:0) chroma to 4:2:0 saves a third or more of the chroma blocks
and, on most photos, costs the eye nothing at the qualities people keep; on a photo with fine
saturated detail (fabric, flowers, red text) it caps the quality the output can reach. So
neither is a rule: both are probed on sampled tiles of the photo (``probe.py``) at the quality
asked for, each tile mosaic coded as the file would be (its size estimates the rate) and scored
with SSIMULACRA2 against the source; the source's own sampling is kept when its extra quality is
worth its extra bytes at the slope a photo's quality has per doubling of its size
(:data:`POINTS_PER_DOUBLING`, read off focuspress's own curves on the camera training split).
"""

from __future__ import annotations

import numpy as np

from focuspress.engine.compositor.block.probe import Tile, decode_mosaics, sample_tiles
from focuspress.engine.compositor.block.transcode import PreparedTranscode
from focuspress.engine.metrics.ssimulacra2 import Reference, scale_count, score_sums

#: SSIMULACRA2 gained per doubling of the file near the contract's qualities (about 10 at 80..90,
#: 16 at 60..80 on focuspress's camera curves): the exchange rate between the two samplings.
POINTS_PER_DOUBLING = 12.0
#: tiles probed per variant (each costs a mosaic and one SSIMULACRA2 pass; the reference's side is
#: computed once for both variants)
TILES = 4
TILE_BLOCKS = 32


def choose_sampling(resampled: PreparedTranscode, quality: float) -> PreparedTranscode:
    """``resampled`` (4:2:0) or its :meth:`~PreparedTranscode.kept_sampling`, whichever the tiles favour."""
    kept = resampled.kept_sampling()
    if kept is resampled:
        return resampled
    rows, cols = resampled.grid
    tiles = sample_tiles(resampled.grid, (0, 0, rows, cols), TILES, TILE_BLOCKS, seed=7)
    if not tiles:
        return resampled  # too small to probe: 4:2:0, the usual winner
    scales = scale_count(rows * 8, cols * 8)
    references = [Reference(tile, scales) for tile in resampled.reference(tiles)]
    return kept if keeps_sampling(resampled, kept, tiles, references, quality) else resampled


def keeps_sampling(
    resampled: PreparedTranscode,
    kept: PreparedTranscode,
    tiles: list[Tile],
    references: list[Reference],
    quality: float,
) -> bool:
    """Whether the source's own sampling (``kept``) is worth its bytes over 4:2:0 (``resampled``) on
    ``tiles`` (with their ``references``, the source's): the rule of the module's docstring. The
    contract decides with its estimator's own tiles (no second set of references)."""
    scales = len(references[0].levels)
    # both mosaics code the same blocks (the wider sampling's MCU around each tile): their sizes are
    # the two rates compared
    margin = max(resampled.margin, kept.margin)
    results = []
    for variant in (resampled, kept):
        coded = variant.tile_mosaics(quality, 1.0, tiles, optimize=True, margin=margin)
        shown = decode_mosaics(coded, tiles, resampled.grid, margin)
        score = score_sums([reference.sums(tile) for reference, tile in zip(references, shown)], scales)
        results.append((coded.size, score))
    (rate_420, score_420), (rate_kept, score_kept) = results
    worth = POINTS_PER_DOUBLING * float(np.log2(rate_kept / rate_420))
    return score_kept - score_420 > worth
