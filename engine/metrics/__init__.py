"""Quality metrics shared by the CLI's ``--metrics``, rate control and the benchmark."""

from focuspress.engine.metrics.bdrate import bd_rate
from focuspress.engine.metrics.classic import ms_ssim, psnr, roi_psnr
from focuspress.engine.metrics.ssimulacra2 import ssimulacra2

__all__ = ["bd_rate", "ms_ssim", "psnr", "roi_psnr", "ssimulacra2"]
