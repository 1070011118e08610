"""focuspress's own compositors, through the engine API like every other face.

Given a JPEG source, focuspress gets the file itself (the DCT route, or the pixel route for the
``-pixel-route`` variant); otherwise the pixels. ``min_saving`` is 0 in sweeps, so every point is
the encoder's own (what the never-larger rule would substitute is measured by the lossless anchors).
The size measured is the coded image without metadata segments: the anchors write none, and a
camera's EXIF (often tens of KB, maker notes and a preview) would otherwise be counted against
focuspress alone. ``focuspress bench savings`` measures what users get, metadata included.
"""

from __future__ import annotations

from focuspress.bench.codecs import register
from focuspress.bench.codecs.base import Codec


class Focuspress(Codec):
    knobs = (10, 20, 30, 40, 50, 60, 70, 80, 85, 90, 94, 97)

    def __init__(self, name: str, compositor: str, roi_strength: float, saliency: str, route: str = "auto") -> None:
        self.name = name
        self.compositor = compositor
        self.roi_strength = roi_strength
        self.saliency = saliency
        self.route = route
        self.description = f"focuspress {compositor}, roi {roi_strength}, saliency {saliency}, route {route}"
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:
            from focuspress.engine import Engine

            self._engine = Engine(saliency=self.saliency)
        return self._engine

    def prepare(self, rgb, context):
        # The image (a JPEG source: the file) and its map, computed once per image as the daemon
        # does; every knob reuses them.
        from focuspress.engine.io import LoadedImage, load_image

        image = load_image(context.source) if context.source is not None else LoadedImage(rgb=rgb)
        return image, self.engine.maps_for([image])[0]

    def encode(self, rgb, knob, state):
        from focuspress.engine import CompressOptions

        image, importance = state
        options = CompressOptions(
            quality=float(knob),
            roi_strength=self.roi_strength,
            compositor=self.compositor,
            route=self.route,
            min_saving=0.0,
        )
        from focuspress.engine.io.metadata import Metadata, with_metadata

        return with_metadata(self.engine.compress_with_map(image, importance, options).data, Metadata())


register(Focuspress("focuspress-block", "block", 0.5, "combined"))
register(Focuspress("focuspress-block-roi0", "block", 0.0, "none"))
register(Focuspress("focuspress-block-roi085", "block", 0.85, "combined"))
register(Focuspress("focuspress-block-roi1", "block", 1.0, "combined"))
register(Focuspress("focuspress-pixel", "pixel", 0.5, "combined"))
register(Focuspress("focuspress-block-roi0-pixel-route", "block", 0.0, "none", route="pixel"))
