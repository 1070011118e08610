"""The robustness corpus: every kind of bad or odd file a camera folder receives, made on the fly.

Each case names its documented outcome (docs/robustness.md): ``ok`` (compressed, with what the
output must show), ``refused`` (one-line reason on the CLI, quarantine with that reason in the
daemon) or ``ignored`` (never taken: not a regular file).
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

from tests.conftest import encode, synthetic_photo


@dataclass(frozen=True)
class Case:
    name: str  # the file's name in the corpus
    outcome: str  # ok | refused | ignored
    reason: str  # for refused: a phrase the one-line message contains; for ok: what to check
    make: Callable[[Path], None]
    label: str = ""  # the daemon's quarantine metric label for refused cases
    doc: str = ""  # how docs/robustness.md names it (default: the name as logs show it)

    @property
    def shown(self) -> str:
        from focuspress.engine.io.names import display_name

        return self.doc or display_name(self.name)


def _photo(h: int = 96, w: int = 128, seed: int = 3) -> np.ndarray:
    return synthetic_photo(h, w, seed)


def _write(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid PNG header claiming 10 gigapixels, with a few bytes of data: the classic bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def _cmyk(path: Path) -> None:
    Image.fromarray(_photo()).convert("CMYK").save(path, "JPEG", quality=90)


def _deep16(path: Path) -> None:
    grey = (np.linspace(0, 65535, 96 * 128).reshape(96, 128)).astype(np.uint16)
    Image.fromarray(grey).save(path, "PNG")


def _float_grey(path: Path) -> None:
    grey = np.asarray(Image.fromarray(_photo()).convert("L"), dtype=np.float32) / 255.0
    Image.fromarray(grey).save(path, "TIFF")  # 32-bit float, 0..1 as raw developers write it


def float_rgb_tiff(height: int, width: int) -> bytes:
    """A 32-bit float RGB TIFF (as raw developers export), which Pillow does not read."""
    pixels = np.linspace(0.0, 1.0, height * width * 3, dtype="<f4").tobytes()
    tags = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 3, 158), (259, 3, 1, 1), (262, 3, 1, 2)]
    tags += [(273, 4, 1, 170), (277, 3, 1, 3), (278, 4, 1, height), (279, 4, 1, len(pixels)), (339, 3, 3, 164)]
    ifd = struct.pack("<H", len(tags)) + b"".join(struct.pack("<HHII", *tag) for tag in tags) + b"\0" * 4
    head = b"II*\0" + struct.pack("<I", 8) + ifd  # 8 + 2 + 120 + 4 = 134 bytes
    head += b"\0" * (158 - len(head)) + struct.pack("<3H", 32, 32, 32) + struct.pack("<3H", 3, 3, 3)
    return head + b"\0" * (170 - len(head)) + pixels


def damaged_exif_jpeg(height: int, width: int) -> bytes:
    """A JPEG whose EXIF Orientation tag claims more data than its block holds (Pillow warns and
    skips it)."""
    tiff = b"II*\x00" + struct.pack("<IH", 8, 1) + struct.pack("<HHII", 274, 3, 1000, 26) + b"\0" * 4
    app1 = b"Exif\0\0" + tiff
    plain = encode(_photo(height, width), "JPEG", quality=92)
    return plain[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + plain[2:]


def _palette(path: Path) -> None:
    image = Image.fromarray(_photo()).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    image.info["transparency"] = 0
    image.save(path, "PNG", transparency=0)


def _grey_alpha(path: Path) -> None:
    grey = Image.fromarray(_photo()).convert("L")
    alpha = Image.fromarray(np.tile(np.linspace(0, 255, 128).astype(np.uint8), (96, 1)))
    Image.merge("LA", (grey, alpha)).save(path, "PNG")


def _animated(fmt: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        frames = [Image.fromarray(_photo(seed=s)) for s in range(3)]
        frames[0].save(path, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)

    return make


def _rotated(path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW to view
    Image.fromarray(_photo(96, 128)).save(path, "JPEG", quality=92, exif=exif.tobytes())


def _icc(path: Path) -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    Image.fromarray(_photo()).save(path, "JPEG", quality=92, icc_profile=profile)


def _unreadable(path: Path) -> None:
    path.write_bytes(encode(_photo()))
    path.chmod(0)


def _symlink_loop(path: Path) -> None:
    os.symlink(path.name, path)  # points at itself


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))


def _outside(path: Path) -> Path:
    """A photo outside the corpus folder (beside it), for links that point out of the inbox."""
    target = path.parent.parent / f"outside-{path.parent.name}.png"
    if not target.exists():
        target.write_bytes(encode(_photo(seed=11)))
    return target


def _symlink_out(path: Path) -> None:
    os.symlink(_outside(path), path)


def _symlink_in(path: Path) -> None:
    os.symlink("png-named.jpg", path)  # another photo in the same folder


def _hard_link(path: Path) -> None:
    os.link(_outside(path), path)


def _truncated(fmt: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        data = encode(_photo(160, 200), fmt, **({"quality": 90} if fmt == "JPEG" else {}))
        path.write_bytes(data[: len(data) // 2])

    return make


def arithmetic_jpeg(huffman: bytes) -> bytes:
    """``huffman`` (a JPEG) with the same levels and markers arithmetic-coded (SOF9): jpeglib's
    libjpeg writes it (the engine's build: its default, 6b, has no arithmetic coder)."""
    import tempfile

    import jpeglib

    from focuspress.engine.jpegfile.libjpeg import LIBJPEG

    with tempfile.TemporaryDirectory() as folder, jpeglib.version(LIBJPEG):
        source, coded = Path(folder) / "huffman.jpg", Path(folder) / "arithmetic.jpg"
        source.write_bytes(huffman)
        jpeg = jpeglib.read_dct(str(source))
        jpeg.load()
        jpeg.write_dct(str(coded), flags=["+ARITH_CODE"])
        return coded.read_bytes()


def _arithmetic(cut: bool) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        # (over 64 KB coded: Pillow decoded smaller ones itself, and refused this as a broken stream)
        data = arithmetic_jpeg(encode(_photo(480, 640, seed=11), "JPEG", quality=95))
        path.write_bytes(data[: len(data) // 2] if cut else data)

    return make


CASES: list[Case] = [
    Case("empty.jpg", "refused", "empty file", _write(b""), "empty"),
    Case("truncated-png.png", "refused", "cannot decode image", _truncated("PNG"), "truncated"),
    Case("truncated-jpeg.jpg", "refused", "cannot decode image", _truncated("JPEG"), "truncated"),
    Case("png-named.jpg", "ok", "decoded by content, not by name", _write(encode(_photo()))),
    Case("arithmetic.jpg", "ok", "read through a Huffman-coded copy", _arithmetic(cut=False)),
    Case(
        "truncated-arithmetic.jpg", "refused", "an arithmetic-coded JPEG cut short", _arithmetic(cut=True), "truncated"
    ),
    Case("text.jpg", "refused", "not a PNG, JPEG", _write(b"Hello, this is a text file.\n" * 20), "not_an_image"),
    Case("bomb.png", "refused", "decompression-bomb guard", _write(bomb_png()), "too_large"),
    Case("cmyk.jpg", "ok", "converted to RGB", _cmyk),
    Case("deep16.png", "ok", "16-bit reduced to 8 bits", _deep16),
    Case("float-grey.tif", "ok", "0..1 read as black..white", _float_grey),
    Case(
        "float-colour.tif",
        "refused",
        "a TIFF of a kind this decoder does not read",
        _write(float_rgb_tiff(6, 5)),
        "undecodable",
    ),
    Case("palette-transparent.png", "ok", "transparency flattened onto white", _palette),
    Case("grey-alpha.png", "ok", "alpha flattened onto white", _grey_alpha),
    Case("animated-gif.gif", "ok", "first frame", _animated("GIF")),
    Case("animated-webp.webp", "ok", "first frame", _animated("WEBP")),
    Case("exif-rotated.jpg", "ok", "stored upright (128 high, 96 wide)", _rotated),
    Case("icc-profile.jpg", "ok", "ICC profile carried into the output", _icc),
    Case("unreadable.jpg", "refused", "permission denied", _unreadable, "permission"),
    Case("symlink-loop.jpg", "ignored", "not a regular file", _symlink_loop),
    # Names: anything but "/" and NUL, up to 255 bytes. Stored as bytes, shown escaped.
    Case("cam\udce9ra.png", "ok", "a Latin-1 byte that is not UTF-8", _write(encode(_photo(seed=5)))),
    Case("a" * 246 + ".png", "ok", "a 250-byte name", _write(encode(_photo(seed=6))), doc="aaa…aaa.png (250 bytes)"),
    Case("line\nbreak\x1b[31m.png", "ok", "a newline and a terminal escape", _write(encode(_photo(seed=7)))),
    Case("-rf --no-preserve-root.png", "ok", "looks like options", _write(encode(_photo(seed=8)))),
    Case("evil\u202egnp.png", "ok", "a right-to-left override", _write(encode(_photo(seed=9)))),
    Case("hard-link.png", "ok", "a hard link to a photo elsewhere: a regular file", _hard_link),
    Case("bad\udce9.jpg", "refused", "not a PNG, JPEG", _write(b"not an image\n" * 10), "not_an_image"),
    Case(
        "b" * 246 + ".jpg",
        "refused",
        "not a PNG, JPEG",
        _write(b"not an image\n" * 10),
        "not_an_image",
        doc="bbb…bbb.jpg (250 bytes)",
    ),
    # Files that are not regular files: never taken, left where they are.
    Case("fifo.jpg", "ignored", "a FIFO", _fifo),
    Case("socket.jpg", "ignored", "a socket", _socket),
    Case("symlink-out.png", "ignored", "a symlink to a photo outside the folder", _symlink_out),
    Case("symlink-in.png", "ignored", "a symlink to a photo inside the folder", _symlink_in),
]


def build(folder: Path, cases: list[Case] = CASES) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for case in cases:
        path = folder / case.name
        case.make(path)
        paths[case.name] = path
    return paths


def as_unprivileged(command: list[str]) -> list[str]:
    """Run ``command`` without root's power to read any file, so chmod 000 means unreadable.

    As root (containers, CI), drop CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH from the bounding set
    with util-linux's ``setpriv``; as a normal user nothing needs dropping.
    """
    if os.geteuid() != 0:
        return command
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *command]


def jpeg_facts(path: Path) -> dict:
    with Image.open(path) as image:
        image.load()
        return {"size": image.size, "mode": image.mode, "icc": image.info.get("icc_profile"), "format": image.format}


def decode_bytes(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))
