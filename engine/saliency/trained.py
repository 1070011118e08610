"""The trained salient-object map: a small decoder on EfficientNet-Lite0's feature pyramid.

The backbone stays as ImageNet made it (frozen); the decoder (about 60 k weights) was trained by
``focuspress train saliency`` on ECSSD's training split to predict salient-object masks.
See ``weights/saliency_head.md`` for data, steps and validation figures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from focuspress.engine.saliency.tf_runtime import tensorflow

HEAD_WEIGHTS = Path(__file__).with_name("weights") / "saliency_head.npz"
HEAD_CHANNELS = 32


def build_head():
    """Decoder: 1x1 projections of the three scales, upsampled and summed, two 3x3 convs, sigmoid."""
    keras = tensorflow().keras
    layers = keras.layers
    s8 = keras.Input((None, None, 40), name="s8")
    s16 = keras.Input((None, None, 112), name="s16")
    s32 = keras.Input((None, None, 320), name="s32")
    p8 = layers.Conv2D(HEAD_CHANNELS, 1, name="proj8")(s8)
    p16 = layers.UpSampling2D(2, interpolation="bilinear")(layers.Conv2D(HEAD_CHANNELS, 1, name="proj16")(s16))
    p32 = layers.UpSampling2D(4, interpolation="bilinear")(layers.Conv2D(HEAD_CHANNELS, 1, name="proj32")(s32))
    x = layers.Add()([p8, p16, p32])
    x = layers.Conv2D(HEAD_CHANNELS, 3, padding="same", activation="relu", name="fuse1")(x)
    x = layers.Conv2D(HEAD_CHANNELS, 3, padding="same", activation="relu", name="fuse2")(x)
    logits = layers.Conv2D(1, 1, name="logits")(x)
    return keras.Model([s8, s16, s32], logits, name="saliency_head")


def save_head(head, path: Path) -> None:
    arrays = {f"{layer.name}/{i}": w for layer in head.layers for i, w in enumerate(layer.get_weights())}
    np.savez_compressed(path, **arrays)


def load_head(head, path: Path = HEAD_WEIGHTS) -> None:
    with np.load(path) as data:
        stored = {key: data[key] for key in data.files}
    for layer in head.layers:
        names = sorted(key for key in stored if key.split("/")[0] == layer.name)
        if names:
            layer.set_weights([stored[f"{layer.name}/{i}"] for i in range(len(names))])


class TrainedSaliency:
    """Salient-object probability per pixel from the trained decoder on the backbone's features.

    The network runs at one working size (:mod:`focuspress.engine.saliency.network`), on LiteRT
    on a CPU and on TensorFlow where a GPU is; a batch of photos of any sizes is one call.
    """

    name = "trained"

    def __init__(self, runtime: str | None = None) -> None:
        from focuspress.engine.saliency.network import load_network

        if not HEAD_WEIGHTS.exists():
            raise FileNotFoundError(f"{HEAD_WEIGHTS}: no trained saliency head (run 'focuspress train saliency')")
        self._network = load_network(runtime)
        self.device = self._network.device

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        return self.predict_batch([rgb])[0]

    def predict_batch(self, images: list[np.ndarray]) -> list[np.ndarray]:
        from focuspress.engine.saliency.network import back_to_photo, working_batch

        if not images:
            return []
        batch, sizes = working_batch(images)
        return [back_to_photo(probabilities, size) for probabilities, size in zip(self._network(batch), sizes)]
