"""A photo's metadata (EXIF, XMP, ICC, IPTC, maker segments, what follows the image), what each
policy keeps of it, and JPEG segments.

Policies (``CompressOptions.metadata``):

* ``keep``: everything a camera file carries: EXIF (capture time, make, model, exposure, GPS,
  maker notes, thumbnail), XMP, IPTC, ICC, every other APPn segment (Olympus PictureInfo, Kodak
  Meta, FlashPix, ...), the MPF index with its secondary images (gain maps, depth) and any data
  after the image (a motion photo's video). Where the pixels stay as stored (every JPEG source),
  EXIF is copied byte for byte; where they were turned upright (other formats), its Orientation
  becomes 1 and its thumbnail is dropped, both edited in place (``exif.py``).
* ``no-location``: the same without where it was taken: the EXIF GPS directory (removed in place:
  maker notes and thumbnail untouched, also in MPF secondary images), XMP's GPS, city, state,
  country and location properties, IPTC's location datasets. APPn segments it cannot inspect and
  data after the image that is not an MPF image (a video can hold a location) are dropped.
* ``strip``: no EXIF, XMP or IPTC; the ICC profile stays (colours need it). If the source's
  pixels are stored sideways, the one EXIF tag that says how to turn them stays too.

Editing: EXIF in place (``exif.py``), XMP with ElementTree, the MPF index and trailers in
``multipicture.py``, and a small segment splicer below: no maintained library splices APPn
segments of a JPEG in memory (exiftool is a Perl program; piexif is unmaintained).
"""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

from PIL import Image

from focuspress.engine.io.exif import with_orientation, without_location, without_thumbnail
from focuspress.engine.io.jpeg import header_segments

EXIF_HEADER = b"Exif\x00\x00"
XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
XMP_EXTENSION_HEADER = b"http://ns.adobe.com/xmp/extension/\x00"
ICC_HEADER = b"ICC_PROFILE\x00"
IPTC_HEADER = b"Photoshop 3.0\x00"
ICC_CHUNK = 65519  # 65535 - 2 (length) - 14 (ICC_PROFILE\0 + sequence + count)
_ORIENTATION = 0x0112

# XMP properties that say where a photo was taken (local names; any namespace).
_XMP_LOCATION = re.compile(r"(?i)^(gps.*|.*latitude.*|.*longitude.*|.*altitude.*)$")
_XMP_PLACES = {
    "http://ns.adobe.com/photoshop/1.0/": {"City", "State", "Country"},
    "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/": {"Location", "CountryCode"},
    "http://iptc.org/std/Iptc4xmpExt/2008-02-29/": {"LocationCreated", "LocationShown"},
}
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
# IPTC-IIM datasets of record 2 that name a place: content location code/name, city,
# sub-location, province/state, country code, country name.
_IPTC_PLACES = {26, 27, 90, 92, 95, 100, 101}


