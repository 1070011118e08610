"""Chroma resampled to 4:2:0 from a JPEG source's own coefficients, without a trip through 8-bit pixels.

Cameras write 4:2:2 (and some 4:4:4 or 4:4:0); at the qualities people keep photos at, half the
vertical chroma resolution costs almost nothing to the eye and saves a third of the chroma
blocks. Here each chroma plane is dequantized (its exact ``level x step`` values), taken back to
samples with the inverse DCT in float (no rounding, no clipping: no generation loss beyond the
resampling itself), box-averaged to 4:2:0 and transformed again; luma stays on the DCT route
untouched. ``scipy.fft`` does the transforms.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.fft import dct, dctn, idct, idctn

from focuspress.engine.compositor.block.dct import fft_workers, from_blocks, to_blocks


def chroma_subsampling(samp_factor: np.ndarray) -> tuple[int, int]:
    """(vertical, horizontal) chroma subsampling from jpeglib's per-component (v, h) factors: (2, 1) is 4:2:2."""
    (vy, hy), (vc, hc) = (
        (int(samp_factor[0][0]), int(samp_factor[0][1])),
        (int(samp_factor[1][0]), int(samp_factor[1][1])),
    )
    return max(1, vy // max(1, vc)), max(1, hy // max(1, hc))


def factors_to_420(subsampling: tuple[int, int]) -> tuple[int, int] | None:
    """(vertical, horizontal) averaging that takes chroma subsampled by ``subsampling`` to 4:2:0, or
    None when it is 4:2:0 already or cannot be reached by averaging (4:1:1 has less horizontal
    chroma than 4:2:0)."""
    sub_v, sub_h = subsampling
    if (sub_v, sub_h) == (2, 2) or sub_v > 2 or sub_h > 2:
        return None
    return 2 // sub_v, 2 // sub_h


def chroma_to_420(
    levels: np.ndarray,
    table: np.ndarray,
    factors: tuple[int, int],
    image_size: tuple[int, int],
    source_subsampling: tuple[int, int],
) -> np.ndarray:
    """4:2:0 DCT coefficients (float32, unquantized) of one chroma plane of a JPEG source.

    ``levels``: the plane's quantized blocks; ``table``: its steps; ``factors``: from
    :func:`factors_to_420`; ``image_size``: (height, width) of the photo as stored;
    ``source_subsampling``: (vertical, horizontal) chroma subsampling of the source (1 or 2).
    Block counts are what libjpeg expects of a 4:2:0 chroma component: ceil(size / 16).

    Inverse DCT, averaging pairs of samples and forward DCT are all linear, and the average never
    mixes two pairs of blocks: so every output block whose samples come from whole source blocks is
    one 8x16 matrix (:func:`pair_matrix`) times the pair's coefficients, along the axis that is
    halved, and nothing is taken to samples. A 1920x1080 4:2:2 plane: 5-10 ms through samples, about
    2 ms this way (1.3 of them the matrix), equal within float32 rounding (tested). The last block
    row and column, where the source's samples stop or libjpeg's padding begins, go through samples
    (:func:`_through_samples`).
    """
    height, width = image_size
    coefficients = np.multiply(levels, table.astype(np.float32), dtype=np.float32)
    valid = (-(-height // source_subsampling[0]), -(-width // source_subsampling[1]))
    fy, fx = factors
    target = (-(-height // 16), -(-width // 16))  # blocks
    rows, cols = min(valid[0] // (8 * fy), target[0]), min(valid[1] // (8 * fx), target[1])
    if rows == 0 or cols == 0:
        return _through_samples(coefficients, valid, factors, (target[0] * 8, target[1] * 8))
    out = np.empty((target[0], target[1], 8, 8), np.float32)
    inner = coefficients[: rows * fy, : cols * fx]
    if fy == 2:
        inner = _halve_vertically(inner)
    if fx == 2:
        inner = _halve_horizontally(inner)
    out[:rows, :cols] = inner
    if rows < target[0]:
        edge = (valid[0] - rows * fy * 8, valid[1])
        out[rows:] = _through_samples(coefficients[rows * fy :], edge, factors, ((target[0] - rows) * 8, target[1] * 8))
    if cols < target[1]:
        edge = (valid[0], valid[1] - cols * fx * 8)
        out[:, cols:] = _through_samples(
            coefficients[:, cols * fx :], edge, factors, (target[0] * 8, (target[1] - cols) * 8)
        )
    return out


@functools.cache
def pair_matrix() -> np.ndarray:
    """8 x 16: the DCT coefficients of two adjacent 8-sample blocks (stacked) to those of one block
    of their samples averaged in pairs; built from ``scipy.fft``'s own transforms of the identity."""
    inverse = idct(np.eye(8), axis=0, norm="ortho")
    both = np.zeros((16, 16))
    both[:8, :8] = both[8:, 8:] = inverse
    average = np.zeros((8, 16))
    average[np.arange(8), 2 * np.arange(8)] = average[np.arange(8), 2 * np.arange(8) + 1] = 0.5
    return (dct(np.eye(8), axis=0, norm="ortho") @ average @ both).astype(np.float32)


def _halve_vertically(blocks: np.ndarray) -> np.ndarray:
    """(2N, W, 8, 8) coefficients to (N, W, 8, 8): each vertical pair of blocks to one."""
    n, w = blocks.shape[0] // 2, blocks.shape[1]
    pairs = blocks.reshape(n, 2, w, 8, 8).transpose(0, 2, 1, 3, 4).reshape(n, w, 16, 8)
    return np.matmul(pair_matrix(), pairs)


def _halve_horizontally(blocks: np.ndarray) -> np.ndarray:
    """(N, 2W, 8, 8) coefficients to (N, W, 8, 8): each horizontal pair of blocks to one."""
    n, w = blocks.shape[0], blocks.shape[1] // 2
    pairs = blocks.reshape(n, w, 2, 8, 8).transpose(0, 1, 3, 2, 4).reshape(n, w, 8, 16)
    return np.matmul(pairs, pair_matrix().T)


def _through_samples(
    coefficients: np.ndarray, valid: tuple[int, int], factors: tuple[int, int], target: tuple[int, int]
) -> np.ndarray:
    """Dequantized chroma blocks to 4:2:0 blocks through samples: the inverse DCT, the source's
    ``valid`` samples (rows, columns) kept, the edge repeated to whole pairs, pairs averaged, cut or
    edge-padded to ``target`` samples (as libjpeg pads), the forward DCT."""
    plane = from_blocks(idctn(coefficients, axes=(2, 3), norm="ortho", workers=fft_workers()))
    plane = plane[: valid[0], : valid[1]]
    fy, fx = factors
    pad = ((-plane.shape[0]) % fy, (-plane.shape[1]) % fx)
    if any(pad):
        plane = np.pad(plane, ((0, pad[0]), (0, pad[1])), mode="edge")
    # the box average as strided sums (a reshape's mean over two axes is several times slower)
    small = plane[::fy, ::fx].copy()
    for dy in range(fy):
        for dx in range(fx):
            if dy or dx:
                small += plane[dy::fy, dx::fx]
    small *= np.float32(1.0 / (fy * fx))
    small = small[: target[0], : target[1]]
    if small.shape != target:  # replicate the last row/column, as libjpeg pads
        small = np.pad(small, ((0, target[0] - small.shape[0]), (0, target[1] - small.shape[1])), mode="edge")
    blocks = dctn(to_blocks(np.ascontiguousarray(small)), axes=(2, 3), norm="ortho", workers=fft_workers())
    return blocks.astype(np.float32, copy=False)
