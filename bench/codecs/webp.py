"""WebP (libwebp through Pillow), method 6."""

from __future__ import annotations

import io

from PIL import Image

from focuspress.bench.codecs import register
from focuspress.bench.codecs.base import Codec


class WebP(Codec):
    name = "webp"
    knobs = (5, 15, 25, 35, 45, 55, 65, 75, 85, 92, 97)
    description = "WebP (Pillow/libwebp), method 6"

    def encode(self, rgb, knob, state):
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, "WEBP", quality=int(knob), method=6)
        return buffer.getvalue()


register(WebP())