@dataclass(frozen=True)
class Metadata:
    """The source's metadata as payloads (without APPn headers); ``exif`` is a TIFF structure.

    ``extra``: every other APPn segment, whole (marker and length included), in the source's
    order. ``mpf``: the APP2 MPF payload; ``tail``: the bytes after the primary image (MPF
    images, trailers); ``mpf_gap``: in the source, the distance from the MPF header to the tail.
    """

    exif: bytes | None = None
    xmp: bytes | None = None
    xmp_extended: tuple[bytes, ...] = ()
    icc: bytes | None = None
    iptc: bytes | None = None
    comment: bytes | None = None
    orientation: int = 1
    extra: tuple[bytes, ...] = ()
    mpf: bytes | None = None
    tail: bytes = b""
    mpf_gap: int = 0
    #: the output starts with a JFIF APP0 segment (a camera's Exif-only file gets none, so its EXIF
    #: sits where it did and absolute offsets tools show stay the same)
    jfif: bool = True

    def for_output(self, policy: str, *, upright: bool) -> Metadata:
        """What goes into the output under ``policy``; ``upright``: the output's pixels were turned
        upright (the EXIF then says Orientation 1 and loses its thumbnail, edited in place)."""
        if policy == "strip":
            return Metadata(icc=self.icc, jfif=self.jfif)
        exif, xmp, xmp_extended, iptc = self.exif, self.xmp, self.xmp_extended, self.iptc
        extra, mpf, tail = self.extra, self.mpf, self.tail
        drop_gps = policy == "no-location"
        if exif is not None and upright and self.orientation != 1:
            exif = with_orientation(exif, 1)
            exif = without_thumbnail(exif) if exif is not None else None
        if exif is not None and drop_gps:
            exif = without_location(exif)
        if xmp is not None and (drop_gps or upright):
            xmp = _edit_xmp(xmp, drop_location=drop_gps, upright=upright)
        if drop_gps:
            xmp_extended = ()  # an extension can hold any property; unparsed, it is not kept
            iptc = _iptc_without_places(iptc) if iptc is not None else None
            extra = ()  # segments that cannot be inspected for a location are not kept
            # images after the image (MPF entries, a maker's preview) stay, their GPS removed; anything
            # else there (a motion photo's video) can hold a location and goes
            if mpf is not None:
                tail = _images_without_location(mpf, tail, self.mpf_gap)
            if _holds_video(tail):
                tail = b""
        if upright:
            mpf, tail = None, b""  # a turned photo's secondary images would no longer match it
        orientation = 1 if upright else self.orientation
        return replace(
            self,
            exif=exif,
            xmp=xmp,
            xmp_extended=xmp_extended,
            iptc=iptc,
            extra=extra,
            mpf=mpf,
            tail=tail,
            orientation=orientation,
        )

    def segments(self) -> list[bytes]:
        """The APPn/COM segments (marker and length included), in the order viewers expect."""
        out = []
        if self.exif:
            out.append(_segment(0xE1, EXIF_HEADER + self.exif))
        if self.mpf:
            out.append(_segment(0xE2, self.mpf))
        if self.xmp:
            out.append(_segment(0xE1, XMP_HEADER + self.xmp))
        out += [_segment(0xE1, XMP_EXTENSION_HEADER + chunk) for chunk in self.xmp_extended]
        if self.icc:
            chunks = [self.icc[i : i + ICC_CHUNK] for i in range(0, len(self.icc), ICC_CHUNK)]
            out += [
                _segment(0xE2, ICC_HEADER + bytes([index, len(chunks)]) + chunk)
                for index, chunk in enumerate(chunks, start=1)
            ]
        if self.iptc:
            out.append(_segment(0xED, IPTC_HEADER + self.iptc))
        out += list(self.extra)
        if self.comment:
            out.append(_segment(0xFE, self.comment))
        return out


def read_metadata(image: Image.Image, data: bytes | None = None) -> Metadata:
    """The metadata of an opened image (JPEG segments, or PNG/WebP/TIFF/HEIF chunks via Pillow);
    with the file's ``data`` (a JPEG), also its other APPn segments, MPF index and tail."""
    metadata = _pillow_metadata(image)
    if data is not None and image.format in ("JPEG", "MPO"):
        metadata = replace(metadata, **_raw_jpeg_parts(data))
    return metadata


def _pillow_metadata(image: Image.Image) -> Metadata:
    info = image.info
    exif = info.get("exif") or None
    if exif is not None and exif.startswith(EXIF_HEADER):
        exif = exif[len(EXIF_HEADER) :]
    xmp: bytes | None = None
    extended: list[bytes] = []
    iptc: bytes | None = None
    for marker, payload in getattr(image, "applist", []):
        if marker == "APP1" and payload.startswith(XMP_HEADER):
            xmp = payload[len(XMP_HEADER) :]
        elif marker == "APP1" and payload.startswith(XMP_EXTENSION_HEADER):
            extended.append(payload[len(XMP_EXTENSION_HEADER) :])
        elif marker == "APP13" and payload.startswith(IPTC_HEADER):
            iptc = payload[len(IPTC_HEADER) :]
    if xmp is None:
        raw = info.get("xmp") or info.get("XML:com.adobe.xmp")
        xmp = raw.encode() if isinstance(raw, str) else raw or None
    comment = info.get("comment") if image.format in ("JPEG", "MPO") else None
    orientation = 1
    if exif:
        try:
            orientation = int(image.getexif().get(_ORIENTATION, 1))
        except Exception:  # a damaged EXIF block: the photo is used as stored
            orientation = 1
    return Metadata(
        exif=exif,
        xmp=xmp,
        xmp_extended=tuple(extended),
        icc=info.get("icc_profile") or None,
        iptc=iptc,
        comment=comment if isinstance(comment, bytes) and comment else None,
        orientation=orientation if 1 <= orientation <= 8 else 1,
    )


#: APPn payload headers the fields above hold (or that describe the coding: JFIF, Adobe)
_KNOWN = (EXIF_HEADER, XMP_HEADER, XMP_EXTENSION_HEADER, ICC_HEADER, IPTC_HEADER)


