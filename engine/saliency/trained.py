"""The trained salient-object map: a small decoder on EfficientNet-Lite0's feature pyramid.

The backbone stays as ImageNet made it (frozen); the decoder (about 60 k weights) was trained by
``focuspress train saliency`` on ECSSD's training split to predict salient-object masks.
See ``weights/saliency_head.md`` for data, steps and validation figures.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from focuspress.engine.saliency.base import resize_map
from focuspress.engine.saliency.cam import network_size
from focuspress.engine.saliency.efficientnet_lite import build_feature_pyramid, preprocess
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
    """Salient-object probability per pixel from the trained decoder."""

    name = "trained"

    def __init__(self, weights: Path = HEAD_WEIGHTS) -> None:
        tf = tensorflow()
        if not Path(weights).exists():
            raise FileNotFoundError(f"{weights}: no trained saliency head (run 'focuspress train saliency')")
        self._pyramid = build_feature_pyramid()
        self._head = build_head()
        load_head(self._head, weights)

        def forward(x):
            return tf.sigmoid(self._head(self._pyramid(x, training=False), training=False))

        # Concrete shapes per trace (UpSampling2D needs them); network_size keeps the shapes few.
        self._forward = tf.function(forward)
        self._lock = threading.Lock()
        self.device = "gpu" if tf.config.list_physical_devices("GPU") else "cpu"

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        return self.predict_batch([rgb])[0]

    def predict_batch(self, images: list[np.ndarray]) -> list[np.ndarray]:
        import cv2

        tf = tensorflow()
        results: list[np.ndarray | None] = [None] * len(images)
        groups: dict[tuple[int, int], list[int]] = {}
        for index, rgb in enumerate(images):
            groups.setdefault(network_size(*rgb.shape[:2]), []).append(index)
        for (h, w), indices in groups.items():
            batch = np.stack([cv2.resize(images[i], (w, h), interpolation=cv2.INTER_AREA) for i in indices])
            with self._lock:
                probs = self._forward(tf.constant(preprocess(batch))).numpy()[..., 0]
            for i, prob in zip(indices, probs):
                ih, iw = images[i].shape[:2]
                results[i] = np.clip(resize_map(prob, ih, iw), 0.0, 1.0)
        return [r for r in results if r is not None]
