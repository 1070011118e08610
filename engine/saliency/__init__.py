"""Importance maps: where a viewer looks, so the compositor knows where bits matter.

Backends, each in a module of its own: ``trained`` (a salient-object decoder on
EfficientNet-Lite0 features, trained by ``focuspress train saliency``), ``cam`` (top-k class
activation maps of EfficientNet-Lite0, the original report's map), ``faces`` (MediaPipe's BlazeFace
face detector on LiteRT), ``combined`` (objects + faces, the default) and ``none`` (uniform: masking alone
steers the encoder). Models are built once per process.
"""

from __future__ import annotations

import importlib
import threading

from focuspress.engine.saliency.base import SaliencyModel

#: name -> ("module:class", the backend in a few words: the CLI's ``--saliency`` help). Imported on
#: first use, so choosing ``none`` never loads a network.
_REGISTRY: dict[str, tuple[str, str]] = {
    "combined": ("focuspress.engine.saliency.combined:CombinedSaliency", "salient objects and faces"),
    "trained": ("focuspress.engine.saliency.trained:TrainedSaliency", "salient objects"),
    "cam": ("focuspress.engine.saliency.cam:CamSaliency", "the 2019 report's class activations"),
    "faces": ("focuspress.engine.saliency.faces:FaceSaliency", "faces alone"),
    "none": ("focuspress.engine.saliency.base:UniformSaliency", "uniform: masking alone steers the encoder"),
}
SALIENCY_CHOICES: tuple[str, ...] = tuple(_REGISTRY)
SALIENCY_SUMMARIES: dict[str, str] = {name: summary for name, (_, summary) in _REGISTRY.items()}
DEFAULT_SALIENCY = "combined"
_cache: dict[str, SaliencyModel] = {}
_lock = threading.Lock()


def load_saliency(name: str = DEFAULT_SALIENCY) -> SaliencyModel:
    """The shared instance of the named model (loaded on first use, then reused)."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown saliency model {name!r}; choose one of {', '.join(SALIENCY_CHOICES)}")
    with _lock:
        model = _cache.get(name)
    if model is None:
        module, _, attribute = _REGISTRY[name][0].partition(":")
        model = getattr(importlib.import_module(module), attribute)()  # outside the lock: "combined" loads parts
        with _lock:
            model = _cache.setdefault(name, model)
    return model


def model_device(model: SaliencyModel) -> str:
    """'gpu' or 'cpu': where the model's network runs (a model without one runs on the CPU)."""
    return str(getattr(model, "device", "cpu"))


__all__ = [
    "DEFAULT_SALIENCY",
    "SALIENCY_CHOICES",
    "SALIENCY_SUMMARIES",
    "SaliencyModel",
    "load_saliency",
    "model_device",
]
