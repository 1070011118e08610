"""focuspress's own compositors, through the engine API like every other face."""

from __future__ import annotations

from focuspress.bench.codecs import register
from focuspress.bench.codecs.base import Codec


class Focuspress(Codec):
    knobs = (10, 20, 30, 40, 50, 60, 70, 80, 85, 90, 94, 97)

    def __init__(self, name: str, compositor: str, roi_strength: float, saliency: str) -> None:
        self.name = name
        self.compositor = compositor
        self.roi_strength = roi_strength
        self.saliency = saliency
        self.description = f"focuspress {compositor}, roi {roi_strength}, saliency {saliency}"
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            from focuspress.engine import Engine

            self._engine = Engine(saliency=self.saliency)
        return self._engine

    def prepare(self, rgb, context):
        # The map is computed once per image, like the daemon does, then every knob reuses it.
        return self.engine.importance_maps([rgb])[0]

    def encode(self, rgb, knob, state):
        from focuspress.engine import CompressOptions
        from focuspress.engine.io import LoadedImage

        options = CompressOptions(quality=float(knob), roi_strength=self.roi_strength, compositor=self.compositor)
        return self.engine.compress_with_map(LoadedImage(rgb=rgb), state, options).data


register(Focuspress("focuspress-block", "block", 0.5, "combined"))
register(Focuspress("focuspress-block-roi0", "block", 0.0, "none"))
register(Focuspress("focuspress-block-roi085", "block", 0.85, "combined"))
register(Focuspress("focuspress-block-roi1", "block", 1.0, "combined"))
register(Focuspress("focuspress-pixel", "pixel", 0.5, "combined"))
