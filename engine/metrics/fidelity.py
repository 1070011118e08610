"""PSNR, ROI-PSNR (numpy) and MS-SSIM (TensorFlow's ``tf.image.ssim_multiscale``)."""

from __future__ import annotations

import numpy as np

_MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _mse(reference: np.ndarray, distorted: np.ndarray, mask: np.ndarray | None = None) -> float:
    diff = reference.astype(np.float64) - distorted.astype(np.float64)
    sq = np.square(diff)
    if mask is None:
        return float(sq.mean())
    sel = mask.astype(bool)
    if not sel.any():
        return float("nan")
    return float(sq[sel].mean())


def psnr(reference: np.ndarray, distorted: np.ndarray) -> float:
    """PSNR in dB over all RGB samples (8-bit peak); inf for identical images."""
    mse = _mse(reference, distorted)
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def roi_psnr(reference: np.ndarray, distorted: np.ndarray, mask: np.ndarray) -> float:
    """PSNR over the pixels where ``mask`` (HxW, nonzero = region of interest) is set."""
    mse = _mse(reference, distorted, mask)
    if np.isnan(mse):
        return float("nan")
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0**2 / mse)


def ms_ssim(reference: np.ndarray, distorted: np.ndarray) -> float:
    """RGB MS-SSIM with the standard five scales (fewer for images under 176 px a side)."""
    from engine.saliency.tf_runtime import tensorflow

    tf = tensorflow()  # deferred: TensorFlow takes seconds to import

    side = min(reference.shape[0], reference.shape[1])
    scales = len(_MS_SSIM_WEIGHTS)
    while scales > 1 and side / 2 ** (scales - 1) < 11:
        scales -= 1
    weights = _MS_SSIM_WEIGHTS[:scales]
    a = tf.convert_to_tensor(reference[None].astype(np.float32))
    b = tf.convert_to_tensor(distorted[None].astype(np.float32))
    value = tf.image.ssim_multiscale(a, b, max_val=255.0, power_factors=weights)
    return float(value.numpy()[0])
