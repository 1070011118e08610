"""EXIF blocks laid out the ways writers lay them out, for the no-location edit's tests.

An EXIF block is a TIFF structure: directories of 12-byte entries whose values (when longer than
four bytes) sit at offsets anywhere in the block. Pillow's writer always uses one order; cameras,
phones and consoles use others. :func:`exif_layout` builds the same tags (IFD0, Exif, GPS, IFD1
with a thumbnail, a Canon-style maker note) in each of :data:`LAYOUTS`, by hand, because no
library writes a chosen layout.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

ASCII, SHORT, LONG, RATIONAL, UNDEFINED, BYTE = 2, 3, 4, 5, 7, 1

#: the layouts :func:`exif_layout` builds (see its docstring)
LAYOUTS = (
    "exif-gps-ifd1",
    "gps-before-exif",
    "backwards",
    "empty-gps-abutting",
    "shared-values",
    "ifd1-right-after-gps",
    "maker-note-outside",
)


@dataclass
class _Dir:
    """A directory being laid out: entries (tag, type, count, value bytes) and where things went."""

    entries: list[tuple[int, int, int, bytes]] = field(default_factory=list)
    next_pointer: bool = True
    at: int = 0
    #: per tag, the offset its out-of-line value was placed at (or is forced to)
    value_at: dict[int, int] = field(default_factory=dict)

    def add(self, tag: int, kind: int, count: int, value: bytes) -> None:
        self.entries.append((tag, kind, count, value))

    @property
    def size(self) -> int:
        return 2 + 12 * len(self.entries) + (4 if self.next_pointer else 0)

    def values_size(self) -> int:
        return sum(_padded(len(v)) for tag, _, _, v in self.entries if len(v) > 4 and tag not in self.value_at)


def _padded(n: int) -> int:
    return n + (n & 1)


def _ascii(text: str) -> bytes:
    return text.encode() + b"\0"


def _rational(*pairs: tuple[int, int]) -> bytes:
    return b"".join(struct.pack("<II", a, b) for a, b in pairs)


def _thumbnail() -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((24, 32, 3), (40, 90, 160), np.uint8)).save(out, "JPEG", quality=70)
    return out.getvalue()


#: the pointer tags (filled in once the layout is known)
EXIF_POINTER, GPS_POINTER = 0x8769, 0x8825
MAKER_NOTE = 0x927C


def exif_layout(layout: str) -> bytes:
    """A little-endian EXIF block (no ``Exif\\0\\0`` header) with IFD0 (Make Canon, Model, DateTime,
    Orientation), an Exif directory (exposure, f-number, ISO, flash, ExifVersion,
    DateTimeOriginal, a maker note), a GPS directory (latitude, longitude, date) and IFD1 with a
    thumbnail, laid out as ``layout`` says:

    * ``exif-gps-ifd1``: each directory followed by its values, in that order (Pillow's order);
    * ``gps-before-exif``: the GPS directory and its values before the Exif directory;
    * ``backwards``: every value first, the directories after them (all offsets point back);
    * ``empty-gps-abutting``: an empty GPS directory written without its next pointer, the Exif
      directory starting right where that pointer would be (a game console's screenshots);
    * ``shared-values``: GPSDateStamp's value is the first bytes of DateTimeOriginal's;
    * ``ifd1-right-after-gps``: IFD1 starts right after the GPS directory, the GPS values after it;
    * ``maker-note-outside``: the Canon maker note's own entry points outside the maker note, at a
      value right after a GPS directory written without its next pointer.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}")
    thumbnail = _thumbnail()
    ifd0, exif, gps, ifd1, maker = _Dir(), _Dir(), _Dir(), _Dir(), _Dir()
    ifd0.add(0x010F, ASCII, 6, _ascii("Canon"))
    ifd0.add(0x0110, ASCII, 14, _ascii("EOS Layout 1"))
    ifd0.add(0x0112, SHORT, 1, struct.pack("<HH", 1, 0))
    ifd0.add(0x0132, ASCII, 20, _ascii("2024:05:01 10:20:30"))
    ifd0.add(EXIF_POINTER, LONG, 1, bytes(4))
    ifd0.add(GPS_POINTER, LONG, 1, bytes(4))
    maker_value = _ascii("Canon EOS Layout Test")  # CanonImageType
    maker.add(0x0006, ASCII, len(maker_value), maker_value)
    maker.add(0x0008, LONG, 1, struct.pack("<I", 1234567))  # FileNumber
    exif.add(0x829A, RATIONAL, 1, _rational((1, 250)))
    exif.add(0x829D, RATIONAL, 1, _rational((28, 10)))
    exif.add(0x8827, SHORT, 1, struct.pack("<HH", 200, 0))
    exif.add(0x9000, UNDEFINED, 4, b"0232")
    exif.add(0x9003, ASCII, 20, _ascii("2024:05:01 10:20:30"))
    exif.add(0x9209, SHORT, 1, struct.pack("<HH", 16, 0))
    exif.add(MAKER_NOTE, UNDEFINED, 0, b"")  # filled in below (the maker note's directory bytes)
    if layout != "empty-gps-abutting":
        gps.add(0x0000, BYTE, 4, bytes([2, 3, 0, 0]))
        gps.add(0x0001, ASCII, 2, b"N\0")
        gps.add(0x0002, RATIONAL, 3, _rational((52, 1), (31, 1), (12, 1)))
        gps.add(0x0003, ASCII, 2, b"E\0")
        gps.add(0x0004, RATIONAL, 3, _rational((13, 1), (24, 1), (0, 1)))
        gps.add(0x001D, ASCII, 11, _ascii("2024:05:01"))
    else:
        gps.next_pointer = False
    ifd1.add(0x0103, SHORT, 1, struct.pack("<HH", 6, 0))
    ifd1.add(0x0201, LONG, 1, bytes(4))
    ifd1.add(0x0202, LONG, 1, struct.pack("<I", len(thumbnail)))
    ifd1.next_pointer = True

    # the maker note: a Canon-style directory (offsets from the TIFF header); its values go after it,
    # or (maker-note-outside) after everything else, outside the maker note's own bytes
    maker.next_pointer = True
    maker_values_inside = layout != "maker-note-outside"
    maker_size = maker.size + (maker.values_size() if maker_values_inside else 0)
    exif.entries[-1] = (MAKER_NOTE, UNDEFINED, maker_size, bytes(maker_size))

    # order of the pieces: (name, directory or None for a special piece)
    pieces: list[str]
    if layout == "gps-before-exif":
        pieces = ["ifd0", "ifd0v", "gps", "gpsv", "exif", "exifv", "maker", "ifd1", "ifd1v", "thumb"]
    elif layout == "backwards":
        pieces = ["thumb", "gpsv", "exifv", "maker", "ifd0v", "ifd1v", "ifd1", "gps", "exif", "ifd0"]
    elif layout == "empty-gps-abutting":
        pieces = ["ifd0", "ifd0v", "gps", "exif", "exifv", "maker", "ifd1", "ifd1v", "thumb"]
    elif layout == "ifd1-right-after-gps":
        pieces = ["ifd0", "ifd0v", "exif", "exifv", "maker", "gps", "ifd1", "gpsv", "ifd1v", "thumb"]
    else:
        pieces = ["ifd0", "ifd0v", "exif", "exifv", "maker", "gps", "gpsv", "ifd1", "ifd1v", "thumb"]
    if layout == "maker-note-outside":
        gps.next_pointer = False
        pieces.insert(pieces.index("gps") + 1, "makerv")
    dirs = {"ifd0": ifd0, "exif": exif, "gps": gps, "ifd1": ifd1}

    # pass 1: offsets
    at = 8
    where: dict[str, int] = {}
    for piece in pieces:
        where[piece] = at
        if piece in dirs:
            at += _padded(dirs[piece].size)
        elif piece.endswith("v") and piece[:-1] in dirs:
            at += dirs[piece[:-1]].values_size()
        elif piece == "maker":
            at += _padded(maker_size)
        elif piece == "makerv":
            at += maker.values_size()
        elif piece == "thumb":
            at += _padded(len(thumbnail))
    total = at
    for name, directory in dirs.items():
        directory.at = where[name]
    maker.at = where["maker"]

    def place_values(directory: _Dir, start: int) -> None:
        for tag, _, _, value in directory.entries:
            if len(value) > 4 and tag not in directory.value_at:
                directory.value_at[tag] = start
                start += _padded(len(value))

    if layout == "shared-values":
        gps.value_at[0x001D] = -1  # placed on DateTimeOriginal's value below
    for name, directory in dirs.items():
        place_values(directory, where[name + "v"] if name + "v" in where else 0)
    if layout == "shared-values":
        gps.value_at[0x001D] = exif.value_at[0x9003]
    place_values(maker, where["makerv"] if "makerv" in where else maker.at + maker.size)
    exif.value_at[MAKER_NOTE] = maker.at

    # pointers
    def set_value(directory: _Dir, tag: int, value: bytes) -> None:
        directory.entries = [(t, k, c, value if t == tag else v) for t, k, c, v in directory.entries]

    set_value(ifd0, EXIF_POINTER, struct.pack("<I", exif.at))
    set_value(ifd0, GPS_POINTER, struct.pack("<I", gps.at))
    set_value(ifd1, 0x0201, struct.pack("<I", where["thumb"]))

    # pass 2: bytes
    block = bytearray(total)
    block[:8] = b"II*\0" + struct.pack("<I", ifd0.at)
    next_of = {"ifd0": ifd1.at}

    def write_dir(directory: _Dir, next_ifd: int) -> None:
        at = directory.at
        struct.pack_into("<H", block, at, len(directory.entries))
        for i, (tag, kind, count, value) in enumerate(sorted(directory.entries)):
            entry = at + 2 + 12 * i
            if len(value) > 4:
                offset = directory.value_at[tag]
                if tag != MAKER_NOTE:
                    block[offset : offset + len(value)] = value
                field_value = struct.pack("<I", offset)
            else:
                field_value = value.ljust(4, b"\0")
            struct.pack_into("<HHI", block, entry, tag, kind, count)
            block[entry + 8 : entry + 12] = field_value
        if directory.next_pointer:
            struct.pack_into("<I", block, at + 2 + 12 * len(directory.entries), next_ifd)

    # the maker note first: the Exif directory's entry only points at it
    write_dir(maker, 0)
    if layout == "shared-values":
        # DateTimeOriginal's bytes are written by the Exif directory; GPSDateStamp reads their start
        write_dir(gps, 0)
        write_dir(exif, 0)
    else:
        write_dir(exif, 0)
        write_dir(gps, 0)
    write_dir(ifd1, 0)
    write_dir(ifd0, next_of["ifd0"])
    block[where["thumb"] : where["thumb"] + len(thumbnail)] = thumbnail
    return bytes(block)
