"""Tiles of an encode, decoded as a viewer decodes them, without encoding the whole photo.

The fidelity contract searches for the smallest encode that keeps its targets, and each trial
needs a score. Quantizing a block depends only on that block (its coefficients, its lambda and
the tables), so the levels of a few sampled tiles are exactly the levels those tiles get in the
full encode. Here the tiles' blocks, each with one MCU of the photo around it (its window), are
laid side by side into a small JPEG (a mosaic), written by libjpeg (``jpeglib``) and decoded by
libjpeg-turbo (Pillow): the same IDCT, upsampling and colour conversion a viewer applies, so a
tile is, pixel for pixel, what the full file shows there (``tests/test_contract.py``). The one
place a window has no margin is the photo's edge: there the decoder's edge handling must be what
the photo gets. Every window shares the mosaic's top and bottom edges and the last its right
edge, but only the first has its left edge, so a tile on the photo's left edge opens a mosaic of
its own (:func:`mosaic_groups`). The score is pooled per tile (:func:`pooled_ssimulacra2`), so no
blur crosses from one tile into another.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import jpeglib
import numpy as np
from PIL import Image

from focuspress.engine.jpegfile.writer import write_dct

#: Tiles are placed on multiples of this many blocks (32 px): an MCU of every sampling up to 4:1:1.
ALIGN_BLOCKS = 4
#: The most blocks of the photo a mosaic puts around a tile (4:1:1's MCU): tiles keep this far from
#: the photo's far edges, and a photo holds tiles only with this much room (:func:`window_fits`).
MARGIN_BLOCKS = 4


def margin_for(factors: list[tuple[int, int]]) -> int:
    """Blocks of the photo around each tile in a mosaic of this sampling (``factors``: luma blocks
    per block of each component, (vertical, horizontal)), cut off after decoding: one MCU, so the
    window starts on the photo's own MCU grid and the decoder's chroma upsampling at a tile's edge
    sees the photo's neighbours (it reaches one chroma sample), not the next tile's. 2 for 4:2:0
    and 4:2:2, 1 for 4:4:4 and grey, 4 for 4:1:1: a 4:2:0 window is 36 blocks instead of 40, 19%
    fewer blocks to quantize, code and decode in every trial."""
    return max(1, *(max(v, h) for v, h in factors))


@dataclass(frozen=True)
class Tile:
    """A square of ``size`` x ``size`` luma blocks whose top-left block is (``row``, ``col``)."""

    row: int
    col: int
    size: int

    @property
    def pixels(self) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) in pixels."""
        return self.row * 8, self.col * 8, (self.row + self.size) * 8, (self.col + self.size) * 8

    def window(self, grid: tuple[int, int], margin: int = MARGIN_BLOCKS) -> tuple[Tile, int, int]:
        """What goes into a mosaic: the tile with ``margin`` blocks of the photo around it where the
        photo has them (at its edges the window shifts inward: the decoder's own edge handling is
        what the photo gets there too), and the tile's (row, column) offset in pixels inside it.
        ``margin`` (:func:`margin_for`, at most :data:`MARGIN_BLOCKS`) is the MCU the window keeps to."""
        size = self.size + 2 * margin
        row = min(max(0, self.row - margin), max(0, grid[0] - size))
        col = min(max(0, self.col - margin), max(0, grid[1] - size))
        row -= row % margin  # (tiles keep MARGIN_BLOCKS from the far edges: this never uncovers them)
        col -= col % margin
        return Tile(row, col, size), (self.row - row) * 8, (self.col - col) * 8


