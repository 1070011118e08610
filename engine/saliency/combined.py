"""The default map: salient objects (the trained decoder, else class activation maps), faces on top."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from focuspress.engine.saliency.base import SaliencyModel


class CombinedSaliency:
    """max(objects, faces): a face is never less important than the object it belongs to.

    The object term is the trained salient-object decoder when its weights ship (they do),
    else the top-5 class activation maps.
    """

    name = "combined"

    def __init__(self, objects: SaliencyModel | None = None, faces: SaliencyModel | None = None) -> None:
        if objects is None:
            from focuspress.engine.saliency.trained import HEAD_WEIGHTS

            if HEAD_WEIGHTS.exists():
                from focuspress.engine.saliency import load_saliency

                objects = load_saliency("trained")
            else:
                from focuspress.engine.saliency import load_saliency

                objects = load_saliency("cam")
        self.objects: SaliencyModel = objects
        if faces is None:
            from focuspress.engine.saliency import load_saliency

            faces = load_saliency("faces")  # the shared detector: loaded once per process
        self.faces: SaliencyModel = faces
        self.device = getattr(self.objects, "device", "cpu")
        # The face detector and the object network both release the GIL in their native calls:
        # running the faces beside the network hides their few milliseconds on a multi-core machine.
        self._side = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faces")

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        return self.predict_batch([rgb])[0]

    def predict_batch(self, images: list[np.ndarray]) -> list[np.ndarray]:
        faces = self._side.submit(self.faces.predict_batch, images)
        maps = self.objects.predict_batch(images)
        return [np.maximum(m, f) for m, f in zip(maps, faces.result())]
