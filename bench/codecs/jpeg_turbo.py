"""libjpeg-turbo through Pillow: optimized Huffman, 4:2:0 (the anchor)."""

from __future__ import annotations

import io

from PIL import Image

from focuspress.bench.codecs import register
from focuspress.bench.codecs.base import Codec


class JpegTurbo(Codec):
    name = "jpeg-turbo"
    knobs = (10, 20, 30, 40, 50, 60, 70, 80, 85, 90, 94, 97)
    description = "libjpeg-turbo (Pillow), optimize=True, 4:2:0"

    def encode(self, rgb, knob, state):
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, "JPEG", quality=int(knob), optimize=True, subsampling=2)
        return buffer.getvalue()


register(JpegTurbo())
