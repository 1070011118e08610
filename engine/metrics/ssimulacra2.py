"""SSIMULACRA2 on in-memory arrays: the ``ssimulacra2`` package's metric, in bounded memory and time.

Why not call the package directly: it scores files, in float64, holding about twenty
full-size planes at once: 5 s and 1.4 GB for a 3-megapixel photo, 10 GB for a camera photo.
This driver keeps every definition of the package (its opsin matrix and bias, its 11-tap
Gaussian with sigma 1.5 whose rows are zero-padded and whose columns are mirrored, its 2x2
downsampling with edge averaging, its SSIM and edge maps, its pooling weights and final
curve, all read from the package) and changes only how the work is laid out:

* float32 planes (the pooled sums are float64), OpenCV for the separable blurs;
* horizontal stripes: every map is per pixel and the blur reaches 5 rows, so a stripe with 5
  rows of context on each side gives exactly the full image's values on its core rows (the
  mirroring at the top and bottom happens only at the image's own top and bottom);
* the pooling (means and 4-norms per scale and channel) is additive over the stripes, and
  each stripe's core is also downsampled into the next scale's (quarter-size) image.

(The package's XYB planes are transposed; its blur's zero padding therefore falls on the left
and right edges, which is what :func:`_blur` does.) Memory is about a third of one float32 copy
of the photo, whatever its size; the result
equals the package's within float32 rounding (``tests/test_ratecontrol_metrics.py``) on images
of 256 pixels a side and more. Smaller ones (subject boxes on small photos) have fewer scales,
and there the final weighting keeps each weight on its own feature where the reference shifts
them (:func:`_score`).
"""

from __future__ import annotations

import cv2
import numpy as np
from ssimulacra2 import ssimulacra2 as _s2

_SCALES = 6
_RADIUS = int(3.33 * 1.5 + 0.5)  # scipy's gaussian_filter(sigma=1.5, truncate=3.33): 11 taps
_KERNEL = np.exp(-0.5 * np.square(np.arange(-_RADIUS, _RADIUS + 1)) / 1.5**2)
_KERNEL = (_KERNEL / _KERNEL.sum()).astype(np.float32)
_STRIPE = 128  # core rows per stripe at every scale (even, so downsampling never straddles stripes)
#: Core rows per stripe of a tile's error maps (:meth:`Reference.both_sums`). A whole 256-pixel tile's
#: dozen float32 temporaries (786 KB each) spill the cache: in 64-row stripes its first scale took
#: 1.6 ms per 256 rows against 3.7 ms whole, ten rows of blur context a stripe included.
_TILE_STRIPE = 64
#: ...but a plane of at most this many rows (a 128-pixel tile's first scale, a 256-pixel tile's second)
#: in one stripe: two stripes of 64 compute 20 rows of blur context instead of none, and on a
#: 128-pixel tile that cost 7% more than one stripe (1.11 against 1.03 ms its sums, best of five);
#: the contract on camera-native's 1920x1080 crops 171 -> 168 ms a photo (five runs alternating,
#: the same outputs byte for byte).
_ONE_STRIPE_ROWS = 128
_OPSIN = _s2.kOpsinAbsorbanceMatrix.reshape(3, 3).astype(np.float32)
_BIAS = _s2.kOpsinAbsorbanceBias.astype(np.float32)
_CBRT_BIAS = np.cbrt(_BIAS).astype(np.float32)
_OPSIN_AFFINE = np.hstack([_OPSIN, _BIAS[:, None]]).astype(np.float32)
assert (_OPSIN >= 0).all() and (_BIAS > 0).all()  # what lets _xyb skip its clamp
_C2 = np.float32(_s2.kC2)
# From cube roots c to positive XYB, as one affine map (subtracting cbrt(bias) folded in):
# x = 14 * (c0 - c1) / 2 + 0.42, y = (c0 + c1) / 2 + 0.01, b = c2 - (c0 + c1) / 2 + 0.55.
_MIX = np.array([[7.0, -7.0, 0.0], [0.5, 0.5, 0.0], [-0.5, -0.5, 1.0]], dtype=np.float64)
_POSITIVE_XYB = np.hstack([_MIX, (np.array([0.42, 0.01, 0.55]) - _MIX @ _CBRT_BIAS)[:, None]]).astype(np.float32)