def plane_slice(plane: np.ndarray, tile: Tile, factor: tuple[int, int]) -> np.ndarray:
    """The blocks of ``plane`` under ``tile``; ``factor``: (vertical, horizontal) luma blocks per plane block."""
    fv, fh = factor
    return plane[tile.row // fv : (tile.row + tile.size) // fv, tile.col // fh : (tile.col + tile.size) // fh]


def mosaic(
    planes: list[list[np.ndarray]],
    tables: np.ndarray,
    factors: list[tuple[int, int]],
    tile_size: int,
    *,
    optimize: bool = False,
) -> bytes:
    """A baseline JPEG of the tiles side by side: ``planes[c][t]`` is component ``c`` of tile ``t``
    (int16 levels, a :attr:`Tile.padded` region), ``factors[c]`` its subsampling. No metadata,
    stored orientation. ``tile_size``: the padded tiles' side in blocks."""
    rows = [np.concatenate(tiles, axis=1) for tiles in planes]
    count = len(planes[0])
    for row, (fv, fh) in zip(rows, factors):
        # libjpeg reads the planes at the sizes the header declares: a short plane would be read
        # past its end (memory corruption, not an exception), so a mismatch stops here
        if row.shape[:2] != (tile_size // fv, count * tile_size // fh):
            raise ValueError(f"mosaic plane {row.shape[:2]} does not match {count} tiles of {tile_size} blocks")
    if len(rows) == 1:
        jpeg = jpeglib.from_dct(rows[0], qt=tables[:1].astype(np.uint16))
    else:
        jpeg = jpeglib.from_dct(rows[0], rows[1], rows[2], qt=tables[:3].astype(np.uint16), quant_tbl_no=[0, 1, 2])
        max_v, max_h = factors[1]
        jpeg.samp_factor = np.array([[max_v, max_h], [1, 1], [1, 1]])
    jpeg.height = tile_size * 8
    jpeg.width = tile_size * 8 * count
    return write_dct(jpeg, progressive="never", optimize=optimize)


@dataclass(frozen=True)
class Mosaics:
    """Tiles' windows coded as mosaics (most often one): ``files[k]`` holds the windows of the tiles
    ``groups[k]`` (indices into the tiles) side by side, in that order."""

    groups: tuple[tuple[int, ...], ...]
    files: tuple[bytes, ...]

    @property
    def size(self) -> int:
        """Bytes of all the mosaics (a rate estimate where they were coded as the file would be)."""
        return sum(len(data) for data in self.files)


def mosaic_groups(tiles: list[Tile], grid: tuple[int, int], margin: int) -> tuple[tuple[int, ...], ...]:
    """Which tiles share a mosaic (indices, each group in mosaic order): all in one, except that a
    tile on the photo's left edge (its window has no margin on that side) comes first in a mosaic,
    one such tile to a mosaic. Elsewhere in a row of windows its first chroma column would be
    upsampled against the previous window's last (up to 17 levels off in its first pixel columns)
    instead of the photo's edge. (At 4:4:4 and 4:4:0 nothing is upsampled across and one mosaic
    would do; the grouping depends on the margin alone all the same, so that the sampling choice's
    two variants, coded with the same margin, are coded as the same number of files and their
    sizes compare blocks, not headers.)"""
    groups: list[tuple[int, ...]] = []
    for size in dict.fromkeys(tile.size for tile in tiles):  # (a mosaic holds windows of one size)
        members = [i for i, tile in enumerate(tiles) if tile.size == size]
        edge = [i for i in members if tiles[i].window(grid, margin)[2] < 8 * margin]
        on_edge = set(edge)
        inner = [i for i in members if i not in on_edge]
        groups += [tuple(inner)] if not edge else [tuple([edge[0], *inner]), *((i,) for i in edge[1:])]
    return tuple(groups)


def code_windows(
    planes: list[list[np.ndarray]],
    tables: np.ndarray,
    factors: list[tuple[int, int]],
    tiles: list[Tile],
    grid: tuple[int, int],
    margin: int,
    *,
    optimize: bool = False,
) -> Mosaics:
    """The mosaics of ``tiles``' windows (``planes[c][t]``: component ``c`` of tile ``t``'s window,
    ``margin`` blocks around the tile), grouped by :func:`mosaic_groups`."""
    groups = mosaic_groups(tiles, grid, margin)
    files = tuple(
        mosaic(
            [[component[i] for i in group] for component in planes],
            tables,
            factors,
            tiles[group[0]].size + 2 * margin,
            optimize=optimize,
        )
        for group in groups
    )
    return Mosaics(groups, files)


def decode_mosaics(coded: Mosaics, tiles: list[Tile], grid: tuple[int, int], margin: int) -> list[np.ndarray]:
    """The ``tiles`` (in their order) decoded from their mosaics (:func:`code_windows`)."""
    shown: dict[int, np.ndarray] = {}
    for group, data in zip(coded.groups, coded.files):
        shown.update(zip(group, decode_mosaic(data, [tiles[i] for i in group], grid, margin)))
    return [shown[index] for index in range(len(tiles))]


def decode_rgb(data: bytes) -> np.ndarray:
    """A JPEG (no markers: as stored) decoded to RGB by libjpeg-turbo, as a viewer decodes it."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def cut_tiles(pixels: np.ndarray, tiles: list[Tile]) -> list[np.ndarray]:
    """The ``tiles`` of a photo's decoded ``pixels`` (H x W x 3, the grid's orientation), each its own array."""
    out = []
    for tile in tiles:
        top, left, bottom, right = tile.pixels
        out.append(np.ascontiguousarray(pixels[top:bottom, left:right]))
    return out


def decode_mosaic(
    data: bytes, tiles: list[Tile], grid: tuple[int, int], margin: int = MARGIN_BLOCKS
) -> list[np.ndarray]:
    """The ``tiles`` of one mosaic of their windows (``margin`` blocks around each, in this order) as
    RGB arrays, decoded by libjpeg-turbo, margins cut off."""
    rgb = decode_rgb(data)
    width = rgb.shape[1] // len(tiles)
    out = []
    for index, tile in enumerate(tiles):
        _, dy, dx = tile.window(grid, margin)
        side = tile.size * 8
        out.append(np.ascontiguousarray(rgb[dy : dy + side, index * width + dx : index * width + dx + side]))
    return out


def window_fits(grid: tuple[int, int], size: int) -> bool:
    """Whether a ``grid`` of luma blocks holds a tile of ``size`` blocks with :data:`MARGIN_BLOCKS`
    on both sides (a mosaic's window): a mosaic of a wider window would declare more blocks than
    the photo has, and libjpeg would read past its planes."""
    return min(grid) >= size + 2 * MARGIN_BLOCKS


def tile_places(grid: tuple[int, int], size: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows and columns (in blocks, :data:`ALIGN_BLOCKS` apart) where a tile of ``size`` blocks may
    start in a ``grid`` of luma blocks: it keeps :data:`MARGIN_BLOCKS` from the bottom and right
    edges (its window's margin there). Empty where the photo holds no tile's window."""
    if not window_fits(grid, size):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    last_row, last_col = grid[0] - size - MARGIN_BLOCKS, grid[1] - size - MARGIN_BLOCKS
    return np.arange(0, last_row + 1, ALIGN_BLOCKS), np.arange(0, last_col + 1, ALIGN_BLOCKS)


def sample_tiles(
    grid: tuple[int, int],
    region: tuple[int, int, int, int],
    count: int,
    size: int,
    seed: int = 0,
) -> list[Tile]:
    """About ``count`` tiles of ``size`` blocks inside ``region`` (top, left, bottom, right in blocks)
    of a ``grid`` of luma blocks: one per cell of a stratified grid over the region, at a random
    (seeded) aligned place in its cell, each wholly inside the photo's blocks (and inside the
    region where the region holds a tile). None for a photo smaller than a tile's window."""
    top, left, bottom, right = region
    rows, cols = tile_places(grid, size)
    if not rows.size or not cols.size:
        return []
    max_row, max_col = int(rows[-1]), int(cols[-1])
    height, width = max(size, bottom - top), max(size, right - left)
    cells_y = max(1, round(np.sqrt(count * height / width)))
    cells_x = max(1, round(count / cells_y))
    rng = np.random.default_rng(seed)
    tiles: list[Tile] = []
    seen: set[tuple[int, int]] = set()
    for cy in range(cells_y):
        for cx in range(cells_x):
            lo_y = top + cy * height / cells_y
            lo_x = left + cx * width / cells_x
            span_y = max(0.0, height / cells_y - size)
            span_x = max(0.0, width / cells_x - size)
            row = int(lo_y + rng.uniform(0, span_y)) // ALIGN_BLOCKS * ALIGN_BLOCKS
            col = int(lo_x + rng.uniform(0, span_x)) // ALIGN_BLOCKS * ALIGN_BLOCKS
            # inside the region where it is big enough, inside the photo always
            row = max(row, top) if bottom - top >= size else row
            col = max(col, left) if right - left >= size else col
            row = min(max(0, row), max_row)
            col = min(max(0, col), max_col)
            if (row, col) not in seen:
                seen.add((row, col))
                tiles.append(Tile(row, col, size))
    return tiles
