"""Run on a GPU machine (needs torch + torchvision; not a focuspress dependency, not imported by it):
``python bench/gpu_proxy.py``. GPU proxy for the saliency stage: torchvision EfficientNet-B0 features (a superset of our
EfficientNet-Lite0: B0 adds squeeze-excitation and swish, so it is the slower of the two) plus a
decoder of our head's shape (three 1x1 projections, two 3x3 convs of 32 channels at 1/8 scale),
random weights, 512x768 inputs. Times batches 1..64 in fp32 and fp16 (CUDA events)."""

import json
import os

import torch
import torch.nn as nn
import torchvision

dev = "cuda"
backbone = torchvision.models.efficientnet_b0(weights=None).features.eval().to(dev)
taps = {3: 40, 5: 112, 7: 320}  # stride 8, 16, 32 blocks of B0


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.b = backbone
        self.p = nn.ModuleDict({str(k): nn.Conv2d(c, 32, 1) for k, c in taps.items()})
        self.f = nn.Sequential(
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 1, 1)
        )

    def forward(self, x):
        feats = {}
        for i, block in enumerate(self.b):
            x = block(x)
            if i in taps:
                feats[i] = x
        s8 = self.p["3"](feats[3])

        def up(t):
            return nn.functional.interpolate(t, size=s8.shape[-2:], mode="bilinear", align_corners=False)

        return torch.sigmoid(self.f(s8 + up(self.p["5"](feats[5])) + up(self.p["7"](feats[7]))))


net = Net().eval().to(dev).to(memory_format=torch.channels_last)
print(torch.__version__, torch.cuda.get_device_name(0), flush=True)
results = {}
for dtype in (torch.float32, torch.float16):
    model = net.to(dtype)
    for batch in (1, 8, 32, 64):
        x = torch.rand(batch, 3, 512, 768, device=dev, dtype=dtype).to(memory_format=torch.channels_last)
        with torch.inference_mode():
            for _ in range(5):
                model(x)
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            n = 20
            start.record()
            for _ in range(n):
                model(x)
            end.record()
            torch.cuda.synchronize()
        ms = start.elapsed_time(end) / n
        key = f"{str(dtype).split('.')[-1]}/batch{batch}"
        results[key] = {"ms_per_batch": ms, "ms_per_photo": ms / batch}
        print(key, f"{ms:.2f} ms/batch {ms / batch:.3f} ms/photo", flush=True)
out = os.environ.get("OUT")
if out:
    json.dump(results, open(os.path.join(out, "gpu_proxy.json"), "w"), indent=2)
