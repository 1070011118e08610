"""Export the map's network (the engine's, at its 448x448 working size) to ONNX for a GPU host.

``python -m focuspress.bench.gpu.export_onnx OUT_DIR``: writes ``saliency_448x448.onnx`` and
``reference.npz`` (a random input, the ONNX Runtime CPU output) and prints the largest
difference between ONNX Runtime and the Keras model. The lent GPU machines have PyTorch and
ONNX Runtime but no TensorFlow: ``time_torch.py`` runs this file there (needs ``tf2onnx`` here).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from focuspress.engine.saliency.network import WORKING_SIZE

HEIGHT, WIDTH = WORKING_SIZE


def main(out_dir: Path) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx

    from focuspress.engine.saliency.efficientnet_lite import preprocess
    from focuspress.engine.saliency.network import keras_network

    out_dir.mkdir(parents=True, exist_ok=True)
    model = keras_network()
    forward = tf.function(lambda x: model(x, training=False))
    spec = (tf.TensorSpec((None, HEIGHT, WIDTH, 3), tf.float32, name="x"),)
    path = out_dir / f"saliency_{HEIGHT}x{WIDTH}.onnx"
    tf2onnx.convert.from_function(forward, input_signature=spec, opset=17, output_path=str(path))
    rng = np.random.default_rng(0)
    x = preprocess(rng.integers(0, 256, (1, HEIGHT, WIDTH, 3), dtype=np.uint8)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    y = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.savez_compressed(out_dir / "reference.npz", x=x, y=y)
    print(f"{path}: max |onnx - keras| = {float(np.abs(y - forward(tf.constant(x)).numpy()).max()):.2e}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "gpu_burst"))
