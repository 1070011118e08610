"""The levels a baseline JPEG can code, and a damaged source's levels held to them.

A baseline JPEG's Huffman codes carry 11 bits of DC difference and 10 bits of AC magnitude
(ITU T.81, F.1.2); damaged entropy data can decode to levels past them, which libjpeg then
refuses to write and mozjpeg ends the process on (``rescan.source_rescan``).
"""

from __future__ import annotations

import numpy as np

#: the largest quantized AC coefficient a baseline JPEG's Huffman code holds (10 bits of magnitude)
MAX_AC_LEVEL = 1023
#: DC levels whose differences fit its 11 bits (an 8-bit black block at step 1 is -1024)
DC_LEVELS = (-1024, 1023)


def within_baseline(levels: np.ndarray) -> bool:
    """Whether every level of ``levels`` (..., 8, 8 blocks) is one a baseline JPEG can code: the
    bounds :func:`clip_to_baseline` clips a damaged source's levels to. (Bounds by min and max, not
    by ``abs``: an int16 -32768 has no absolute value in int16.)"""
    if not levels.size:
        return True
    dc = levels[..., 0, 0]
    ac = levels.reshape(*levels.shape[:-2], 64)[..., 1:]
    return bool(
        dc.min() >= DC_LEVELS[0] and dc.max() <= DC_LEVELS[1] and ac.min() >= -MAX_AC_LEVEL and ac.max() <= MAX_AC_LEVEL
    )


def clip_to_baseline(levels: np.ndarray) -> None:
    """Clip a damaged source's levels, in place, to what a baseline JPEG can code.

    Damaged entropy data can decode to levels libjpeg then refuses to write ("DCT coefficient
    out of range"); an intact 8-bit source never exceeds these bounds. Once per source is
    enough: requantizing never takes a step finer than the source's (the tables' floor), so it
    never makes a level larger.
    """
    dc = np.clip(levels[..., 0, 0], *DC_LEVELS)  # a copy, 1/64 of the plane
    np.clip(levels, -MAX_AC_LEVEL, MAX_AC_LEVEL, out=levels)
    levels[..., 0, 0] = dc