def _srgb_lut() -> np.ndarray:
    v = np.arange(256, dtype=np.float64) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


_LINEAR = _srgb_lut()


def _linear(image: np.ndarray) -> np.ndarray:
    """8-bit sRGB to linear float32 through the table (OpenCV's LUT: 8x numpy's fancy indexing)."""
    return cv2.LUT(np.ascontiguousarray(image), _LINEAR)


def _xyb(linear: np.ndarray) -> np.ndarray:
    """Linear RGB (h, w, 3) to the package's "positive XYB" planes, float32."""
    # per pixel: opsin matrix times RGB plus the bias, one affine map (every entry of both is
    # positive and linear RGB is not negative, so nothing here is below zero: no clamp needed)
    mixed = cv2.transform(linear, _OPSIN_AFFINE)
    np.cbrt(mixed, out=mixed)  # numpy 2's vectorized cube root: 5x OpenCV's pow(x, 1/3) on a tile
    return cv2.transform(mixed, _POSITIVE_XYB)


def _blur(plane: np.ndarray) -> np.ndarray:
    """The package's blur: zero beyond the first and last columns, mirrored at the top and bottom.

    (The package pads its first axis with zeros, but its XYB planes are transposed, so in
    image terms the zeros lie left and right.)"""
    rows = cv2.filter2D(plane, -1, _KERNEL.reshape(1, -1), borderType=cv2.BORDER_CONSTANT)
    return cv2.filter2D(rows, -1, _KERNEL.reshape(-1, 1), borderType=cv2.BORDER_REFLECT)


