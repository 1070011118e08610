"""EXIF edited in place: the block keeps its length and every offset in it, maker notes included.

An EXIF block is a TIFF structure whose directories point at each other and at their values by
absolute offsets; camera maker notes (Canon, Panasonic, Olympus, Nikon's older ones, Sanyo...)
hold offsets of their own that no general writer knows how to move. Re-serializing the block
(what Pillow's writer does) moves the maker note and breaks them, and drops the thumbnail. So
the edits here never move a byte that stays:

* :func:`without_location` takes the GPS directory's pointer out of IFD0 (the entries after it
  shift up by one slot inside IFD0) and overwrites the GPS directory and its values with zeros;
* :func:`with_orientation` writes a new Orientation value into its (inline) slot;
* :func:`without_thumbnail` unlinks IFD1 (IFD0's next pointer becomes 0) and zeroes it and the
  thumbnail's bytes.

A block that cannot be parsed is returned unchanged by the read-only checks and refused (None)
by the edits, so a caller never writes a half-edited block. Why our own: no maintained Python
library edits EXIF in place (Pillow and piexif re-serialize; exiftool is a Perl program).
"""

from __future__ import annotations

import struct

_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
GPS_IFD = 0x8825
ORIENTATION = 0x0112
THUMBNAIL_OFFSET = 0x0201
THUMBNAIL_LENGTH = 0x0202


class _Tiff:
    def __init__(self, data: bytes) -> None:
        if len(data) < 8 or data[:2] not in (b"II", b"MM"):
            raise ValueError("not a TIFF structure")
        self.data = bytearray(data)
        self.order = "<" if data[:2] == b"II" else ">"
        if self.u16(2) != 42:
            raise ValueError("not a TIFF structure")

    def u16(self, at: int) -> int:
        return struct.unpack_from(self.order + "H", self.data, at)[0]

    def u32(self, at: int) -> int:
        return struct.unpack_from(self.order + "I", self.data, at)[0]

    def put16(self, at: int, value: int) -> None:
        struct.pack_into(self.order + "H", self.data, at, value)

    def put32(self, at: int, value: int) -> None:
        struct.pack_into(self.order + "I", self.data, at, value)

    def ifd0(self) -> int:
        return self.u32(4)

    def entries(self, ifd: int) -> list[tuple[int, int, int, int, int]]:
        """(position, tag, type, count, value-or-offset) of each entry of the directory at ``ifd``."""
        self._check(ifd, 2)
        count = self.u16(ifd)
        self._check(ifd + 2, 12 * count + 4)
        out = []
        for i in range(count):
            at = ifd + 2 + 12 * i
            out.append((at, self.u16(at), self.u16(at + 2), self.u32(at + 4), self.u32(at + 8)))
        return out

    def next_pointer(self, ifd: int) -> int:
        """Where the directory's next-IFD offset is stored."""
        return ifd + 2 + 12 * self.u16(ifd)

    def value_span(self, kind: int, count: int, value: int) -> tuple[int, int] | None:
        """(offset, length) of an entry's out-of-line value, or None when it is inline."""
        length = _TYPE_SIZES.get(kind, 1) * count
        if length <= 4:
            return None
        self._check(value, length)
        return value, length

    def zero(self, start: int, length: int) -> None:
        self._check(start, length)
        self.data[start : start + length] = bytes(length)

    def _check(self, at: int, length: int) -> None:
        if at < 0 or at + length > len(self.data):
            raise ValueError("EXIF offset outside the block")


def has_location(block: bytes) -> bool:
    """Whether IFD0 points at a GPS directory."""
    try:
        tiff = _Tiff(block)
        return any(tag == GPS_IFD for _, tag, *_ in tiff.entries(tiff.ifd0()))
    except (ValueError, struct.error):
        return False


def without_location(block: bytes) -> bytes | None:
    """``block`` with its GPS directory unlinked and zeroed, same length, nothing else moved."""
    try:
        tiff = _Tiff(block)
        ifd0 = tiff.ifd0()
        entries = tiff.entries(ifd0)
        hit = next((entry for entry in entries if entry[1] == GPS_IFD), None)
        if hit is None:
            return bytes(block)
        position, _, _, _, gps = hit
        for _, _, kind, count, value in tiff.entries(gps):
            span = tiff.value_span(kind, count, value)
            if span is not None:
                tiff.zero(*span)
        tiff.zero(gps, 2 + 12 * tiff.u16(gps) + 4)
        # IFD0 loses the entry: the later entries and the next pointer move up one slot
        end = tiff.next_pointer(ifd0) + 4
        tail = bytes(tiff.data[position + 12 : end])
        tiff.data[position : position + len(tail)] = tail
        tiff.zero(end - 12, 12)
        tiff.put16(ifd0, len(entries) - 1)
        return bytes(tiff.data)
    except (ValueError, struct.error):
        return None


def with_orientation(block: bytes, orientation: int) -> bytes | None:
    """``block`` with IFD0's Orientation set to ``orientation`` (unchanged when it has none)."""
    try:
        tiff = _Tiff(block)
        for position, tag, kind, count, _ in tiff.entries(tiff.ifd0()):
            if tag == ORIENTATION and kind == 3 and count == 1:
                tiff.put16(position + 8, orientation)
        return bytes(tiff.data)
    except (ValueError, struct.error):
        return None


def without_thumbnail(block: bytes) -> bytes | None:
    """``block`` without IFD1 (the embedded thumbnail): unlinked and zeroed, same length."""
    try:
        tiff = _Tiff(block)
        ifd0 = tiff.ifd0()
        tiff.entries(ifd0)
        pointer = tiff.next_pointer(ifd0)
        ifd1 = tiff.u32(pointer)
        if ifd1 == 0:
            return bytes(block)
        entries = tiff.entries(ifd1)
        fields = {tag: value for _, tag, _, _, value in entries}
        if THUMBNAIL_OFFSET in fields and THUMBNAIL_LENGTH in fields:
            tiff.zero(fields[THUMBNAIL_OFFSET], fields[THUMBNAIL_LENGTH])
        for _, _, kind, count, value in entries:
            span = tiff.value_span(kind, count, value)
            if span is not None:
                tiff.zero(*span)
        tiff.zero(ifd1, 2 + 12 * len(entries) + 4)
        tiff.put32(pointer, 0)
        return bytes(tiff.data)
    except (ValueError, struct.error):
        return None
