"""Camera-like JPEGs made on the fly: what phones and cameras drop, with the metadata they write.

``../shared/data/camera`` has real photos but no EXIF (the site removed it), so the tests
build the metadata: capture time, make, model, exposure, GPS, orientation, an XMP packet with
GPS and a city, an IPTC block with a city, and (via exiftool) an embedded thumbnail.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image

from focuspress.engine.io.metadata import Metadata, with_metadata

EXIFTOOL = shutil.which("exiftool")

XMP = b"""<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/"
 xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/"
 exif:GPSLatitude="52,31.2N" exif:GPSLongitude="13,24.0E" photoshop:City="Berlin">
<dc:creator><rdf:Seq><rdf:li>Ada Lovelace</rdf:li></rdf:Seq></dc:creator>
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""


def _iim(dataset: int, value: bytes) -> bytes:
    return bytes([0x1C, 2, dataset]) + struct.pack(">H", len(value)) + value


def iptc_block() -> bytes:
    """A Photoshop IRB with IPTC: a caption (kept by no-location) and a city (removed)."""
    iim = _iim(120, b"Gate 3, morning") + _iim(90, b"Berlin") + _iim(101, b"Germany")
    return b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iim)) + iim


def exif_block(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "EOS R6"
    exif[0x0112] = orientation
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2024:05:01 10:20:30"  # DateTimeOriginal
    sub[0x829A] = (1, 250)  # ExposureTime
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (52.0, 31.0, 12.0), "E", (13.0, 24.0, 0.0)
    return exif.tobytes()[6:]  # without the "Exif\0\0" header


def camera_jpeg(
    rgb: np.ndarray,
    *,
    quality: int = 92,
    subsampling: int = 2,
    progressive: bool = False,
    orientation: int = 1,
    icc: bytes | None = None,
) -> bytes:
    """``rgb`` (as stored) saved by libjpeg-turbo with a camera's metadata."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality, subsampling=subsampling, progressive=progressive)
    metadata = Metadata(exif=exif_block(orientation), xmp=XMP, iptc=iptc_block(), icc=icc, orientation=orientation)
    return with_metadata(buffer.getvalue(), metadata)


def add_thumbnail(path: Path) -> None:
    """Embed a 64x48 EXIF thumbnail (IFD1) with exiftool, as cameras do."""
    thumb = path.with_suffix(".thumb.jpg")
    Image.new("RGB", (64, 48), (200, 30, 30)).save(thumb, "JPEG")
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", f"-ThumbnailImage<={thumb}", str(path)], check=True)
    thumb.unlink()


def exiftool(path: Path) -> dict:
    """Every tag exiftool reads, grouped (``-G1``), as one dict (``{"IFD0:Make": "Canon", ...}``)."""
    import json

    proc = subprocess.run([EXIFTOOL, "-j", "-G1", "-a", "-n", str(path)], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)[0]
