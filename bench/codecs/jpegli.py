"""Google's jpegli through pyjpegli (its defaults)."""

from __future__ import annotations

import numpy as np

from focuspress.bench.codecs import register
from focuspress.bench.codecs.base import Codec


class Jpegli(Codec):
    name = "jpegli"
    knobs = (10, 20, 30, 40, 50, 60, 70, 80, 85, 90, 94, 97)
    description = "jpegli (pyjpegli), defaults"

    def encode(self, rgb, knob, state):
        import pyjpegli

        data = np.ascontiguousarray(rgb).tobytes()
        return pyjpegli.encode(data, rgb.shape[1], rgb.shape[0], quality=int(knob))


register(Jpegli())
