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
from focuspress.engine.saliency import DEFAULT_SALIENCY
from focuspress.evaluation import coded_image


class Focuspress(Codec):
    knobs = (10, 20, 30, 40, 50, 60, 70, 80, 85, 90, 94, 97)

    def __init__(
        self,
        name: str,
        compositor: str,
        roi_strength: float | None,
        saliency: str,
        route: str = "auto",
        metadata: bool = False,
    ) -> None:
        self.name = name
        self.compositor = compositor
        self.roi_strength = roi_strength
        self.saliency = saliency
        self.route = route
        #: the file as the CLI writes it (the source's EXIF, maker notes and thumbnail kept) instead of the coded image
        self.metadata = metadata
        roi = "auto" if roi_strength is None else roi_strength
        self.description = f"focuspress {compositor}, roi {roi}, saliency {saliency}, route {route}" + (
            ", metadata kept" if metadata else ""
        )
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
        from focuspress.engine.pipeline import encode

        data = encode(image, importance, options).data
        return data if self.metadata else coded_image(data, image)


register(Focuspress("focuspress-block", "block", None, DEFAULT_SALIENCY))
register(Focuspress("focuspress-block-roi0", "block", 0.0, "none"))
register(Focuspress("focuspress-block-with-metadata", "block", None, DEFAULT_SALIENCY, metadata=True))
register(Focuspress("focuspress-block-roi085", "block", 0.85, DEFAULT_SALIENCY))
register(Focuspress("focuspress-block-roi1", "block", 1.0, DEFAULT_SALIENCY))
register(Focuspress("focuspress-pixel", "pixel", None, DEFAULT_SALIENCY))
register(Focuspress("focuspress-block-roi0-pixel-route", "block", 0.0, "none", route="pixel"))
