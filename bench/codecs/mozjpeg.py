"""mozjpeg 4.0.3 as built into jpeglib (its default trellis quantization and tables)."""

from __future__ import annotations

import os
import tempfile

import jpeglib

from focuspress.bench.codecs import register
from focuspress.bench.codecs.base import Codec


class MozJpeg(Codec):
    name = "mozjpeg"
    knobs = (10, 20, 30, 40, 50, 60, 70, 80, 85, 90, 94, 97)
    description = "mozjpeg 4.0.3 (jpeglib), defaults (4:2:0, trellis, progressive)"

    def encode(self, rgb, knob, state):
        fd, name = tempfile.mkstemp(suffix=".jpg")
        os.close(fd)
        try:
            with jpeglib.version("mozjpeg403"):
                jpeglib.from_spatial(rgb).write_spatial(name, qt=int(knob))
            with open(name, "rb") as handle:
                return handle.read()
        finally:
            os.unlink(name)


register(MozJpeg())