def _raw_jpeg_parts(data: bytes) -> dict:
    """The APPn segments no field holds, the MPF payload, the tail and the MPF-to-tail distance."""
    from focuspress.engine.io.multipicture import MPF_HEADER, parse_mpf, primary_end, tail_holds_the_images

    extra: list[bytes] = []
    mpf: bytes | None = None
    mpf_header = None
    jfif = False
    for marker, position, length in header_segments(data):
        if length < 2 or position + 2 + length > len(data):
            break  # a damaged header: what was read so far is all that is carried
        payload = data[position + 4 : position + 2 + length]
        if 0xE0 <= marker <= 0xEF:
            if marker == 0xE2 and payload.startswith(MPF_HEADER) and mpf is None:
                mpf, mpf_header = payload, position + 4 + len(MPF_HEADER)
            elif marker == 0xE0 and payload.startswith(b"JFIF\x00"):
                jfif = True  # the encoder writes its own
            elif marker == 0xEE:
                pass  # Adobe: how the source's channels were coded, not the output's
            elif not payload.startswith(_KNOWN):
                extra.append(data[position : position + 2 + length])
        elif marker in (0xDA, 0xD9):
            break
    end = primary_end(data)
    tail = data[end:] if end is not None else b""
    gap = 0
    if mpf is not None and mpf_header is not None and end is not None:
        index = parse_mpf(mpf)
        if index is None or not tail_holds_the_images(index, mpf_header, end, len(data)):
            mpf = None  # an index that does not describe this file: not carried (its tail still is)
        else:
            gap = end - mpf_header
    elif mpf is not None:
        mpf = None
    return {"extra": tuple(extra), "mpf": mpf, "tail": tail, "mpf_gap": gap, "jfif": jfif}


def _holds_video(tail: bytes) -> bool:
    """A motion photo's video after the image (an MP4/QuickTime box, or Samsung's marker before one)."""
    head = tail[:65536]
    return b"ftyp" in head or b"MotionPhoto_Data" in head


def _images_without_location(mpf: bytes, tail: bytes, gap: int) -> bytes:
    """The tail with the GPS of every MPF secondary image's EXIF removed in place (same length)."""
    from focuspress.engine.io.multipicture import parse_mpf

    index = parse_mpf(mpf)
    out = bytearray(tail)
    if index is None:
        return bytes(out)
    for number, (_, _, offset) in enumerate(index.entries):
        if number == 0 or offset == 0:
            continue
        start = offset - gap
        found = out.find(b"\xff\xe1", start, start + 64 * 1024)
        if found < 0 or out[found + 4 : found + 10] != EXIF_HEADER:
            continue
        length = struct.unpack(">H", out[found + 2 : found + 4])[0]
        block = bytes(out[found + 10 : found + 2 + length])
        cleaned = without_location(block)
        if cleaned is not None and len(cleaned) == len(block):
            out[found + 10 : found + 2 + length] = cleaned
    return bytes(out)


def orientation_only_exif(orientation: int) -> bytes:
    """An EXIF block holding nothing but Orientation (for ``strip`` where the pixels stay stored sideways)."""
    exif = Image.Exif()
    exif[_ORIENTATION] = orientation
    out = exif.tobytes()
    return out[len(EXIF_HEADER) :] if out.startswith(EXIF_HEADER) else out


def _edit_xmp(packet: bytes, *, drop_location: bool, upright: bool) -> bytes | None:
    """XMP without location properties and/or with tiff:Orientation 1; None if it cannot be parsed."""
    try:
        namespaces: dict[str, str] = {}
        for _event, (prefix, uri) in ET.iterparse(_as_stream(packet), events=("start-ns",)):
            namespaces.setdefault(prefix, uri)
        for prefix, uri in namespaces.items():
            if prefix:
                ET.register_namespace(prefix, uri)
        root = ET.fromstring(packet.strip(b"\x00"))
    except ET.ParseError:
        return None if drop_location else packet
    for element in list(root.iter()):
        for attribute in list(element.attrib):
            if _is_location(attribute, drop_location):
                del element.attrib[attribute]
            elif upright and attribute.endswith("}Orientation"):
                element.attrib[attribute] = "1"
        for child in list(element):
            if _is_location(child.tag, drop_location):
                element.remove(child)
            elif upright and child.tag.endswith("}Orientation"):
                child.text = "1"
    body = ET.tostring(root, encoding="unicode")
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>' + body + '<?xpacket end="w"?>').encode()


