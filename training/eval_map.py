"""``focuspress eval-map``: how well an importance map finds what ECSSD's masks mark.

MAE (mean absolute error of the map against the binary mask), max F-measure (beta^2 = 0.3,
the salient-object literature's setting: the F curve over 255 thresholds averaged over images,
then its maximum) and AUC (ROC area, by the rank statistic). Maps and masks are compared at
the mask's resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from focuspress.training.datasets import mask_pairs, split
from focuspress.training.saliency import _read_mask, _read_rgb, max_f_measure


@dataclass
class MapScores:
    images: int
    mae: float
    max_f: float
    auc: float
    ms_per_image: float


def auc(pred: np.ndarray, mask: np.ndarray) -> float:
    """ROC AUC of ``pred`` separating mask pixels from the rest (Mann-Whitney U)."""
    positive = mask.ravel() > 0.5
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(pred.ravel())
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def evaluate(model, data: Path, part: str = "val", limit: int | None = None, progress=None) -> MapScores:
    import time

    pairs = split(mask_pairs(data), part)[:limit]
    maes, aucs, curves, seconds = [], [], [], 0.0
    for pair in pairs:
        rgb = _read_rgb(pair.image)
        mask = _read_mask(pair.mask)
        t0 = time.perf_counter()
        pred = model.predict(rgb)
        seconds += time.perf_counter() - t0
        if pred.shape != mask.shape:
            import cv2

            pred = cv2.resize(pred, (mask.shape[1], mask.shape[0]), interpolation=cv2.INTER_LINEAR)
        maes.append(float(np.mean(np.abs(pred - mask))))
        aucs.append(auc(pred, mask))
        curves.append(max_f_measure(pred.ravel(), mask.ravel()))
        if progress:
            progress()
    return MapScores(
        images=len(pairs),
        mae=float(np.mean(maes)),
        max_f=float(np.max(np.mean(curves, axis=0))),
        auc=float(np.nanmean(aucs)),
        ms_per_image=1000.0 * seconds / max(1, len(pairs)),
    )
