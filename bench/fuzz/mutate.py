"""Byte-level mutations of valid images, the kinds that damaged uploads and crafted files show.

Written here rather than taken from a fuzzing engine because the operators must be format-aware
in one cheap way (PNG chunk CRCs repaired, so a mutation reaches the decoder instead of being
stopped at the checksum) and be driven both by a seeded RNG (the >= 10,000-case command) and
by hypothesis (the CI test): each operator takes its random choices from a ``Choices`` source.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import Protocol

INTERESTING_8 = (0x00, 0x01, 0x7F, 0x80, 0xFF)
INTERESTING_32 = (0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


class Choices(Protocol):
    def integer(self, low: int, high: int) -> int:
        """An integer in [low, high]."""


class RngChoices:
    """Choices from a numpy Generator (the command)."""

    def __init__(self, rng) -> None:
        self.rng = rng

    def integer(self, low: int, high: int) -> int:
        return int(self.rng.integers(low, high + 1))


def _span(data: bytearray, c: Choices, most: int = 64) -> tuple[int, int]:
    start = c.integer(0, max(0, len(data) - 1))
    return start, min(len(data), start + c.integer(1, most))


def bit_flip(data: bytearray, c: Choices, others) -> bytearray:
    for _ in range(c.integer(1, 8)):
        i = c.integer(0, len(data) - 1)
        data[i] ^= 1 << c.integer(0, 7)
    return data


def interesting_byte(data: bytearray, c: Choices, others) -> bytearray:
    data[c.integer(0, len(data) - 1)] = INTERESTING_8[c.integer(0, len(INTERESTING_8) - 1)]
    return data


def interesting_int(data: bytearray, c: Choices, others) -> bytearray:
    """A big-endian 16- or 32-bit field (widths, heights, lengths) set to an edge value."""
    value = INTERESTING_32[c.integer(0, len(INTERESTING_32) - 1)]
    at = c.integer(0, max(0, len(data) - 4))
    if c.integer(0, 1):
        data[at : at + 4] = struct.pack(">I", value & 0xFFFFFFFF)
    else:
        data[at : at + 2] = struct.pack(">H", value & 0xFFFF)
    return data


def insert_bytes(data: bytearray, c: Choices, others) -> bytearray:
    at = c.integer(0, len(data))
    data[at:at] = bytes(c.integer(0, 255) for _ in range(c.integer(1, 32)))
    return data


def delete_span(data: bytearray, c: Choices, others) -> bytearray:
    start, end = _span(data, c, 256)
    del data[start:end]
    return data


def duplicate_span(data: bytearray, c: Choices, others) -> bytearray:
    start, end = _span(data, c, 256)
    at = c.integer(0, len(data))
    data[at:at] = data[start:end]
    return data


def truncate(data: bytearray, c: Choices, others) -> bytearray:
    return data[: c.integer(0, len(data) - 1)]


def splice(data: bytearray, c: Choices, others) -> bytearray:
    """The head of this file on the tail of another (a mixed-up upload)."""
    other = others[c.integer(0, len(others) - 1)]
    return data[: c.integer(0, len(data))] + other[c.integer(0, max(0, len(other) - 1)) :]


OPERATORS: tuple[Callable[[bytearray, Choices, list[bytes]], bytearray], ...] = (
    bit_flip,
    interesting_byte,
    interesting_int,
    insert_bytes,
    delete_span,
    duplicate_span,
    truncate,
    splice,
)


def fix_png_crcs(data: bytes) -> bytes:
    """Recompute every PNG chunk's CRC (mutations then reach the decoder, not the checksum)."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    out = bytearray(data[:8])
    at = 8
    while at + 8 <= len(data):
        length = struct.unpack(">I", data[at : at + 4])[0]
        end = at + 12 + length
        if end > len(data):
            out += data[at:]
            return bytes(out)
        kind_body = data[at + 4 : at + 8 + length]
        out += data[at : at + 8 + length] + struct.pack(">I", zlib.crc32(kind_body) & 0xFFFFFFFF)
        at = end
    out += data[at:]
    return bytes(out)


def mutate(data: bytes, c: Choices, others: list[bytes], rounds: int | None = None) -> bytes:
    """Apply 1..4 operators; PNG CRCs are repaired three times out of four."""
    buffer = bytearray(data)
    for _ in range(rounds if rounds is not None else c.integer(1, 4)):
        if not buffer:
            break
        buffer = OPERATORS[c.integer(0, len(OPERATORS) - 1)](buffer, c, others)
    result = bytes(buffer)
    if c.integer(0, 3):
        result = fix_png_crcs(result)
    return result