def _as_stream(data: bytes):
    import io

    return io.BytesIO(data.strip(b"\x00"))


def _is_location(qualified: str, enabled: bool) -> bool:
    if not enabled or not qualified.startswith("{"):
        return False
    uri, _, local = qualified[1:].partition("}")
    if uri == _RDF:
        return False
    return bool(_XMP_LOCATION.match(local)) or local in _XMP_PLACES.get(uri, ())


def _iptc_without_places(irb: bytes) -> bytes | None:
    """A Photoshop IRB with IPTC record 2 location datasets removed (None if nothing remains)."""
    out, position = bytearray(), 0
    try:
        while position + 12 <= len(irb) and irb[position : position + 4] == b"8BIM":
            resource_id = struct.unpack(">H", irb[position + 4 : position + 6])[0]
            name_length = irb[position + 6]
            name_end = position + 7 + name_length + ((name_length + 1) % 2)
            size = struct.unpack(">I", irb[name_end : name_end + 4])[0]
            data = irb[name_end + 4 : name_end + 4 + size]
            header = irb[position:name_end]
            position = name_end + 4 + size + (size % 2)
            if resource_id == 0x0404:
                data = _iim_without_places(data)
            out += header + struct.pack(">I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")
    except (struct.error, IndexError):
        return None
    return bytes(out) or None


def _iim_without_places(data: bytes) -> bytes:
    out, position = bytearray(), 0
    while position + 5 <= len(data) and data[position] == 0x1C:
        record, dataset = data[position + 1], data[position + 2]
        size = struct.unpack(">H", data[position + 3 : position + 5])[0]
        end = position + 5 + size
        if size & 0x8000:  # extended length: keep the rest as it is
            return bytes(out) + data[position:]
        if not (record == 2 and dataset in _IPTC_PLACES):
            out += data[position:end]
        position = end
    return bytes(out) + data[position:]


def _segment(marker: int, payload: bytes) -> bytes:
    if len(payload) + 2 > 0xFFFF:
        raise ValueError("segment payload too large")
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


#: Segments the splicer replaces: APP1 (EXIF/XMP), APP2 (ICC, MPF), APP3..APP13, APP15, COM.
#: APP0 (JFIF) and APP14 (Adobe: how to read the colour channels) are coding information: kept.
_REPLACED = {0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xEB, 0xEC, 0xED, 0xEF, 0xFE}


def with_metadata(jpeg: bytes, metadata: Metadata) -> bytes:
    """``jpeg`` with its metadata segments replaced by ``metadata``'s; the coded image is untouched."""
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    position, kept_head, rest_start = 2, [], None
    while position + 4 <= len(jpeg):
        if jpeg[position] != 0xFF:
            raise ValueError("damaged JPEG marker structure")
        marker = jpeg[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        length = struct.unpack(">H", jpeg[position + 2 : position + 4])[0]
        end = position + 2 + length
        if marker == 0xE0 or marker == 0xEE:
            kept_head.append(jpeg[position:end])
        elif marker not in _REPLACED:
            rest_start = position  # DQT, SOF, DHT, SOS...: the coded image from here on
            break
        position = end
    if rest_start is None:
        raise ValueError("JPEG without image data")
    jfif = [s for s in kept_head if s[1] == 0xE0] if metadata.jfif else []
    others = [s for s in kept_head if s[1] != 0xE0]
    head = b"\xff\xd8" + b"".join(jfif)
    segments = metadata.segments()
    body = b"".join(segments + others) + _primary_only(jpeg[rest_start:])
    if not metadata.tail:
        return head + body
    primary = head + body
    if metadata.mpf is not None:
        from focuspress.engine.io.multipicture import MPF_HEADER, parse_mpf, patch_mpf

        index = parse_mpf(metadata.mpf)
        at = primary.find(b"\xff\xe2" + struct.pack(">H", len(metadata.mpf) + 2) + MPF_HEADER)
        if index is not None and at >= 0:
            new_header = at + 4 + len(MPF_HEADER)
            shift = (len(primary) - new_header) - metadata.mpf_gap
            patched = patch_mpf(metadata.mpf, index, len(primary), shift)
            primary = primary[: at + 4] + patched + primary[at + 4 + len(patched) :]
    return primary + metadata.tail


def _primary_only(coded: bytes) -> bytes:
    """The coded image up to its EOI (a source's trailing data is added back by the metadata's tail)."""
    from focuspress.engine.io.multipicture import primary_end

    end = primary_end(b"\xff\xd8" + coded)
    return coded[: end - 2] if end is not None else coded
