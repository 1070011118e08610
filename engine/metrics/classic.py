"""PSNR, ROI-PSNR and MS-SSIM (numpy/OpenCV; MS-SSIM checked against TensorFlow's).

Camera photos are large: errors are summed over row chunks in integers, and MS-SSIM runs
channel by channel in float32 with OpenCV's separable filters, so ``--metrics`` on a
24-megapixel photo stays within a few hundred MB.
"""

from __future__ import annotations

import numpy as np

_MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


#: Rows per chunk when summing squared errors (about 5 MB of int32 for a 6000-pixel-wide photo).
_ROWS = 256


def _mse(reference: np.ndarray, distorted: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean squared error over all samples (or over ``mask``'s pixels), summed chunk by chunk."""
    total, count = 0, 0
    for top in range(0, reference.shape[0], _ROWS):
        diff = reference[top : top + _ROWS].astype(np.int32) - distorted[top : top + _ROWS].astype(np.int32)
        square = diff * diff
        if mask is not None:
            selected = mask[top : top + _ROWS].astype(bool)
            total += int(square[selected].sum())
            count += int(selected.sum()) * (square.shape[2] if square.ndim == 3 else 1)
        else:
            total += int(square.sum())
            count += square.size
    if count == 0:
        return float("nan")
    return total / count


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


def _gaussian_window(size: int, sigma: float = 1.5) -> np.ndarray:
    coords = np.arange(size, dtype=np.float64) - (size - 1) / 2.0
    g = np.exp(-0.5 * np.square(coords) / sigma**2)
    return (g / g.sum()).astype(np.float32)


def _valid_blur(plane: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Separable Gaussian over the positions where the whole window fits ('valid')."""
    import cv2

    r = len(window) // 2
    out = cv2.sepFilter2D(plane, cv2.CV_32F, window, window, borderType=cv2.BORDER_CONSTANT)
    h, w = plane.shape
    return out[r : h - (len(window) - 1 - r), r : w - (len(window) - 1 - r)]


def _ssim_cs(x: np.ndarray, y: np.ndarray, window: np.ndarray) -> tuple[float, float]:
    c1, c2 = np.float32((0.01 * 255.0) ** 2), np.float32((0.03 * 255.0) ** 2)
    mx, my = _valid_blur(x, window), _valid_blur(y, window)
    num0 = 2.0 * mx * my
    den0 = mx * mx + my * my
    del mx, my
    luminance = (num0 + c1) / (den0 + c1)
    num1 = 2.0 * _valid_blur(x * y, window)
    den1 = _valid_blur(x * x + y * y, window)
    cs = (num1 - num0 + c2) / (den1 - den0 + c2)
    return float(np.mean(luminance * cs, dtype=np.float64)), float(np.mean(cs, dtype=np.float64))


def _halve(plane: np.ndarray) -> np.ndarray:
    h, w = plane.shape
    plane = np.pad(plane, ((0, h % 2), (0, w % 2)), mode="symmetric")
    return plane.reshape(plane.shape[0] // 2, 2, plane.shape[1] // 2, 2).mean(axis=(1, 3), dtype=np.float32)


def ms_ssim(reference: np.ndarray, distorted: np.ndarray) -> float:
    """RGB MS-SSIM (Wang et al. 2003) exactly as ``tf.image.ssim_multiscale`` defines it.

    Per channel: 11-tap Gaussian (sigma 1.5) SSIM with 'valid' borders at five scales, 2x2
    average pooling between scales, product of cs^w (ssim^w at the coarsest), then the mean
    over channels. Ours because TensorFlow's CPU kernels take about 2 s per Kodak image and
    this takes about 0.05 s (float32, OpenCV filters); ``tests/test_ratecontrol_metrics.py``
    checks it against TF.
    Fewer scales for images under 176 px a side.
    """
    side = min(reference.shape[0], reference.shape[1])
    scales = len(_MS_SSIM_WEIGHTS)
    while scales > 1 and side / 2 ** (scales - 1) < 11:
        scales -= 1
    weights = np.array(_MS_SSIM_WEIGHTS[:scales])
    values = []
    for channel in range(reference.shape[2]):
        x = reference[..., channel].astype(np.float32)
        y = distorted[..., channel].astype(np.float32)
        factors = []
        for scale in range(scales):
            if scale > 0:
                x, y = _halve(x), _halve(y)
            size = min(11, x.shape[0], x.shape[1])
            ssim_value, cs = _ssim_cs(x, y, _gaussian_window(size))
            factors.append(max(cs, 0.0) if scale < scales - 1 else max(ssim_value, 0.0))
        values.append(float(np.prod(np.power(factors, weights))))
    return float(np.mean(values))
