"""What a camera file carries after its photo: MPF secondary images and trailing data, kept.

Phones append images after the primary JPEG and index them in an APP2 ``MPF`` segment (CIPA
DC-007): HDR gain maps, depth maps, previews. Motion photos append a video. Both live after the
primary's end-of-image marker (the *tail*). The tail is carried verbatim after the new primary;
the MPF index's offsets count from its own header, which moves with the new primary, so they are
shifted by exactly that move, and the primary's size entry is rewritten. Trailers located from
the file's end (Google's MicroVideoOffset and Container:Directory, Samsung's SEFT) stay right as
they are. Why our own: no maintained Python library rewrites an MPF index in memory.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MPF_HEADER = b"MPF\x00"
_ENTRY_TAG = 0xB002


def primary_end(data: bytes) -> int | None:
    """Where the primary JPEG of ``data`` ends (just after its EOI), or None when it does not parse."""
    position = 2
    size = len(data)
    if data[:2] != b"\xff\xd8":
        return None
    while position + 2 <= size:
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1
            continue
        if marker == 0xD9:
            return position + 2
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            position += 2
            continue
        if position + 4 > size:
            return None
        length = struct.unpack(">H", data[position + 2 : position + 4])[0]
        position += 2 + length
        if marker == 0xDA:  # entropy-coded data: to the next marker that is not stuffing or a restart
            position = _after_entropy_data(data, position)
    return None


def _after_entropy_data(data: bytes, position: int) -> int:
    """The position of the first marker at or after ``position`` that ends entropy-coded data
    (0xFF followed by anything but 0x00 stuffing or a restart marker); ``len(data)`` if none.
    ``bytes.find`` jumps from 0xFF to 0xFF: a camera photo's scan is megabytes, and a byte loop in
    Python cost a quarter of a second per pass."""
    size = len(data)
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= size:
            return size
        following = data[position + 1]
        if following != 0x00 and not 0xD0 <= following <= 0xD7 and following != 0xFF:
            return position
        position += 1


@dataclass(frozen=True)
class MpIndex:
    """An MPF index: its byte order, and where the MP entries' size and offset fields sit in its payload."""

    order: str
    #: (position of the size field, position of the offset field, offset value) per entry, in the payload
    entries: tuple[tuple[int, int, int], ...]


def parse_mpf(payload: bytes) -> MpIndex | None:
    """The MP entries of an APP2 ``MPF`` payload (with its ``MPF\\0`` header), or None."""
    if not payload.startswith(MPF_HEADER):
        return None
    tiff = payload[len(MPF_HEADER) :]
    base = len(MPF_HEADER)
    try:
        order = "<" if tiff[:2] == b"II" else ">" if tiff[:2] == b"MM" else None
        if order is None:
            return None
        ifd = struct.unpack_from(order + "I", tiff, 4)[0]
        count = struct.unpack_from(order + "H", tiff, ifd)[0]
        for i in range(count):
            at = ifd + 2 + 12 * i
            tag, _kind, length, value = struct.unpack_from(order + "HHII", tiff, at)
            if tag != _ENTRY_TAG:
                continue
            entries = []
            for k in range(length // 16):
                entry = value + 16 * k
                offset = struct.unpack_from(order + "I", tiff, entry + 8)[0]
                entries.append((base + entry + 4, base + entry + 8, offset))
            return MpIndex(order, tuple(entries))
    except struct.error:
        return None
    return None


def patch_mpf(payload: bytes, index: MpIndex, primary_size: int, shift: int) -> bytes:
    """The payload with the primary's size set and every secondary image's offset moved by ``shift``."""
    out = bytearray(payload)
    for number, (size_at, offset_at, offset) in enumerate(index.entries):
        if number == 0:
            struct.pack_into(index.order + "I", out, size_at, primary_size)
        elif offset:
            struct.pack_into(index.order + "I", out, offset_at, offset + shift)
    return bytes(out)


def tail_holds_the_images(index: MpIndex, old_header: int, old_tail_start: int, file_size: int) -> bool:
    """Whether every secondary image the index names lies in the tail (so moving the tail moves them)."""
    for number, (_, _, offset) in enumerate(index.entries):
        if number == 0 or offset == 0:
            continue
        if old_header + offset < old_tail_start or old_header + offset >= file_size:
            return False
    return True
