"""What the benchmarks and the tuners both measure with: the camera-native split and its crops, the
coded image of an output, and the mozjpeg anchor. (``focuspress.bench`` and ``focuspress.training``
import this module, never each other.)

The camera-native photos (``../shared/data/camera-native``): a fixed split, and lossless crops.

Tuning sees only :data:`TRAIN` (11 files, 8 makers, 4:2:0, 4:2:2 and 4:4:4, source quality
about 83 to 99); every other file of the folder is validation, reported by the benchmark as
photos the tuning never saw. Crops are cut in the DCT domain (``jpeglib``): the camera's own
coefficients, tables and sampling, as ``jpegtran -crop`` cuts them (a test checks the two give
the same pixels), with the one EXIF tag needed to show them upright.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: The tuning split (file stems). Chosen to span makers, samplings and source qualities.
TRAIN = (
    "Apple_iPhone_4S",
    "Canon_EOS_1000D",
    "Canon_PowerShot_A610",
    "Canon_Powershot_A2500",
    "FujiFilm_FinePix_F40fd",
    "Kodak_PIXPRO_AZ521",
    "Leica_T_Typ_701",
    "Motorola_XT1068_Moto_G",
    "Nikon_D100",
    "Nikon_E5700",
    "Olympus_E-10",
)
#: Crop size of the rate-distortion sweeps (the issue's method: 1280x960 lossless crops).
CROP = (1280, 960)


def photos(folder: Path, split: str = "all") -> list[Path]:
    """The folder's JPEGs of ``split``: train, val or all (sorted)."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    if split == "train":
        return [p for p in files if p.stem in TRAIN]
    if split == "val":
        return [p for p in files if p.stem not in TRAIN]
    return files


def split_of(path: Path) -> str:
    return "train" if path.stem in TRAIN else "val"


def lossless_crop(data: bytes, size: tuple[int, int] = CROP) -> bytes:
    """The centre ``size`` (width, height, as stored) of a JPEG, cut on its MCU grid in the DCT domain.

    The camera's levels, tables and sampling are kept; the output carries only the EXIF
    Orientation of the source (so it is shown the same way up), no other metadata."""
    import jpeglib

    from focuspress.engine.io import load_image
    from focuspress.engine.io.metadata import Metadata, orientation_only_exif, with_metadata
    from focuspress.engine.jpegfile.reader import read_dct
    from focuspress.engine.jpegfile.writer import write_dct

    source = read_dct(data)
    (vy, hy) = (int(source.samp_factor[0][0]), int(source.samp_factor[0][1]))
    mcu_h, mcu_w = 8 * vy, 8 * hy
    width, height = min(size[0], source.width), min(size[1], source.height)
    width, height = width // mcu_w * mcu_w, height // mcu_h * mcu_h
    top = (source.height - height) // 2 // mcu_h * mcu_h
    left = (source.width - width) // 2 // mcu_w * mcu_w

    def cut(plane: np.ndarray, fv: int, fh: int) -> np.ndarray:
        return np.ascontiguousarray(
            plane[top // 8 // fv : (top + height) // 8 // fv, left // 8 // fh : (left + width) // 8 // fh]
        )

    planes = [cut(source.Y, 1, 1)]
    tables = np.stack([source.qt[source.quant_tbl_no[i]] for i in range(3 if source.has_chrominance else 1)])
    if source.has_chrominance:
        fv, fh = vy // int(source.samp_factor[1][0]), hy // int(source.samp_factor[1][1])
        planes += [cut(source.Cb, fv, fh), cut(source.Cr, fv, fh)]
        crop = jpeglib.from_dct(*planes, qt=tables.astype(np.uint16), quant_tbl_no=[0, 1, 2])
        crop.samp_factor = np.array(source.samp_factor)
    else:
        crop = jpeglib.from_dct(planes[0], qt=tables.astype(np.uint16))
    crop.height, crop.width = height, width
    out = write_dct(crop, progressive="never")
    orientation = load_image(data).orientation
    return with_metadata(out, Metadata(exif=orientation_only_exif(orientation)) if orientation != 1 else Metadata())


def write_crops(folder: Path, target: Path, split: str = "all") -> list[Path]:
    """Lossless crops of the folder's ``split`` into ``target`` (made if missing); their paths."""
    target.mkdir(parents=True, exist_ok=True)
    out = []
    for path in photos(folder, split):
        crop = target / path.name
        if not crop.exists():
            crop.write_bytes(lossless_crop(path.read_bytes()))
        out.append(crop)
    return out


def coded_image(data: bytes, image) -> bytes:
    """``data`` (an output) without its metadata segments (the anchors write none), but with the one
    tag a photo stored sideways needs to be shown upright (the DCT route keeps the stored pixels)."""
    from focuspress.engine.io.metadata import Metadata, orientation_only_exif, with_metadata

    keep = image.orientation != 1 and image.jpeg is not None
    return with_metadata(data, Metadata(exif=orientation_only_exif(image.orientation)) if keep else Metadata())


def source_coded_image(data: bytes) -> bytes:
    """A source's coded image: its primary JPEG without metadata segments or what follows it."""
    from focuspress.engine.io.metadata import Metadata, with_metadata
    from focuspress.engine.io.multipicture import primary_end

    return with_metadata(data[: primary_end(data) or len(data)], Metadata())


def mozjpeg_encode(rgb: np.ndarray, quality: int) -> bytes:
    """mozjpeg 4.0.3 as built into jpeglib, its defaults (4:2:0, trellis, progressive), at ``quality``.

    jpeglib writes to a path only, and its library version is process-wide state: this switches it
    to mozjpeg for the one write and back (the engine's own reads and writes use libjpeg-turbo)."""
    import os
    import tempfile

    import jpeglib

    fd, name = tempfile.mkstemp(suffix=".jpg")
    os.close(fd)
    try:
        with jpeglib.version("mozjpeg403"):
            jpeglib.from_spatial(rgb).write_spatial(name, qt=int(quality))
        with open(name, "rb") as handle:
            return handle.read()
    finally:
        os.unlink(name)
