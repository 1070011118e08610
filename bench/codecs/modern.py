"""AVIF (libaom) and JPEG XL through imagecodecs."""

from __future__ import annotations

from focuspress.bench.codecs import register
from focuspress.bench.codecs.base import Codec


class Avif(Codec):
    knobs = (10, 20, 30, 40, 50, 60, 70, 80, 88, 94)

    def __init__(self, subsampling: str) -> None:
        self.subsampling = subsampling
        self.name = f"avif-{subsampling}"
        self.description = f"AVIF (imagecodecs, libaom), speed 6, {subsampling}"

    def encode(self, rgb, knob, state):
        import imagecodecs

        pixelformat = (
            imagecodecs.AVIF.PIXEL_FORMAT.YUV444 if self.subsampling == "444" else imagecodecs.AVIF.PIXEL_FORMAT.YUV420
        )
        return imagecodecs.avif_encode(rgb, level=int(knob), speed=6, pixelformat=pixelformat, codec="aom")

    def decode(self, data):
        import imagecodecs

        return imagecodecs.avif_decode(data)[..., :3]


class JpegXl(Codec):
    name = "jxl"
    knobs = (10, 20, 30, 40, 50, 60, 70, 80, 88, 94)
    description = "JPEG XL (imagecodecs, libjxl), effort 7"

    def encode(self, rgb, knob, state):
        import imagecodecs

        return imagecodecs.jpegxl_encode(rgb, level=int(knob), effort=7)

    def decode(self, data):
        import imagecodecs

        return imagecodecs.jpegxl_decode(data)[..., :3]


register(Avif("444"))
register(Avif("420"))
register(JpegXl())