def _downsample(linear: np.ndarray) -> np.ndarray:
    """2x2 box average; an odd last row or column is averaged on its own (the package's rule)."""
    h, w = linear.shape[:2]
    if h % 2 or w % 2:
        linear = cv2.copyMakeBorder(linear, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
    return cv2.resize(linear, (linear.shape[1] // 2, linear.shape[0] // 2), interpolation=cv2.INTER_AREA)


class _Sums:
    """Per channel: sum of d and d^4 for the SSIM map, the artifact map and the detail-lost map
    (``count``: the pixels, or their total weight, they were summed over)."""

    def __init__(self) -> None:
        self.values = np.zeros((3, 6), dtype=np.float64)
        self.count = 0.0

    def scale(self) -> _s2.MsssimScale:
        """The package's per-scale record: averages and 4-norms in its order."""
        mean = self.values / max(1, self.count)
        result = _s2.MsssimScale()
        result.avg_ssim = np.stack([mean[:, 0], mean[:, 1] ** 0.25], axis=1).reshape(-1)
        edge = np.stack([mean[:, 2], mean[:, 3] ** 0.25, mean[:, 4], mean[:, 5] ** 0.25], axis=1)
        result.avg_edgediff = edge.reshape(-1)
        return result


def _accumulate(
    maps: tuple[np.ndarray, np.ndarray, np.ndarray],
    whole: _Sums | None,
    region: _Sums | None,
    weight: np.ndarray | None,
) -> None:
    """Pool one scale's three error maps (H x W x 3 each) into ``whole`` (every pixel once) and into
    ``region`` (each pixel ``weight`` times, H x W), each map's fourth power computed once for both.

    The weighted sums are a matrix-vector product (the flat weights times the maps' pixel-by-channel
    rows: BLAS, float32, a relative error about 2e-6 against sums in double): on a 256-pixel tile
    it is half what weighting a three-channel copy of the weights and summing cost (0.35 against
    0.64 ms a scale), and a subject trial pools every tile it probes this way."""
    flat: np.ndarray | None = None
    total = 0.0
    if region is not None and weight is not None:
        flat = np.ascontiguousarray(weight, dtype=np.float32).reshape(-1)
        total = float(flat.sum(dtype=np.float64))
        if total <= 0.0:
            flat = None
    if whole is None and flat is None:
        return
    for column, plane in enumerate(maps):
        fourth = cv2.multiply(plane, plane)
        cv2.multiply(fourth, fourth, dst=fourth)
        if whole is not None:
            whole.values[:, 2 * column] += cv2.sumElems(plane)[:3]  # per-channel sums, in double
            whole.values[:, 2 * column + 1] += cv2.sumElems(fourth)[:3]
        if region is not None and flat is not None:
            region.values[:, 2 * column] += flat @ np.ascontiguousarray(plane).reshape(flat.size, 3)
            region.values[:, 2 * column + 1] += flat @ fourth.reshape(flat.size, 3)
    if whole is not None:
        whole.count += maps[0].shape[0] * maps[0].shape[1]
    if region is not None and flat is not None:
        region.count += total


def _maps(
    img1: np.ndarray,
    img2: np.ndarray,
    core: slice,
    sums: _Sums,
    region: _Sums | None = None,
    weight: np.ndarray | None = None,
) -> None:
    """SSIM and edge maps of a stripe (with context rows), pooled over its ``core`` rows (into
    ``region`` too, each pixel weighted by ``weight``'s core rows)."""
    mu1, mu2 = _blur(img1), _blur(img2)
    s11 = _blur(img1 * img1)
    s22 = _blur(img2 * img2)
    s12 = _blur(img1 * img2)
    m1, m2 = mu1[core], mu2[core]
    num_m = 1.0 - np.square(m1 - m2)
    num_s = 2.0 * (s12[core] - m1 * m2) + _C2
    denom_s = (s11[core] - m1 * m1) + (s22[core] - m2 * m2) + _C2
    ssim_d = np.maximum(1.0 - num_m * num_s / denom_s, 0.0)
    d1 = (1.0 + np.abs(img2[core] - m2)) / (1.0 + np.abs(img1[core] - m1)) - 1.0
    artifact, lost = np.maximum(d1, 0.0), np.maximum(-d1, 0.0)
    _accumulate((ssim_d, artifact, lost), sums, region, None if weight is None else weight[core])


def _scale(
    ref, dis, linear_rows, height: int, last: bool, weight: np.ndarray | None = None
) -> tuple[_Sums, _Sums, np.ndarray, np.ndarray]:
    """One scale in stripes; returns its sums, its sums over the region ``weight`` marks, and (unless
    ``last``) the next scale's linear images."""
    sums, region = _Sums(), _Sums()
    next_ref: np.ndarray = np.empty((0, 0, 3), np.float32)  # (the last scale makes no next one)
    next_dis: np.ndarray = next_ref
    for top in range(0, height, _STRIPE):
        bottom = min(height, top + _STRIPE)
        lo, hi = max(0, top - _RADIUS), min(height, bottom + _RADIUS)
        lin1, lin2 = linear_rows(ref, lo, hi), linear_rows(dis, lo, hi)
        weight_rows = weight[lo:hi] if weight is not None else None
        _maps(_xyb(lin1), _xyb(lin2), slice(top - lo, bottom - lo), sums, region, weight_rows)
        if not last:
            small1 = _downsample(lin1[top - lo : bottom - lo])
            small2 = _downsample(lin2[top - lo : bottom - lo])
            if next_ref.size == 0:
                rows = (height + 1) // 2
                next_ref = np.empty((rows, small1.shape[1], 3), np.float32)
                next_dis = np.empty_like(next_ref)
            next_ref[top // 2 : top // 2 + small1.shape[0]] = small1
            next_dis[top // 2 : top // 2 + small2.shape[0]] = small2
    return sums, region, next_ref, next_dis


def _srgb_rows(image: np.ndarray, lo: int, hi: int) -> np.ndarray:
    return _linear(image[lo:hi])


def _linear_rows(image: np.ndarray, lo: int, hi: int) -> np.ndarray:
    return image[lo:hi]


#: The smallest side the metric scores (the package stops below it: its first scale needs 8 pixels).
MIN_SIDE = 8


def _check(reference: np.ndarray, distorted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if reference.shape != distorted.shape:
        raise ValueError(f"shapes differ: {reference.shape} vs {distorted.shape}")
    if reference.dtype != np.uint8 or distorted.dtype != np.uint8:
        reference = np.clip(np.round(reference), 0, 255).astype(np.uint8)
        distorted = np.clip(np.round(distorted), 0, 255).astype(np.uint8)
    return _at_least_min_side(reference), _at_least_min_side(distorted)


def _at_least_min_side(image: np.ndarray) -> np.ndarray:
    """An image under :data:`MIN_SIDE` pixels a side (an icon, a thumbnail, a sliver of a box) with its
    last row and column repeated up to it, as a decoder pads a JPEG's partial block: the package
    scores nothing below 8 pixels (it raised "no images to score" on a 7x13 photo), and the
    repeated edge adds no error of its own, so the score is the image's."""
    h, w = image.shape[:2]
    if h >= MIN_SIDE and w >= MIN_SIDE:
        return image
    pad = ((0, max(0, MIN_SIDE - h)), (0, max(0, MIN_SIDE - w))) + ((0, 0),) * (image.ndim - 2)
    return np.pad(image, pad, mode="edge")


def scale_count(h: int, w: int) -> int:
    """How many of the six scales an ``h`` x ``w`` image has (each halves it; the package stops below
    8 pixels a side). At least one: smaller images are padded to 8 pixels (:func:`_check`)."""
    scales = 0
    h, w = max(h, MIN_SIDE), max(w, MIN_SIDE)
    while scales < _SCALES and h >= MIN_SIDE and w >= MIN_SIDE:
        scales += 1
        h, w = (h + 1) // 2, (w + 1) // 2
    return scales


def _scale_sums(reference: np.ndarray, distorted: np.ndarray, scales: int) -> list[_Sums]:
    """The pooled sums of every scale for one image pair."""
    return _both_sums(reference, distorted, scales, None)[0]


def _both_sums(
    reference: np.ndarray, distorted: np.ndarray, scales: int, weight: np.ndarray | None
) -> tuple[list[_Sums], list[_Sums]]:
    """The pooled sums of every scale for one image pair: over every pixel, and over the region
    ``weight`` (H x W, 0..1) marks, from the same error maps."""
    out, region = [], []
    ref, dis, rows = reference, distorted, _srgb_rows
    for scale in range(scales):
        last = scale == scales - 1
        sums, in_region, ref, dis = _scale(ref, dis, rows, ref.shape[0], last, weight)
        out.append(sums)
        region.append(in_region)
        if weight is not None and not last:
            weight = _downsample_weight(weight)
        rows = _linear_rows
    return out, region


def _downsample_weight(weight: np.ndarray) -> np.ndarray:
    """A weight map taken to the next scale the way the images are (2x2 averages, odd edges alone)."""
    h, w = weight.shape
    if h % 2 or w % 2:
        weight = cv2.copyMakeBorder(weight, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
    return cv2.resize(weight, (weight.shape[1] // 2, weight.shape[0] // 2), interpolation=cv2.INTER_AREA)


def ssimulacra2_with_region(reference: np.ndarray, distorted: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """(SSIMULACRA2 of the whole image, SSIMULACRA2 of the region ``weight`` marks) in one pass.

    The region's score pools the same error maps as the whole's, each pixel counted by its weight
    (H x W, 0..1; the weights follow the images down the scales): the region is seen in its
    context (its blurs reach across its edge, as an eye's do), at every scale the photo has, and
    what lies outside it counts for nothing. NaN for an empty region."""
    reference, distorted = _check(reference, distorted)
    weight = _at_least_min_side(np.ascontiguousarray(weight, dtype=np.float32))
    if weight.shape != reference.shape[:2]:
        raise ValueError(f"weight is {weight.shape}, the images {reference.shape[:2]}")
    whole, region = _both_sums(reference, distorted, scale_count(*reference.shape[:2]), weight)
    region_score = _score(region) if region[0].count > 0 else float("nan")
    return _score(whole), region_score


def ssimulacra2(reference: np.ndarray, distorted: np.ndarray) -> float:
    """Score (100 = identical, about 70 = high quality, 50 = medium, 30 = low) of two HxWx3 uint8 images."""
    return pooled_ssimulacra2([(reference, distorted)])


def pooled_ssimulacra2(pairs: list[tuple[np.ndarray, np.ndarray]], scales: int | None = None) -> float:
    """SSIMULACRA2 of several regions taken as one image: each pair's per-scale sums (means and
    4-norms, additive over pixels) are pooled before the score, so tiles sampled from a photo
    estimate the photo's own score, and no blur reaches across from one tile into another.
    One pair is exactly :func:`ssimulacra2`. ``scales``: how many scales to pool (the photo's own
    count when the pairs are tiles of it: a missing coarse scale would count as no error at all);
    default: as many as the smallest pair has."""
    checked = [_check(a, b) for a, b in pairs]
    if not checked:
        raise ValueError("no images to score")
    if scales is None:
        scales = min(scale_count(*a.shape[:2]) for a, _ in checked)
    return _score(_pool(_scale_sums(reference, distorted, scales) for reference, distorted in checked))


def _pool(per_image, scales: int | None = None) -> list[_Sums]:
    """Per-scale sums of several images added together (their pixels pooled as one image's), the
    first ``scales`` of each (all by default); the images' own sums are left as they are (a search
    reuses them)."""
    pooled: list[_Sums] = []
    for sums in per_image:
        levels = sums if scales is None else sums[:scales]
        if not pooled:
            pooled = [_Sums() for _ in levels]
        for total, part in zip(pooled, levels):
            total.values += part.values
            total.count += part.count
    if not pooled:
        raise ValueError("no images to score")
    return pooled


def _score(pooled: list[_Sums]) -> float:
    """The package's final score (its weights and curve) from per-scale sums, padded to six scales.

    The package, like libjxl's ``Msssim::Score``, walks its 108 weights with one running index
    over however many scales it was given, so below six (a region under 256 pixels a side) the
    second channel's features take the first channel's weights for the sixth scale and so on:
    on a 5-scale region of the sample photo at JPEG q70 it gives 51 where the same region's
    6-scale surroundings score 75. Padding with empty scales keeps every weight on its own
    feature, a missing coarse scale contributing nothing (the same region scores 74.6); with
    six scales nothing changes."""
    result = _s2.Msssim()
    result.scales.extend(level.scale() for level in pooled)
    result.scales.extend(_s2.MsssimScale() for _ in range(_SCALES - len(pooled)))
    return float(result.score())


class Reference:
    """One reference image's planes at every scale, kept for many comparisons against it.

    A search scores many candidates against the same source tiles: the reference's XYB planes,
    their blurred means and variances (and the parts of the SSIM and edge maps that are the
    reference's alone) are computed once here, so each comparison computes only the distorted
    side (three blurs instead of five). For images that fit in memory whole (tiles); the result
    equals :func:`pooled_ssimulacra2` within float32 rounding."""

    def __init__(self, reference: np.ndarray, scales: int, weight: np.ndarray | None = None) -> None:
        reference, _ = _check(reference, reference)
        self.shape = reference.shape  # (padded to the metric's smallest side, as distorted images are)
        #: per scale: XYB, its blurred mean, its variance plus C2, and 1 / (1 + |XYB - mean|)
        self.levels: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        #: per scale, the region's weights (see :func:`ssimulacra2_with_region`), where one was given
        #: and it holds anything: :meth:`region_sums` pools the same maps over it
        self.weights: list[np.ndarray] | None = None
        self.columns: list[slice] = []
        if weight is not None and float(np.max(weight, initial=0.0)) > 0.0:
            plane = _at_least_min_side(np.ascontiguousarray(weight, dtype=np.float32))
            if plane.shape != self.shape[:2]:
                raise ValueError(f"weight is {plane.shape}, the image {self.shape[:2]}")
            planes = [plane]
            for _ in range(scales - 1):
                planes.append(_downsample_weight(planes[-1]))
            self.weights = planes
            #: per scale, the columns a region's sums alone need (:func:`_columns_of`)
            self.columns = [_columns_of(plane) for plane in planes]
        linear = _linear(reference)
        for scale in range(scales):
            xyb = _xyb(linear)
            mu = _blur(xyb)
            # (in place: a search builds a dozen of these before its first trial)
            scratch = np.multiply(xyb, xyb)
            variance = _blur(scratch)
            np.multiply(mu, mu, out=scratch)
            variance -= scratch
            variance += _C2
            np.subtract(xyb, mu, out=scratch)
            np.abs(scratch, out=scratch)
            scratch += 1.0
            inverse = np.reciprocal(scratch, out=scratch)
            self.levels.append((xyb, mu, variance, inverse))
            if scale < scales - 1:
                linear = _downsample(linear)

    def sums(self, distorted: np.ndarray) -> list[_Sums]:
        """The per-scale sums of ``distorted`` against this reference (every scale it keeps; a
        region scored on fewer scales pools only the first ones: each scale's sums are the same)."""
        return self.both_sums(distorted, region=False)[0]

    def both_sums(
        self, distorted: np.ndarray, *, whole: bool = True, region: bool = True, rest: bool = False
    ) -> tuple[list[_Sums], list[_Sums] | None]:
        """The per-scale sums of ``distorted`` over every pixel (``whole``; else empty sums), and over
        the region the weight given at construction marks (None without one, or unless ``region``),
        from one pass over the error maps. ``rest``: the first sums are over the pixels outside the
        region instead (each weighted 1 - weight: what a photo score post-stratified by the region
        pools, :func:`stratified_score`), and where the region's own sums are not asked for, rows
        all inside it are not computed at all. Where the region's alone are asked for, rows with
        none of it are not computed, nor columns (a subject trial's tiles that hold part of it)."""
        _, distorted = _check(distorted, distorted)
        if distorted.shape != self.shape:
            raise ValueError(f"shapes differ: {self.shape} vs {distorted.shape}")
        out = []
        in_regions: list[_Sums] | None = [] if self.weights is not None and region else None
        alone = not whole and not rest  # the region's sums alone: only where it is
        if alone and in_regions is None:
            return [_Sums() for _ in self.levels], None  # nothing asked that this reference holds
        linear = _linear(distorted)
        for scale, level in enumerate(self.levels):
            img2 = _xyb(linear)
            height = img2.shape[0]
            sums, in_region = _Sums(), _Sums()
            marked = self.weights[scale] if self.weights is not None else None
            weight = marked if in_regions is not None else None
            columns = self.columns[scale] if alone and self.weights is not None else slice(None)
            stripe = height if height <= _ONE_STRIPE_ROWS else _TILE_STRIPE
            for top in range(0, height, stripe):
                bottom = min(height, top + stripe)
                # the region's rows here, where the rest is asked for (without a region: all of it is rest)
                inside = marked[top:bottom] if rest and marked is not None else None
                if inside is not None and weight is None and float(inside.min()) >= 1.0:
                    continue  # all region: nothing outside it here
                if alone and (weight is None or float(weight[top:bottom].max()) <= 0.0):
                    continue  # none of the region in these rows
                maps = _distorted_maps(level, img2, top, bottom, columns)
                rows = None if weight is None else weight[top:bottom, columns]
                if inside is None or float(inside.max()) <= 0.0:
                    _accumulate(maps, sums if whole or rest else None, in_region, rows)
                elif weight is None:  # the rest alone: one weighted pooling
                    _accumulate(maps, None, sums, 1.0 - inside)
                else:  # both: the whole less the region, and the region
                    part, held = _Sums(), _Sums()
                    _accumulate(maps, part, held, inside)
                    sums.values += part.values - held.values
                    sums.count += part.count - held.count
                    in_region.values += held.values
                    in_region.count += held.count
            out.append(sums)
            if in_regions is not None:
                in_regions.append(in_region)
            if scale < len(self.levels) - 1:
                linear = _downsample(linear)
        return out, in_regions


def _columns_of(weight: np.ndarray) -> slice:
    """The columns a region's sums need at one scale: those where ``weight`` holds anything, and
    :data:`_RADIUS` either side (the blurs' reach; see :func:`_distorted_maps`)."""
    held = np.flatnonzero(weight.max(axis=0) > 0.0)
    if held.size == 0:
        return slice(0, 0)
    return slice(max(0, int(held[0]) - _RADIUS), min(weight.shape[1], int(held[-1]) + 1 + _RADIUS))


def _distorted_maps(
    level: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    img2: np.ndarray,
    top: int,
    bottom: int,
    columns: slice = slice(None),
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The SSIM, artifact and detail-lost maps of rows ``top:bottom`` of the distorted XYB ``img2``
    against a reference's ``level`` (its XYB, blurred mean, variance plus C2 and inverse edge term).
    The blurs run over the rows and :data:`_RADIUS` rows of context either side (mirrored only at
    the image's own edges), so the rows kept are what blurring the whole image gives.

    ``columns``: only these (the maps are that wide). The blurs then see zeros past a cut that is
    not the image's own edge, so the :data:`_RADIUS` columns inside such a cut are not the whole
    image's values: a caller cuts that far outside the pixels it pools (:func:`_columns_of`)."""
    img1, mu, variance, inverse = level
    lo, hi = max(0, top - _RADIUS), min(img2.shape[0], bottom + _RADIUS)
    core = slice(top - lo, bottom - lo)
    x2 = img2[lo:hi, columns]
    img1, inverse = img1[:, columns], inverse[:, columns]
    mu1, var1 = mu[top:bottom, columns], variance[top:bottom, columns]
    mu2 = _blur(x2)[core]
    # the package's SSIM map, 1 - (1 - (mu1 - mu2)^2) (2 cov + C2) / (var1 + var2 + C2),
    # with in-place steps (a tile's score is a dozen of these per scale)
    denominator = _blur(x2 * x2)[core]
    denominator -= mu2 * mu2
    denominator += var1
    numerator = _blur(img1[lo:hi] * x2)[core]
    numerator -= mu1 * mu2
    numerator *= 2.0
    numerator += _C2
    mean_term = mu1 - mu2
    np.square(mean_term, out=mean_term)
    np.subtract(1.0, mean_term, out=mean_term)
    numerator *= mean_term
    numerator /= denominator
    np.subtract(1.0, numerator, out=numerator)
    ssim_d = _positive_part(numerator, numerator)
    # the edge maps: (1 + |img2 - mu2|) / (1 + |img1 - mu1|) - 1, split by sign
    d1 = img2[top:bottom, columns] - mu2
    np.abs(d1, out=d1)
    d1 += 1.0
    d1 *= inverse[top:bottom]
    d1 -= 1.0
    artifact = _positive_part(d1)
    np.negative(d1, out=d1)
    return ssim_d, artifact, _positive_part(d1, d1)


def _positive_part(plane: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """max(plane, 0) (into ``out``, which may be ``plane``), by OpenCV's threshold: numpy's float32
    ``maximum`` (NaN-propagating) took 26 us on a tile's stripe here where this takes 6."""
    target = np.empty_like(plane) if out is None else out
    if not (plane.flags.c_contiguous and target.flags.c_contiguous):
        return np.maximum(plane, 0.0, out=target)  # (a reshaped view would be a copy)
    flat = plane.reshape(plane.shape[0], -1)
    cv2.threshold(flat, 0.0, 0.0, cv2.THRESH_TOZERO, dst=target.reshape(flat.shape))
    return target


def score_sums(per_region: list[list[_Sums]], scales: int) -> float:
    """SSIMULACRA2 of regions taken as one image from their per-scale sums (:meth:`Reference.sums`),
    pooling the first ``scales`` of each."""
    return _score(_pool(per_region, scales))


def stratified_score(rest: list[list[_Sums]], stratum: list[list[_Sums]], share: float, scales: int) -> float | None:
    """SSIMULACRA2 of a photo estimated from sampled regions by post-stratification: ``stratum`` are
    the sums over a stratum's pixels wherever it was sampled best, ``rest`` the sums over the other
    pixels of the sampled regions, and ``share`` the stratum's fraction of the photo. Each scale's
    means (and means of fourth powers) are the two parts', weighted by their shares of the photo
    instead of the sample's (a plain pooling weights them by how much of each the sampled regions
    happened to hold). Where the sample holds (almost) nothing outside the stratum at a scale, the
    stratum's means stand for the rest there. None where there is nothing of the stratum."""
    if not stratum:
        return None
    others, own = _pool(rest, scales), _pool(stratum, scales)
    pooled: list[_Sums] = []
    for other, part in zip(others, own):
        if part.count <= 0.0:
            return None
        mean = part.values / part.count
        level = _Sums()
        level.values = share * mean + (1.0 - share) * (other.values / other.count if other.count > 0.5 else mean)
        level.count = 1.0
        pooled.append(level)
    return _score(pooled)


def pooled_against(references: list[Reference], distorted: list[np.ndarray]) -> float:
    """SSIMULACRA2 of several regions taken as one image (as :func:`pooled_ssimulacra2`), each against
    its kept :class:`Reference`."""
    scales = min(len(reference.levels) for reference in references) if references else 0
    return score_sums([reference.sums(image) for reference, image in zip(references, distorted)], scales)
