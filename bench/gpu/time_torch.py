"""On the GPU machine: ``python time_torch.py DIR`` with DIR from ``export_onnx`` (and onnx2torch
on the path). Converts the ONNX network to PyTorch, checks it against the CPU reference, times
batches 1..64 with CUDA events and writes ``$OUT/gpu_saliency.json``."""

from __future__ import annotations

import json
import os
import sys

import numpy as np


def main(folder: str) -> None:
    import onnx
    import torch
    from onnx2torch import convert

    name = next(f for f in os.listdir(folder) if f.startswith("saliency_") and f.endswith(".onnx"))
    model = convert(onnx.load(os.path.join(folder, name))).eval().cuda()
    reference = np.load(os.path.join(folder, "reference.npz"))
    with torch.inference_mode():
        y = model(torch.from_numpy(reference["x"]).cuda()).float().cpu().numpy()
    results = {"gpu": torch.cuda.get_device_name(0), "max_abs_diff": float(np.abs(y - reference["y"]).max())}
    print(results, flush=True)
    for batch in (1, 8, 32, 64):
        x = torch.from_numpy(np.repeat(reference["x"], batch, 0)).cuda()
        with torch.inference_mode():
            for _ in range(5):
                model(x)
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(20):
                model(x)
            end.record()
            torch.cuda.synchronize()
        ms = start.elapsed_time(end) / 20
        results[f"batch{batch}"] = {"ms_per_batch": ms, "ms_per_photo": ms / batch}
        print(f"batch {batch}: {ms:.2f} ms/batch, {ms / batch:.3f} ms/photo", flush=True)
    if os.environ.get("OUT"):
        with open(os.path.join(os.environ["OUT"], "gpu_saliency.json"), "w") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
