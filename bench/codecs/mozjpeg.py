"""mozjpeg 4.0.3 as built into jpeglib (its default trellis quantization and tables)."""

from __future__ import annotations

from focuspress.bench.codecs import register
from focuspress.bench.codecs.base import Codec
from focuspress.evaluation import mozjpeg_encode


class MozJpeg(Codec):
    name = "mozjpeg"
    knobs = (10, 20, 30, 40, 50, 60, 70, 80, 85, 90, 94, 97)
    description = "mozjpeg 4.0.3 (jpeglib), defaults (4:2:0, trellis, progressive)"

    def encode(self, rgb, knob, state):
        return mozjpeg_encode(rgb, int(knob))


register(MozJpeg())
