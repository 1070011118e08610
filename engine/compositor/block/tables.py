"""Quantization tables: which step each DCT frequency gets, per component.

Two families:

* ``perceptual`` (default): the base matrices of Google's jpegli encoder (libjxl,
  ``lib/jpegli/quant.cc``, BSD-3-Clause, Copyright the JPEG XL Project Authors), fitted there to
  human ratings; the numbers below are that data, scaled by our own quality mapping and by the
  multipliers in :class:`TableTuning`, which ``training/tune_tables.py`` fits on the training pool.
* ``annex-k``: the ITU-T T.81 Annex K example tables with libjpeg's quality scaling, so that
  ``BlockSettings(tables="annex-k")`` reproduces what libjpeg-turbo writes (a baseline and a test oracle).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from focuspress.engine.io.jpeg import annex_k_tables  # libjpeg's own tables live with JPEG inputs

# fmt: off
_JPEGLI_BASE_YCBCR = np.array([
    # Y
    1.2397409345866273, 1.7227115097630963, 2.9212167156636855, 2.812737435286529, 3.339819711906184, 3.463603762596166, 3.840915217993518, 3.86956,  # noqa: E501
    1.7227115097630963, 2.0928894413636874, 2.8456760904429297, 2.704506820909662, 3.4407673520905337, 3.166232352090534, 4.025208741558432, 4.035324490952577,  # noqa: E501
    2.9212167156636855, 2.8456760904429297, 2.9587403520905338, 3.3862948970669273, 3.619523781336757, 3.9046279999999998, 3.757835838431854, 4.237447515714274,  # noqa: E501
    2.812737435286529, 2.704506820909662, 3.3862948970669273, 3.380058821812233, 4.1679867415584315, 4.805510627261856, 4.784259, 4.605934,  # noqa: E501
    3.339819711906184, 3.4407673520905337, 3.619523781336757, 4.1679867415584315, 4.579851258441568, 4.923237, 5.574107, 5.48533336146308,  # noqa: E501
    3.463603762596166, 3.166232352090534, 3.9046279999999998, 4.805510627261856, 4.923237, 5.43936, 5.093895741558431, 6.0872254423617225,  # noqa: E501
    3.840915217993518, 4.025208741558432, 3.757835838431854, 4.784259, 5.574107, 5.093895741558431, 5.438461, 5.4037359493250845,  # noqa: E501
    3.86956, 4.035324490952577, 4.237447515714274, 4.605934, 5.48533336146308, 6.0872254423617225, 5.4037359493250845, 4.37787101190424,  # noqa: E501
    # Cb
    2.8236197786377537, 6.495639358561486, 9.310489207538302, 10.64747864717083, 11.07419143098738, 17.146390223910462, 18.463982229408998, 29.087001644203088,  # noqa: E501
    6.495639358561486, 8.890103846667353, 8.976895794294748, 13.666270550318826, 16.547071905624193, 16.63871382827686, 26.778396930893695, 21.33034294694781,  # noqa: E501
    9.310489207538302, 8.976895794294748, 11.08737706005991, 18.20548239870446, 19.752481654011646, 23.985660533114896, 102.6457378402362, 24.450989,  # noqa: E501
    10.64747864717083, 13.666270550318826, 18.20548239870446, 18.628012327860365, 16.042509519487183, 25.04918273242625, 25.017140189353015, 35.79788782635831,  # noqa: E501
    11.07419143098738, 16.547071905624193, 19.752481654011646, 16.042509519487183, 19.373482748612577, 14.677529999999999, 19.94695960400931, 51.094112,  # noqa: E501
    17.146390223910462, 16.63871382827686, 23.985660533114896, 25.04918273242625, 14.677529999999999, 31.320412426835304, 46.357234000000005, 67.48111451705412,  # noqa: E501
    18.463982229408998, 26.778396930893695, 102.6457378402362, 25.017140189353015, 19.94695960400931, 46.357234000000005, 61.315764694388044, 88.34665293823721,  # noqa: E501
    29.087001644203088, 21.33034294694781, 24.450989, 35.79788782635831, 51.094112, 67.48111451705412, 88.34665293823721, 112.16099098350989,  # noqa: E501
    # Cr
    2.9217254961255255, 4.497681013199305, 7.356344520940414, 6.583891506504051, 8.535608740100237, 8.799434353234647, 9.188341534163023, 9.482700481227672,  # noqa: E501
    4.497681013199305, 6.309548851989123, 7.024608962670982, 7.156445324163424, 8.049059218663244, 7.0124290657218555, 6.711923184393611, 8.380307846134853,  # noqa: E501
    7.356344520940414, 7.024608962670982, 6.892101177327445, 6.882819916277163, 8.782226090078568, 6.8774750000000004, 7.8858175969577955, 8.67909,  # noqa: E501
    6.583891506504051, 7.156445324163424, 6.882819916277163, 7.003072944847055, 7.7223464701024875, 7.955425720217421, 7.4734110000000005, 8.362933242943903,  # noqa: E501
    8.535608740100237, 8.049059218663244, 8.782226090078568, 7.7223464701024875, 6.778005927001542, 9.484922741558432, 9.043702663686046, 8.053178199770173,  # noqa: E501
    8.799434353234647, 7.0124290657218555, 6.8774750000000004, 7.955425720217421, 9.484922741558432, 8.607606527385098, 9.922697394370815, 64.25135180237939,  # noqa: E501
    9.188341534163023, 6.711923184393611, 7.8858175969577955, 7.4734110000000005, 9.043702663686046, 9.922697394370815, 63.184936549738225, 83.35294340273799,  # noqa: E501
    9.482700481227672, 8.380307846134853, 8.67909, 8.362933242943903, 8.053178199770173, 64.25135180237939, 83.35294340273799, 114.89202448569779,  # noqa: E501
], dtype=np.float64).reshape(3, 8, 8)

# Per-frequency exponent of the quantizer's growth with distance (same source): low
# frequencies coarsen more slowly than linearly once the distance passes 1.5.
_EXPONENT = np.array([
    1.00, 0.51, 0.67, 0.74, 1.00, 1.00, 1.00, 1.00,
    0.51, 0.66, 0.69, 0.87, 1.00, 1.00, 1.00, 1.00,
    0.67, 0.69, 0.84, 0.83, 0.96, 1.00, 1.00, 1.00,
    0.74, 0.87, 0.83, 1.00, 1.00, 0.91, 0.91, 1.00,
    1.00, 1.00, 0.96, 1.00, 1.00, 1.00, 1.00, 1.00,
    1.00, 1.00, 1.00, 0.91, 1.00, 1.00, 1.00, 1.00,
    1.00, 1.00, 1.00, 0.91, 1.00, 1.00, 1.00, 1.00,
    1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00,
]).reshape(8, 8)
_GLOBAL_SCALE = 1.73966010
_DIST0 = 1.5


# fmt: on

TABLE_FAMILIES = ("perceptual", "annex-k")


@dataclass(frozen=True)
class TableTuning:
    """Multipliers on the perceptual tables, fitted by ``training/tune_tables.py``.

    ``dc``: luma DC step; ``chroma``: every chroma step; ``chroma_dc``: chroma DC on top;
    ``high``: steps of the highest frequencies (u+v >= 8), where errors hide best;
    ``chroma_420``: every chroma step when chroma is subsampled (a 4:2:0 chroma block spans
    16x16 pixels, so each of its frequencies sits twice as fine on the retina).
    """

    dc: float = 0.56
    chroma: float = 0.8125
    chroma_dc: float = 0.64
    high: float = 1.0
    chroma_420: float = 1.0


DEFAULT_TUNING = TableTuning()


# User quality -> distance (bigger is coarser), calibrated so that ``-q N`` gives on average the
# SSIMULACRA2 that libjpeg-turbo gives at quality N (4:2:0) on BSDS500 photos 10..21
# (``training/calibrate_quality.py``): same feel as libjpeg's knob, smaller files. Below
# quality 20 the curve is extrapolated so the knob still reaches about 0.1 bit per pixel.
_QUALITY_POINTS = np.array([1, 5, 10, 15, 20, 25, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 100], dtype=np.float64)
_DISTANCE_POINTS = np.array(
    [90.0, 60.0, 40.0, 28.0, 20.43, 15.72, 13.07, 9.26, 7.15, 5.66, 4.12, 3.50, 2.82, 2.04, 1.60, 0.43, 0.05]
)


def quality_to_distance(quality: float) -> float:
    """Map libjpeg-style quality (1..100, continuous) to a butteraugli-like distance."""
    q = float(np.clip(quality, 1.0, 100.0))
    return float(np.exp(np.interp(q, _QUALITY_POINTS, np.log(_DISTANCE_POINTS))))


def _distance_to_scale(distance: float) -> np.ndarray:
    if distance < _DIST0:
        return np.full((8, 8), distance)
    mul = np.power(_DIST0, 1.0 - _EXPONENT)
    return np.maximum(0.5 * distance, mul * np.power(distance, _EXPONENT))


def perceptual_tables(
    quality: float, tuning: TableTuning = DEFAULT_TUNING, *, subsampled: bool = True, gain: float = 1.0
) -> np.ndarray:
    """(3, 8, 8) float steps for Y, Cb, Cr at ``quality`` (continuous, for rate control).

    ``gain`` > 1 divides the distance: finer tables (the ROI boost of the block encoder).
    """
    tables = tables_at_distance(quality_to_distance(quality) / gain, tuning)
    if subsampled:
        tables[1:] *= tuning.chroma_420
    return tables


def tables_at_distance(distance: float, tuning: TableTuning = DEFAULT_TUNING) -> np.ndarray:
    """(3, 8, 8) float steps at a butteraugli-like ``distance`` (what the quality knob maps to)."""
    scale = _GLOBAL_SCALE * _distance_to_scale(distance)
    tables = _JPEGLI_BASE_YCBCR * scale[None]
    freq = np.add.outer(np.arange(8), np.arange(8))
    tables[:, freq >= 8] *= tuning.high
    tables[0, 0, 0] *= tuning.dc
    tables[1:] *= tuning.chroma
    tables[1:, 0, 0] *= tuning.chroma_dc
    return tables


def integer_tables(tables: np.ndarray) -> np.ndarray:
    """Round float steps to the baseline-legal 1..255 integers written in the DQT segment."""
    return np.clip(np.round(tables), 1, 255).astype(np.uint16)


def tables_for(
    family: str,
    quality: float,
    tuning: TableTuning = DEFAULT_TUNING,
    *,
    subsampled: bool = True,
    gain: float = 1.0,
) -> np.ndarray:
    """Integer (3, 8, 8) tables of ``family`` at ``quality``."""
    if family == "perceptual":
        return integer_tables(perceptual_tables(quality, tuning, subsampled=subsampled, gain=gain))
    if family == "annex-k":
        return integer_tables(annex_k_tables(quality))
    raise ValueError(f"unknown table family {family!r}; choose one of {', '.join(TABLE_FAMILIES)}")
