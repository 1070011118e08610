"""Chroma resampled to 4:2:0 from a JPEG source's own coefficients, without a trip through 8-bit pixels.

Cameras write 4:2:2 (and some 4:4:4 or 4:4:0); at the qualities people keep photos at, half the
vertical chroma resolution costs almost nothing to the eye and saves a third of the chroma
blocks. Here each chroma plane is dequantized (its exact ``level x step`` values), taken back to
samples with the inverse DCT in float (no rounding, no clipping: no generation loss beyond the
resampling itself), box-averaged to 4:2:0 and transformed again; luma stays on the DCT route
untouched. ``scipy.fft`` does the transforms.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import dctn, idctn

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
    """
    height, width = image_size
    coefficients = np.multiply(levels, table.astype(np.float32), dtype=np.float32)
    plane = from_blocks(idctn(coefficients, axes=(2, 3), norm="ortho", workers=fft_workers()))
    valid = (-(-height // source_subsampling[0]), -(-width // source_subsampling[1]))
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
    blocks = (-(-height // 16), -(-width // 16))
    target = (blocks[0] * 8, blocks[1] * 8)
    small = small[: target[0], : target[1]]
    if small.shape != target:  # replicate the last row/column, as libjpeg pads
        small = np.pad(small, ((0, target[0] - small.shape[0]), (0, target[1] - small.shape[1])), mode="edge")
    blocks = dctn(to_blocks(np.ascontiguousarray(small)), axes=(2, 3), norm="ortho", workers=fft_workers())
    return blocks.astype(np.float32, copy=False)
