"""Class activation maps of the top-k ImageNet classes, averaged (the original report's map).

After Prakash et al. 2017 ("Semantic Perceptual Image Compression using Deep Convolution
Networks"): each of the k most probable classes gets its CAM (classifier weights applied to
the last feature maps); the maps are rectified, normalised and averaged, so several objects
can light up at once.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from focuspress.engine.saliency.base import normalize, resize_map
from focuspress.engine.saliency.efficientnet_lite import build_efficientnet_lite0, load_weights, preprocess
from focuspress.engine.saliency.tf_runtime import tensorflow

#: Installed by ``focuspress train saliency --data CLASS_FOLDERS --install`` (absent by default:
#: ImageNet's classifier is used).
CLASSIFIER_WEIGHTS = Path(__file__).with_name("weights") / "cam_classifier.npz"
#: Long side the network sees; the short side is rounded to a multiple of 32, so only a few
#: input shapes (and TensorFlow traces) ever occur.
NETWORK_LONG_SIDE = 448
STRIDE = 32


def network_size(height: int, width: int, long_side: int = NETWORK_LONG_SIDE) -> tuple[int, int]:
    """(h, w) the photo is resized to: long side fixed, short side a multiple of 32."""
    scale = long_side / max(height, width)
    h = max(STRIDE, int(round(height * scale / STRIDE)) * STRIDE)
    w = max(STRIDE, int(round(width * scale / STRIDE)) * STRIDE)
    return h, w


class CamSaliency:
    """Top-k class activation maps from EfficientNet-Lite0."""

    name = "cam"

    def __init__(self, top_k: int = 5, classifier: Path | None = CLASSIFIER_WEIGHTS) -> None:
        """``classifier``: a head trained by ``focuspress train saliency`` on class folders; when its
        file exists, its classes (not ImageNet's) choose and weigh the activation maps."""
        tf = tensorflow()

        self._model = build_efficientnet_lite0(with_classifier=True)
        load_weights(self._model)
        kernel, bias = self._model.get_layer("classifier").get_weights()
        self.classes: list[str] | None = None
        if classifier is not None and Path(classifier).exists():
            with np.load(classifier) as trained:
                kernel, bias = trained["kernel"], trained["bias"]
                self.classes = [str(name) for name in trained["classes"]]
        self.top_k = min(top_k, kernel.shape[1])
        self._class_weights = tf.constant(kernel)  # (1280, classes)
        self._class_bias = tf.constant(bias)
        self._forward = tf.function(self._model, reduce_retracing=True)
        self._lock = threading.Lock()
        self.device = "gpu" if tf.config.list_physical_devices("GPU") else "cpu"

    def _resize_input(self, rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        import cv2

        return cv2.resize(rgb, (size[1], size[0]), interpolation=cv2.INTER_AREA)

    def cam_maps(self, batch: np.ndarray) -> np.ndarray:
        """(N, h, w, 3) uint8 at one network size to (N, h/32, w/32) averaged top-k CAMs."""
        tf = tensorflow()

        with self._lock:  # one graph call at a time; TF parallelises inside it
            features, _ = self._forward(tf.constant(preprocess(batch)), training=False)
        logits = tf.reduce_mean(features, axis=(1, 2)) @ self._class_weights + self._class_bias
        top = tf.math.top_k(logits, k=self.top_k).indices  # (N, k)
        weights = tf.gather(tf.transpose(self._class_weights), top)  # (N, k, 1280)
        cams = tf.einsum("nhwc,nkc->nkhw", features, weights)
        cams = tf.nn.relu(cams).numpy()
        out = []
        for per_image in cams:
            out.append(np.mean([normalize(cam) for cam in per_image], axis=0))
        return np.stack(out)

    def predict(self, rgb: np.ndarray) -> np.ndarray:
        return self.predict_batch([rgb])[0]

    def predict_batch(self, images: list[np.ndarray]) -> list[np.ndarray]:
        """Images of the same network size go through the network together (GPU batching)."""
        results: list[np.ndarray | None] = [None] * len(images)
        groups: dict[tuple[int, int], list[int]] = {}
        for index, rgb in enumerate(images):
            groups.setdefault(network_size(*rgb.shape[:2]), []).append(index)
        for size, indices in groups.items():
            batch = np.stack([self._resize_input(images[i], size) for i in indices])
            for i, cam in zip(indices, self.cam_maps(batch)):
                h, w = images[i].shape[:2]
                results[i] = np.clip(normalize(resize_map(cam, h, w)), 0.0, 1.0)
        return [r for r in results if r is not None]
