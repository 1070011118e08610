"""Importance maps: where a viewer looks, so the compositor knows where bits matter.

Backends, each in a module of its own: ``trained`` (a salient-object decoder on
EfficientNet-Lite0 features, trained by ``focuspress train saliency``), ``cam`` (top-k class
activation maps of EfficientNet-Lite0, the original report's map), ``faces`` (OpenCV's face
detector), ``combined`` (objects + faces, the default) and ``none`` (uniform: masking alone
steers the encoder). Models are built once per process.
"""

from __future__ import annotations

import threading

from focuspress.engine.saliency.base import SaliencyModel, UniformSaliency

SALIENCY_CHOICES = ("combined", "trained", "cam", "faces", "none")
DEFAULT_SALIENCY = "combined"
_cache: dict[str, SaliencyModel] = {}
_lock = threading.Lock()


def load_saliency(name: str = DEFAULT_SALIENCY) -> SaliencyModel:
    """The shared instance of the named model (loaded on first use, then reused)."""
    if name not in SALIENCY_CHOICES:
        raise ValueError(f"unknown saliency model {name!r}; choose one of {', '.join(SALIENCY_CHOICES)}")
    with _lock:
        model = _cache.get(name)
    if model is None:
        model = _build(name)  # outside the lock: "combined" loads its parts through here
        with _lock:
            model = _cache.setdefault(name, model)
    return model


def _build(name: str) -> SaliencyModel:
    if name == "none":
        return UniformSaliency()
    if name == "faces":
        from focuspress.engine.saliency.faces import FaceSaliency

        return FaceSaliency()
    if name == "cam":
        from focuspress.engine.saliency.cam import CamSaliency

        return CamSaliency()
    if name == "trained":
        from focuspress.engine.saliency.trained import TrainedSaliency

        return TrainedSaliency()
    from focuspress.engine.saliency.combined import CombinedSaliency

    return CombinedSaliency()


def model_device(model: SaliencyModel) -> str:
    """'gpu' or 'cpu': where the model's network runs (a model without one runs on the CPU)."""
    return str(getattr(model, "device", "cpu"))


__all__ = ["DEFAULT_SALIENCY", "SALIENCY_CHOICES", "SaliencyModel", "load_saliency", "model_device"]
