"""A JPEG file's quantized levels, tables and sampling, read without decoding to pixels.

:func:`read_dct` is how the DCT route (``compositor/block/transcode.py``) and the bench read a
source's coefficients: TurboJPEG's transform for snapshots (``turbojpeg.read_levels``), else
jpeglib's coefficient read of a header described by Pillow's parse (``libjpeg.py``: which libjpeg
build). :func:`huffman_coded` gives the loader (``io/load.py``) an arithmetic-coded JPEG as its
Huffman-coded twin.
"""

from __future__ import annotations

import jpeglib
import numpy as np
from jpeglib import Colorspace

from focuspress.engine.jpegfile import turbojpeg
from focuspress.engine.jpegfile.libjpeg import read_with_jpeglib, write_with_jpeglib


def huffman_coded(data: bytes) -> bytes:
    """An arithmetic-coded JPEG (T.81's other entropy coder, SOF9-SOF15) as the same frame, tables,
    markers and levels Huffman-coded: a lossless copy that every decoder reads. Pillow feeds
    libjpeg-turbo a file 64 KB at a time, and libjpeg's arithmetic decoder cannot wait for more
    input ("broken data stream" past the first 64 KB); many viewers have no arithmetic decoder at
    all. jpeglib's libjpeg (``libjpeg.LIBJPEG``) reads the whole file, so the engine reads such a
    photo's pixels and levels from this copy (the same pixels as its Huffman-coded twin, and the
    same output: ``tests/test_io.py``). jpeglib's whole route, markers and all: the copy's EXIF is
    what turns its pixels upright."""
    return write_with_jpeglib(read_with_jpeglib(data))


def read_dct(data: bytes) -> jpeglib.DCTJPEG:
    """A JPEG's coefficients, tables and sampling (jpeglib reads from a path: a private temp file).

    jpeglib's own ``read_dct`` first runs an information pass that decodes every scan (to count
    them) and copies the markers out: a third of the read's time on a camera photo (50-85 ms of
    8-10 MP here), for nothing the engine uses. Where the header is the ordinary kind
    (:func:`_coefficient_image`) the coefficient image is described from the header instead and
    jpeglib's coefficient read fills it; any other file takes jpeglib's whole route.

    Photos up to :data:`TURBO_READ_PIXELS` have their levels read by TurboJPEG's transform instead
    (``turbojpeg.read_levels``: no file, no output coded), where it is installed and reads the
    file without a warning; a damaged file falls through to jpeglib, whose libjpeg reports what it
    worked around."""
    jpeg = _coefficient_image(data)
    if jpeg is not None:
        if jpeg.height * jpeg.width > TURBO_READ_PIXELS or not _read_with_turbojpeg(jpeg, data):
            jpeg.load()  # jpeglib writes the content to its own temporary file and reads the levels
        return jpeg
    return read_with_jpeglib(data)


#: the most pixels whose levels :func:`read_dct` reads through TurboJPEG. It is faster at every size
#: (camera-native's 22 photos cropped to 640x480, 1920x1080 and 2560x1440: 3.1, 17.9 and 33.9 ms a
#: photo against jpeglib's 4.3, 25.3 and 45.0; ten whole 8-12 MP photos 75-94 against 90-104), but
#: it holds libjpeg's coefficient arrays beside the copies it fills: on those ten photos the daemon
#: (`bench daemon --count 40`, two workers) peaked at 1,463 MB with it against 1,249 MB without,
#: for 3.08 against 2.76 photos/s. Snapshots, where the copies are small, take it.
TURBO_READ_PIXELS = 4_000_000


def _read_with_turbojpeg(jpeg: jpeglib.DCTJPEG, data: bytes) -> bool:
    """Fill ``jpeg`` (described from its header, tables included) with its levels read by TurboJPEG;
    False, and ``jpeg`` untouched, where TurboJPEG is absent or does not read it cleanly."""
    try:
        planes = turbojpeg.read_levels(data, [(int(rows), int(cols)) for rows, cols in jpeg.block_dims])
    except RuntimeError:
        return False
    jpeg.Y = planes[0]
    if len(planes) == 3:
        jpeg.Cb, jpeg.Cr = planes[1], planes[2]
    return True


#: component ids that make libjpeg read a 3-component file without JFIF or Adobe markers as RGB
_RGB_IDS = (82, 71, 66)


def _coefficient_image(data: bytes) -> jpeglib.DCTJPEG | None:
    """``data``'s coefficient image, unread, described from its frame header (Pillow's parse, no
    entropy data decoded), or None where the header is not the ordinary kind: 8-bit, one component
    or three that libjpeg takes for YCbCr (JFIF; Adobe's transform 1; neither marker and ids other
    than R, G, B). The sizes in blocks are libjpeg's (``jdinput.c``: each component's
    ceil(width x h / (8 x max h)), likewise down), so jpeglib's read fills arrays of exactly the
    size libjpeg walks; the tables are the header's (Pillow's, in natural order) in libjpeg's slots.
    The tests compare every field with jpeglib's own information pass and read."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            layers = list(getattr(image, "layer", None) or [])
            width, height = image.size
            bits = getattr(image, "bits", 8)
            info = dict(image.info)
            quantization = dict(getattr(image, "quantization", None) or {})
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return None
    if bits != 8 or len(layers) not in (1, 3) or width < 1 or height < 1:
        return None
    if len(layers) == 3:
        adobe = "adobe" in info and "jfif" not in info
        ids = tuple(layer[0] for layer in layers)
        if (adobe and info.get("adobe_transform") != 1) or (not adobe and "jfif" not in info and ids == _RGB_IDS):
            return None
    factors = [(int(layer[2]), int(layer[1])) for layer in layers]  # (v, h), jpeglib's order
    if any(not 1 <= f <= 4 for pair in factors for f in pair):
        return None
    table_of = [int(layer[3]) for layer in layers]
    if any(len(quantization.get(index, ())) != 64 for index in table_of):
        return None
    # libjpeg's table slots up to the last one used, in natural order (Pillow's), as jpeglib reads them
    tables = np.zeros((max(table_of) + 1, 8, 8), dtype=np.uint16)
    for index in set(table_of):
        tables[index] = np.asarray(quantization[index], dtype=np.uint16).reshape(8, 8)
    v_max, h_max = max(v for v, _ in factors), max(h for _, h in factors)
    blocks = [(-(-height * v // (8 * v_max)), -(-width * h // (8 * h_max))) for v, h in factors]
    space = "JCS_YCbCr" if len(layers) == 3 else "JCS_GRAYSCALE"
    return jpeglib.DCTJPEG(
        path="<memory>",
        content=data,
        height=height,
        width=width,
        block_dims=np.array(blocks, dtype=np.int32),
        samp_factor=np.array(factors, dtype=np.int32),
        markers=[],
        huffmans=[],
        jpeg_color_space=Colorspace[space],
        progressive_mode=bool(info.get("progressive") or info.get("progression")),
        num_scans=1,
        Y=None,
        Cb=None,
        Cr=None,
        K=None,
        qt=tables,
        quant_tbl_no=np.array(table_of, dtype=np.int64),
    )
