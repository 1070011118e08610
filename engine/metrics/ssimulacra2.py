"""SSIMULACRA2 on in-memory arrays, built from the ``ssimulacra2`` package's published stages.

The package only scores image files; this runs its own stage functions (linear RGB, XYB,
six-scale SSIM and edge maps, the fitted pooling) on arrays so nothing is written to disk.
"""

from __future__ import annotations

import numpy as np
from ssimulacra2 import ssimulacra2 as _s2

_SCALES = 6


def _xyb(linear: np.ndarray) -> np.ndarray:
    return _s2.make_positive_xyb(_s2.linear_rgb_to_xyb(linear))


def ssimulacra2(reference: np.ndarray, distorted: np.ndarray) -> float:
    """Score (100 = identical, about 70 = high quality, 50 = medium, 30 = low)."""
    if reference.shape != distorted.shape:
        raise ValueError(f"shapes differ: {reference.shape} vs {distorted.shape}")
    ref_lin = _s2.srgb_to_linear(reference.astype(np.float64))
    dis_lin = _s2.srgb_to_linear(distorted.astype(np.float64))
    img1, img2 = _xyb(ref_lin), _xyb(dis_lin)
    result = _s2.Msssim()
    for scale in range(_SCALES):
        if img1.shape[0] < 8 or img1.shape[1] < 8:
            break
        mu1, mu2 = _s2.blur_image(img1), _s2.blur_image(img2)
        data = _s2.MsssimScale()
        data.avg_ssim = _s2.ssim_map(
            mu1, mu2, _s2.blur_image(img1 * img1), _s2.blur_image(img2 * img2), _s2.blur_image(img1 * img2)
        )
        data.avg_edgediff = _s2.edge_diff_map(img1, mu1, img2, mu2)
        result.scales.append(data)
        if scale < _SCALES - 1:
            ref_lin = _s2.downsample(ref_lin, 2, 2)
            dis_lin = _s2.downsample(dis_lin, 2, 2)
            img1, img2 = _xyb(ref_lin), _xyb(dis_lin)
    return float(result.score())
