"""A blank baseline JPEG: every coefficient zero, the given size, sampling and quantization tables.

It is the carrier of the one-pass write (``turbojpeg.from_levels``): TurboJPEG's
lossless transform reads it, its custom filter puts the real levels into the coefficient
arrays, and the progressive file is coded from them. The carrier's own entropy data is never
kept, so it is the cheapest stream libjpeg will read: one Huffman table per class with a single
one-bit code (the DC difference 0, the end of block), so every block is two zero bits and the
whole scan is zero bytes.

Written here, not by libjpeg, because libjpeg would Huffman-code every zero block of the photo
(about 10 ms per megapixel on these machines, a quarter of what the one-pass write saves), while
this stream is known in advance: a few fixed marker segments and a run of zero bytes.
"""

from __future__ import annotations

import struct

import numpy as np

#: natural-order (row, column) of each zigzag position (JPEG's coefficient order in a DQT segment)
ZIGZAG = sorted(
    ((i, j) for i in range(8) for j in range(8)), key=lambda p: (p[0] + p[1], p[0] if (p[0] + p[1]) % 2 else p[1])
)
#: the most blocks in one interleaved MCU that a JPEG allows (ITU T.81, B.2.3)
MAX_BLOCKS_IN_MCU = 10


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _dqt(index: int, table: np.ndarray) -> bytes:
    values = [int(table[i, j]) for i, j in ZIGZAG]
    if max(values) > 255:
        return _segment(0xDB, bytes([0x10 | index]) + struct.pack(">64H", *values))
    return _segment(0xDB, bytes([index]) + bytes(values))


def _one_code(table_class: int) -> bytes:
    """A Huffman table (id 0 of ``table_class``: 0 DC, 1 AC) holding one symbol, 0, coded as one bit."""
    return bytes([table_class << 4]) + bytes([1] + [0] * 15) + bytes([0])


def block_count(height: int, width: int, sampling: list[tuple[int, int]]) -> int | None:
    """Blocks the scan codes (MCU padding included) for (vertical, horizontal) ``sampling`` per
    component; None where one interleaved scan cannot carry them."""
    vmax = max(v for v, _ in sampling)
    hmax = max(h for _, h in sampling)
    if len(sampling) == 1:
        return -(-height // 8) * -(-width // 8)
    per_mcu = sum(v * h for v, h in sampling)
    if per_mcu > MAX_BLOCKS_IN_MCU:
        return None
    return -(-height // (8 * vmax)) * -(-width // (8 * hmax)) * per_mcu


def blank_baseline(
    height: int, width: int, sampling: list[tuple[int, int]], tables: np.ndarray, table_of: list[int]
) -> bytes | None:
    """The carrier (see the module's docstring): ``sampling`` (vertical, horizontal) and the index
    into ``tables`` (natural order, (n, 8, 8)) per component. None where no baseline-style scan can
    carry it (more than one interleaved MCU allows, or neither 1 nor 3 components)."""
    if len(sampling) not in (1, 3) or not 0 < height < 65536 or not 0 < width < 65536:
        return None
    blocks = block_count(height, width, sampling)
    if blocks is None:
        return None
    wide = bool(np.max(tables) > 255)
    frame = struct.pack(">BHHB", 8, height, width, len(sampling)) + b"".join(
        bytes([index + 1, (h << 4) | v, table_of[index]]) for index, (v, h) in enumerate(sampling)
    )
    scan = (
        bytes([len(sampling)])
        + b"".join(bytes([index + 1, 0x00]) for index in range(len(sampling)))
        + bytes([0, 63, 0])
    )
    bits = 2 * blocks
    data = bytes(bits // 8) + (bytes([(1 << (8 - bits % 8)) - 1]) if bits % 8 else b"")
    used = sorted(set(table_of))
    return b"".join(
        [
            b"\xff\xd8",
            *(_dqt(index, tables[index]) for index in used),
            _segment(0xC1 if wide else 0xC0, frame),
            _segment(0xC4, _one_code(0) + _one_code(1)),
            _segment(0xDA, scan),
            data,
            b"\xff\xd9",
        ]
    )
