"""EXIF edited in place: the block keeps its length and every offset in it, maker notes included.

An EXIF block is a TIFF structure whose directories point at each other and at their values by
absolute offsets; camera maker notes (Canon, Panasonic, Olympus, Nikon's older ones, Sanyo...)
hold offsets of their own that no general writer knows how to move. Re-serializing the block
(what Pillow's writer does) moves the maker note and breaks them, and drops the thumbnail. So
the edits here never move a byte that stays:

* :func:`without_location` takes the GPS directory's pointer out of IFD0 (the entries after it
  shift up by one slot inside IFD0) and overwrites the GPS directory and its values with zeros,
  except the bytes another structure also uses. Writers lay the block out in every order (GPS
  before or after the Exif directory, IFD1 after GPS), share value bytes between tags, write an
  empty GPS directory without its next-IFD pointer so that the next directory starts where that
  pointer would be (a game console's screenshots: zeroing six bytes there emptied the Exif
  directory and lost 20 tags), and keep maker-note values outside the maker note: so the bytes
  every other directory, value, thumbnail and (Canon-style) maker-note entry reaches are
  collected first (:func:`_kept_bytes`) and left alone;
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
    """``block`` with its GPS directory unlinked and zeroed, same length, nothing else moved (see the
    module's docstring for the bytes that stay because another structure uses them too)."""
    try:
        tiff = _Tiff(block)
        ifd0 = tiff.ifd0()
        entries = tiff.entries(ifd0)
        hit = next((entry for entry in entries if entry[1] == GPS_IFD), None)
        if hit is None:
            return bytes(block)
        position, _, _, _, gps = hit
        kept = _kept_bytes(tiff)
        spans = [(gps, 2 + 12 * tiff.u16(gps) + 4)]
        for _, _, kind, count, value in tiff.entries(gps):
            span = tiff.value_span(kind, count, value)
            if span is not None:
                spans.append(span)
        for start, length in spans:
            for at in range(max(0, start), min(len(tiff.data), start + length)):
                if not kept[at]:
                    tiff.data[at] = 0
        # IFD0 loses the entry: the later entries and the next pointer move up one slot
        end = tiff.next_pointer(ifd0) + 4
        tail = bytes(tiff.data[position + 12 : end])
        tiff.data[position : position + len(tail)] = tail
        tiff.zero(end - 12, 12)
        tiff.put16(ifd0, len(entries) - 1)
        return bytes(tiff.data)
    except (ValueError, struct.error):
        return None


EXIF_IFD = 0x8769
INTEROP_IFD = 0xA005
SUB_IFDS = 0x014A
MAKER_NOTE = 0x927C
#: entry types whose value is an offset to a directory (LONG, IFD)
_POINTER_TYPES = (4, 13)


def _kept_bytes(tiff: _Tiff) -> bytearray:
    """One flag per byte of the block: 1 where a structure other than the GPS directory lives (the
    header, every directory reached from IFD0 but GPS, the IFD chain, their values, the thumbnail,
    a maker note and, where it parses as a directory, its entries' values)."""
    kept = bytearray(len(tiff.data))

    def mark(start: int, length: int) -> None:
        lo, hi = max(0, start), min(len(kept), start + length)
        if hi > lo:
            kept[lo:hi] = b"\x01" * (hi - lo)

    mark(0, 8)
    seen: set[int] = set()

    def walk(ifd: int, *, chain: bool, strict: bool) -> None:
        if ifd == 0 or ifd in seen:
            return
        try:
            entries = tiff.entries(ifd)
        except (ValueError, struct.error):
            if strict:
                raise
            return  # a pointer into nothing: there is nothing of it to keep
        seen.add(ifd)
        mark(ifd, 2 + 12 * len(entries) + 4)
        fields = {tag: value for _, tag, _, _, value in entries}
        for _, tag, kind, count, value in entries:
            if tag == GPS_IFD:
                continue
            length = _TYPE_SIZES.get(kind, 1) * count
            if length > 4:
                mark(value, length)
            if tag in (EXIF_IFD, INTEROP_IFD) and kind in _POINTER_TYPES:
                walk(value, chain=False, strict=False)
            elif tag == SUB_IFDS and kind in _POINTER_TYPES:
                offsets = [value] if length <= 4 else [tiff.u32(value + 4 * i) for i in range(count)]
                for offset in offsets:
                    walk(offset, chain=False, strict=False)
            elif tag == MAKER_NOTE and length > 4:
                _mark_maker_note(tiff, value, mark)
        if THUMBNAIL_OFFSET in fields and THUMBNAIL_LENGTH in fields:
            mark(fields[THUMBNAIL_OFFSET], fields[THUMBNAIL_LENGTH])
        if chain:
            walk(tiff.u32(tiff.next_pointer(ifd)), chain=True, strict=False)

    walk(tiff.ifd0(), chain=True, strict=True)
    return kept


def _mark_maker_note(tiff: _Tiff, at: int, mark) -> None:
    """The values of a maker note that is a plain directory with offsets from the TIFF header (Canon,
    and others): they may lie outside the maker note's own bytes. Kept only where every entry
    parses (a maker note of another layout is kept as its own bytes, already marked)."""
    try:
        entries = tiff.entries(at)
    except (ValueError, struct.error):
        return
    if not 0 < len(entries) < 512 or any(kind not in _TYPE_SIZES for _, _, kind, _, _ in entries):
        return
    spans = []
    for _, _, kind, count, value in entries:
        length = _TYPE_SIZES[kind] * count
        if length > 4:
            if value + length > len(tiff.data):
                return
            spans.append((value, length))
    for span in spans:
        mark(*span)


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
