"""The default map: objects from the class activation maps, faces on top."""

from __future__ import annotations

import numpy as np

from engine.saliency.cam import CamSaliency
from engine.saliency.faces import FaceSaliency


class CombinedSaliency:
    """max(CAM, faces): a face is never less important than the object it belongs to."""

    name = "combined"

    def __init__(self, cam: CamSaliency | None = None, faces: FaceSaliency | None = None) -> None:
        self.cam = cam or CamSaliency()
        self.faces = faces or FaceSaliency()
        self.device = self.cam.device

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        return self.predict_batch([rgb])[0]

    def predict_batch(self, images: list[np.ndarray]) -> list[np.ndarray]:
        cams = self.cam.predict_batch(images)
        return [np.maximum(cam, self.faces.predict(rgb)) for cam, rgb in zip(cams, images)]
