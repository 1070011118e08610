"""The trained map's network at one working size, run by LiteRT on a CPU or TensorFlow on a GPU.

Every photo is resized to :data:`WORKING_SIZE` (the network saw 320x320 squares, squeezed
whatever their shape, in training; the map is smooth, so its size hardly matters and a fixed
one makes any batch of photos one call), the network gives a stride-8 probability map, and
that map is resized back to the photo's shape. Two interchangeable runtimes:

* :class:`LiteRtNetwork`: ``weights/saliency.tflite`` (made by
  ``python -m focuspress.training.export_tflite`` from the shipped ``.npz`` weights) on
  LiteRT's CPU kernels: a 0.2 s import, no TensorFlow, a few tens of MB.
* :class:`KerasNetwork`: the same network built in Keras from the ``.npz`` weights, for GPUs
  (TensorFlow stays the training and GPU runtime) and where no ``.tflite`` ships.

:func:`choose_runtime` picks LiteRT unless a CUDA device is present or ``FOCUSPRESS_RUNTIME``
says otherwise (``litert`` or ``tensorflow``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from focuspress.engine.saliency.efficientnet_lite import INPUT_MEAN, INPUT_STD

WEIGHTS = Path(__file__).with_name("weights")
TFLITE_PATH = WEIGHTS / "saliency.tflite"
#: (height, width) every photo is brought to before the network.
WORKING_SIZE = (448, 448)
RUNTIMES = ("auto", "litert", "tensorflow")


def working_batch(images: list[np.ndarray]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """(N, H, W, 3) float32 network input at the working size, and each photo's (h, w)."""
    import cv2

    height, width = WORKING_SIZE
    batch = np.empty((len(images), height, width, 3), dtype=np.float32)
    for index, rgb in enumerate(images):
        resized = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        batch[index] = (resized.astype(np.float32) - INPUT_MEAN) / INPUT_STD
    return batch, [image.shape[:2] for image in images]


def back_to_photo(probabilities: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A stride-8 map at the working size, resized to a photo's (h, w), clipped to [0, 1]."""
    import cv2

    h, w = size
    resized = cv2.resize(probabilities.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(resized, 0.0, 1.0)


def keras_network():
    """The Keras model: preprocessed input (N, 448, 448, 3) -> (N, 56, 56, 1) probabilities."""
    from focuspress.engine.saliency.efficientnet_lite import build_feature_pyramid
    from focuspress.engine.saliency.tf_runtime import tensorflow
    from focuspress.engine.saliency.trained import HEAD_WEIGHTS, build_head, load_head

    keras = tensorflow().keras
    pyramid = build_feature_pyramid()
    head = build_head()
    load_head(head, HEAD_WEIGHTS)
    inputs = keras.Input((*WORKING_SIZE, 3), name="image")
    outputs = keras.layers.Activation("sigmoid", name="probability")(head(pyramid(inputs)))
    return keras.Model(inputs, outputs, name="focuspress_saliency")


def map_threads() -> int:
    """Threads LiteRT uses for one map: ``FOCUSPRESS_MAP_THREADS`` where set (the processes executor
    gives each worker its share of the cores: threads beyond that spin against each other), else
    every core."""
    try:
        return max(1, int(os.environ.get("FOCUSPRESS_MAP_THREADS", "")))
    except ValueError:
        return os.cpu_count() or 1


class LiteRtNetwork:
    """The exported network on LiteRT (CPU). One call at a time; LiteRT uses the cores inside it."""

    device = "cpu"

    def __init__(self, path: Path = TFLITE_PATH, threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        with quiet_stderr():  # LiteRT announces its CPU delegate on stderr
            self._interpreter = Interpreter(model_path=str(path), num_threads=threads or map_threads())
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch = 0
        self._lock = threading.Lock()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            if batch.shape[0] != self._batch:
                self._interpreter.resize_tensor_input(self._input, list(batch.shape))
                with quiet_stderr():
                    self._interpreter.allocate_tensors()
                self._batch = batch.shape[0]
            self._interpreter.set_tensor(self._input, np.ascontiguousarray(batch, dtype=np.float32))
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output)[..., 0].copy()


class KerasNetwork:
    """The network in TensorFlow (GPU when TensorFlow sees one)."""

    def __init__(self) -> None:
        from focuspress.engine.saliency.tf_runtime import tensorflow

        tf = tensorflow()
        self._model = keras_network()
        self._forward = tf.function(lambda x: self._model(x, training=False), reduce_retracing=True)
        self._lock = threading.Lock()
        self.device = "gpu" if tf.config.list_physical_devices("GPU") else "cpu"

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        from focuspress.engine.saliency.tf_runtime import tensorflow

        with self._lock:
            return self._forward(tensorflow().constant(batch)).numpy()[..., 0]


def choose_runtime(asked: str | None = None) -> str:
    """``litert`` or ``tensorflow``: LiteRT on CPU hosts, TensorFlow where a CUDA GPU is present."""
    asked = (asked or os.environ.get("FOCUSPRESS_RUNTIME") or "auto").lower()
    if asked not in RUNTIMES:
        raise ValueError(f"FOCUSPRESS_RUNTIME must be one of {', '.join(RUNTIMES)} (got {asked!r})")
    if asked != "auto":
        return asked
    if os.path.exists("/dev/nvidiactl") or not TFLITE_PATH.exists():
        return "tensorflow"
    try:
        import ai_edge_litert  # noqa: F401
    except ImportError:
        return "tensorflow"
    return "litert"


def load_network(runtime: str | None = None):
    return LiteRtNetwork() if choose_runtime(runtime) == "litert" else KerasNetwork()


class quiet_stderr:
    """Point file descriptor 2 at /dev/null for a native call that prints there (not thread-safe for
    other writers of fd 2; used only while a model loads)."""

    def __enter__(self):
        self._saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)

    def __exit__(self, *exc):
        os.dup2(self._saved, 2)
        os.close(self._saved)
