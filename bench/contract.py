"""``focuspress bench contract``: bytes at the fidelity contract, against what users would pick instead.

For every whole photo of a folder of JPEGs (``../shared/data/camera-native``):

* **focuspress**, default settings (the contract: subject >= 90, photo >= 80): its bytes and time,
  and the time of one fixed-quality encode (``-q 85``) of the same photo for the ratio (times
  taken afterwards on one worker alone, best of two, a warm engine);
* its scores measured afterwards with the **full** SSIMULACRA2 (not the in-loop estimate) on the
  whole photo and on the subject (:mod:`focuspress.engine.fidelity.subject`, from the photo's
  own map: the whole photo's error maps pooled over the subject's pixels), and the estimate the
  contract reported, for its error; the subject's share of the frame and of the output's bytes
  (each block's coded bits estimated from its levels: what binds, and where the bytes went);
* **mozjpeg** and **jpegli** searched like jpeg-recompress: the lowest integer quality whose file
  meets the *same two targets* with the full metric (a uniform encoder must keep the subject too);
* the no-loss floor: mozjpeg's lossless re-scan and JPEG XL's lossless transcode of the source.

Savings are counted like for like, on the **image**: the coded image of each output (no metadata
segments: the re-encoders write none) against the source's own coded image (its primary JPEG
without its metadata segments, without what follows it: a phone's depth map or gain map, a
maker's preview). The lossless floor is measured on that same image. focuspress's **file**
saving is also given: its output file as the default metadata policy writes it (EXIF, maker
notes, XMP, ICC, MPF images kept) against the file as the camera wrote it.
"""

from __future__ import annotations

import json
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np

_engine = None


def _init() -> None:
    global _engine
    from focuspress.engine.api import Engine

    _engine = Engine()
    _engine.warm_up()


def _scores(reference: np.ndarray, data: bytes, weight: np.ndarray | None) -> tuple[float, float | None]:
    """Full SSIMULACRA2 of ``data`` against ``reference``: the photo's, and the subject's (``weight``
    marks its pixels; None: no subject)."""
    from focuspress.engine.io import decode_upright
    from focuspress.engine.metrics.ssimulacra2 import ssimulacra2, ssimulacra2_with_region

    shown = decode_upright(data)
    if weight is None:
        return ssimulacra2(reference, shown), None
    return ssimulacra2_with_region(reference, shown, weight)


def subject_bytes_share(data: bytes, subject) -> float:
    """The share of a JPEG's coded bits that its subject's blocks take (bits per block estimated from
    its levels: each nonzero level's magnitude category plus an average Huffman code, as the RDO
    quantizer counts them), on the stored grid."""
    from focuspress.engine.jpegfile.reader import read_dct

    jpeg = read_dct(data)
    luma = jpeg.Y
    rows, cols = luma.shape[:2]
    bits = np.zeros((rows, cols), dtype=np.float64)
    planes = [jpeg.Y] + ([jpeg.Cb, jpeg.Cr] if jpeg.has_chrominance else [])
    for plane in planes:
        levels = np.abs(plane.astype(np.int32))
        category = np.where(levels > 0, np.floor(np.log2(np.maximum(levels, 1))) + 1 + 4, 0.0).sum(axis=(2, 3))
        fy, fx = max(1, round(rows / plane.shape[0])), max(1, round(cols / plane.shape[1]))
        spread = np.repeat(np.repeat(category / (fy * fx), fy, axis=0), fx, axis=1)[:rows, :cols]
        bits[: spread.shape[0], : spread.shape[1]] += spread
    blocks = subject.blocks[:rows, :cols]
    total = bits.sum()
    return float(bits[: blocks.shape[0], : blocks.shape[1]][blocks].sum() / total) if total else 0.0


def _search(encode, reference, weight, photo_target: float, subject_target: float) -> tuple[bytes, int, tuple]:
    """The lowest integer quality whose output meets both targets (bisection; quality 100 if none)."""
    lo, hi = 40, 100
    best: tuple[bytes, int, tuple] | None = None
    while lo <= hi:
        mid = (lo + hi) // 2
        data = encode(reference, mid)
        photo, subject = _scores(reference, data, weight)
        if photo >= photo_target and (subject is None or subject >= subject_target):
            best, hi = (data, mid, (photo, subject)), mid - 1
        else:
            lo = mid + 1
    if best is None:
        data = encode(reference, 100)
        best = (data, 100, _scores(reference, data, weight))
    return best


def _moz(rgb: np.ndarray, quality: int) -> bytes:
    from focuspress.bench.codecs.mozjpeg import MozJpeg

    return MozJpeg().encode(rgb, quality, None)


def _jpegli(rgb: np.ndarray, quality: int) -> bytes:
    from focuspress.bench.codecs.jpegli import Jpegli

    return Jpegli().encode(rgb, quality, None)


def measure_photo(path_text: str) -> dict:
    """One photo's row (see the module's docstring)."""
    from focuspress.engine.fidelity.subject import find_subject
    from focuspress.engine.jpegfile.rescan import mozjpeg_progressive
    from focuspress.engine.options import CompressOptions
    from focuspress.engine.pipeline import Work
    from focuspress.evaluation import coded_image, source_coded_image, split_of

    assert _engine is not None
    path = Path(path_text)
    data = path.read_bytes()
    outcome = _engine.run([Work(data, path.name, CompressOptions(), keep_image=True)])[0]
    assert outcome.result is not None and outcome.image is not None
    result, image = outcome.result, outcome.image
    reference = image.rgb
    subject = find_subject(result.importance, image.height, image.width)
    weight = None if subject.empty else subject.weight()
    ours = coded_image(result.data, image)
    photo, subject_score = _scores(reference, ours, weight)
    targets = (80.0, 90.0)
    moz, moz_q, moz_scores = _search(_moz, reference, weight, *targets)
    jli, jli_q, jli_scores = _search(_jpegli, reference, weight, *targets)
    source_image = source_coded_image(data)
    try:
        import imagecodecs

        jxl = len(imagecodecs.jpegxl_encode_jpeg(source_image))
    except Exception:  # an imagecodecs without JPEG XL: the column stays empty
        jxl = None
    estimate = result.scores
    return {
        "image": path.name,
        "split": split_of(path),
        "megapixels": image.width * image.height / 1e6,
        "source_bytes": len(data),
        "source_image_bytes": len(source_image),
        "focuspress_bytes": len(ours),
        "focuspress_file_bytes": result.bytes,
        "outcome": result.outcome,
        "contract_quality": result.contract.quality if result.contract else None,
        "contract_background": result.contract.background if result.contract else None,
        "photo": photo,
        "subject": subject_score,
        "estimate_photo": estimate.photo if estimate else None,
        "estimate_subject": estimate.subject if estimate else None,
        "estimated": bool(result.contract and not result.contract.exact),
        "subject_area": subject.share,
        "subject_bytes": _stored_subject_bytes_share(ours, image, result.importance),
        "mozjpeg_bytes": len(moz),
        "mozjpeg_quality": moz_q,
        "mozjpeg_scores": moz_scores,
        "jpegli_bytes": len(jli),
        "jpegli_quality": jli_q,
        "jpegli_scores": jli_scores,
        "mozjpeg_lossless_bytes": len(mozjpeg_progressive(source_image)),
        "jxl_jpeg_bytes": jxl,
    }


def _stored_subject_bytes_share(data: bytes, image, importance: np.ndarray) -> float:
    """:func:`subject_bytes_share` of an output whose pixels are stored turned (a camera JPEG's)."""
    from focuspress.engine.fidelity.subject import find_subject
    from focuspress.engine.jpeg_input import keeps_stored_orientation, to_stored_orientation

    if keeps_stored_orientation(image) and image.orientation != 1:
        stored = to_stored_orientation(importance, image.orientation)
        height, width = (image.width, image.height) if image.orientation >= 5 else (image.height, image.width)
        return subject_bytes_share(data, find_subject(stored, height, width))
    return subject_bytes_share(data, find_subject(importance, image.height, image.width))


#: each time is the best of this many runs (a warm engine; the first run of a photo pays for caches)
TIMING_RUNS = 2


def time_photo(path_text: str) -> dict:
    """The contract's time and one fixed-quality encode's (``-q 85``), end to end through the
    pipeline, each the best of :data:`TIMING_RUNS`, interleaved."""
    from focuspress.engine.options import CompressOptions
    from focuspress.engine.pipeline import Work

    assert _engine is not None
    path = Path(path_text)
    data = path.read_bytes()
    best = {"fixed_seconds": float("inf"), "contract_seconds": float("inf")}
    for _ in range(TIMING_RUNS):
        for key, options in (("fixed_seconds", CompressOptions(quality=85)), ("contract_seconds", CompressOptions())):
            t0 = time.perf_counter()
            outcome = _engine.run([Work(data, path.name, options)])[0]
            best[key] = min(best[key], time.perf_counter() - t0)
            assert outcome.result is not None
    return {"image": path.name, **best}


def run(paths: list[Path], *, jobs: int = 2, progress=None) -> list[dict]:
    """Sizes and scores on ``jobs`` workers, then the times on one worker alone (times measured
    beside another job's searches would be the other job's as much as this one's)."""
    rows = []
    names = [str(p) for p in paths]
    context = get_context("spawn")
    with context.Pool(jobs, initializer=_init) as pool:
        for row in pool.imap_unordered(measure_photo, names):
            rows.append(row)
            if progress:
                progress(row)
    with context.Pool(1, initializer=_init) as pool:
        times = {t["image"]: t for t in pool.imap_unordered(time_photo, names)}
    for row in rows:
        row.update(times[row["image"]])
    return sorted(rows, key=lambda r: r["image"])


def summary(rows: list[dict]) -> list[str]:
    """Markdown: the headline figures, per split, and a row per photo."""

    def med(values) -> float:
        present = [v for v in values if v is not None]
        return float(np.median(present)) if present else float("nan")

    def p10(values) -> float:
        present = [v for v in values if v is not None]  # a photo without a subject has no subject score
        return float(np.percentile(present, 10)) if present else float("nan")

    lines = [
        "| photos | focuspress saving (median) | file saving, metadata kept | p10 photo SSIMULACRA2 | "
        "p10 subject SSIMULACRA2 | "
        "bytes / mozjpeg search (median) | / jpegli search (median) | mozjpeg search saving | "
        "jpegli search saving | mozjpeg lossless | JPEG XL lossless | time / one fixed encode (median, max) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, subset in (
        ("all", rows),
        ("train", [r for r in rows if r["split"] == "train"]),
        ("val", [r for r in rows if r["split"] == "val"]),
    ):
        if not subset:
            continue
        ratios = [r["contract_seconds"] / r["fixed_seconds"] for r in subset]
        jxl = [1 - r["jxl_jpeg_bytes"] / r["source_image_bytes"] for r in subset if r["jxl_jpeg_bytes"]]
        saving = med([1 - r["focuspress_bytes"] / r["source_image_bytes"] for r in subset])
        file_saving = med([1 - r["focuspress_file_bytes"] / r["source_bytes"] for r in subset])
        lines.append(
            f"| {label} ({len(subset)}) | {100 * saving:.1f}% | {100 * file_saving:.1f}% "
            f"| {p10([r['photo'] for r in subset]):.1f} | {p10([r['subject'] for r in subset]):.1f} "
            f"| {med([r['focuspress_bytes'] / r['mozjpeg_bytes'] for r in subset]):.2f}x "
            f"| {med([r['focuspress_bytes'] / r['jpegli_bytes'] for r in subset]):.2f}x "
            f"| {100 * med([1 - r['mozjpeg_bytes'] / r['source_image_bytes'] for r in subset]):.1f}% "
            f"| {100 * med([1 - r['jpegli_bytes'] / r['source_image_bytes'] for r in subset]):.1f}% "
            f"| {100 * med([1 - r['mozjpeg_lossless_bytes'] / r['source_image_bytes'] for r in subset]):.1f}% "
            f"| {100 * med(jxl):.1f}% | {np.median(ratios):.2f}x, {max(ratios):.2f}x |"
        )
    errors_photo = [
        r["estimate_photo"] - r["photo"] for r in rows if r["estimated"] and r["estimate_photo"] is not None
    ]
    errors_subject = [
        r["estimate_subject"] - r["subject"]
        for r in rows
        if r["estimated"] and r["estimate_subject"] is not None and r["subject"] is not None
    ]
    lines += [
        "",
        "In-loop estimate minus full SSIMULACRA2 (tile estimate, camera-sized photos): "
        + _spread("photo", errors_photo)
        + "; "
        + _spread("subject", errors_subject)
        + ".",
        "",
        "| photo | split | MP | subject: frame, bytes | quality, background | focuspress saving (file) "
        "| photo / subject (full) | estimate | mozjpeg search q, saving | jpegli search q, saving | time ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        subject = f"{r['subject']:.1f}" if r["subject"] is not None else "-"
        est = "-"
        if r["estimate_photo"] is not None:
            est_subject = f"{r['estimate_subject']:.1f}" if r["estimate_subject"] is not None else "-"
            est = f"{r['estimate_photo']:.1f} / {est_subject}"
        lines.append(
            f"| {Path(r['image']).stem} | {r['split']} | {r['megapixels']:.1f} "
            f"| {100 * r['subject_area']:.0f}%, {100 * r.get('subject_bytes', float('nan')):.0f}% "
            f"| {_knobs(r)} "
            f"| {100 * (1 - r['focuspress_bytes'] / r['source_image_bytes']):.1f}% "
            f"({100 * (1 - r['focuspress_file_bytes'] / r['source_bytes']):.1f}%, {r['outcome']}) "
            f"| {r['photo']:.1f} / {subject} | {est} "
            f"| {r['mozjpeg_quality']}, {100 * (1 - r['mozjpeg_bytes'] / r['source_image_bytes']):.1f}% "
            f"| {r['jpegli_quality']}, {100 * (1 - r['jpegli_bytes'] / r['source_image_bytes']):.1f}% "
            f"| {r['contract_seconds'] / r['fixed_seconds']:.2f}x |"
        )
    return lines


def _knobs(row: dict) -> str:
    quality, background = row.get("contract_quality"), row.get("contract_background")
    return f"{quality:.1f}, {background:.1f}" if quality is not None and background is not None else "-"


def _spread(name: str, errors: list[float]) -> str:
    if not errors:
        return f"{name}: no estimated photos"
    values = np.array(errors)
    return (
        f"{name} mean {values.mean():+.2f}, sd {values.std():.2f}, "
        f"p5..p95 {np.percentile(values, 5):+.2f}..{np.percentile(values, 95):+.2f} ({len(values)} photos)"
    )


def save(rows: list[dict], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    path.write_text(json.dumps(rows, indent=1))
    return path


def measure_object(args: tuple[str, str]) -> dict:
    """One ECSSD photo at the default contract: SSIMULACRA2 of its ground-truth object's box."""
    from focuspress.engine.io import decode_upright, load_image
    from focuspress.engine.metrics.ssimulacra2 import ssimulacra2, ssimulacra2_with_region
    from focuspress.engine.options import CompressOptions
    from focuspress.engine.pipeline import Work

    assert _engine is not None
    image_path, mask_path = args
    data = Path(image_path).read_bytes()
    outcome = _engine.run([Work(data, Path(image_path).name, CompressOptions(), keep_image=True)])[0]
    if outcome.result is None:
        return {"image": Path(image_path).name, "refused": str(outcome.refusal)}
    # the photo as the pipeline decoded it (a photo kept as it was may come back without it)
    reference = outcome.image.rgb if outcome.image is not None else decode_upright(data)
    shown = decode_upright(outcome.result.data)
    mask = load_image(Path(mask_path)).rgb[..., 0] > 127
    rows, cols = np.nonzero(mask)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    box = (slice(top, bottom), slice(left, right))
    scores = outcome.result.scores
    photo, over_mask = ssimulacra2_with_region(reference, shown, mask.astype(np.float32))
    return {
        "image": Path(image_path).name,
        "object": ssimulacra2(reference[box], shown[box]),
        # the object itself: the photo's error maps pooled over its mask (as the contract pools its subject)
        "object_mask": over_mask,
        "photo": photo,
        "saving": 1 - outcome.result.bytes / len(data),
        "subject_found": bool(scores and scores.subject is not None),
    }


def run_objects(pairs: list[tuple[Path, Path]], *, jobs: int = 2, progress=None) -> list[dict]:
    rows = []
    with get_context("spawn").Pool(jobs, initializer=_init) as pool:
        for row in pool.imap_unordered(measure_object, [(str(a), str(b)) for a, b in pairs]):
            rows.append(row)
            if progress:
                progress(row)
    return sorted(rows, key=lambda r: r["image"])


def objects_summary(rows: list[dict]) -> list[str]:
    refused = [r for r in rows if "refused" in r]
    rows = [r for r in rows if "refused" not in r]
    objects = np.array([r["object"] for r in rows])
    photos = np.array([r["photo"] for r in rows])
    masks = np.array([r.get("object_mask", np.nan) for r in rows])
    return [
        f"ECSSD validation photos at the default contract ({len(rows)} images): ground-truth object's SSIMULACRA2 "
        f"(its mask's box) p10 {np.percentile(objects, 10):.1f}, median {np.median(objects):.1f}; over its mask "
        f"(the photo's error maps pooled there, as the subject score is) p10 {np.percentile(masks, 10):.1f}, "
        f"median {np.median(masks):.1f}; whole photo p10 "
        f"{np.percentile(photos, 10):.1f}; median saving {100 * np.median([r['saving'] for r in rows]):.1f}%; "
        f"a subject found on {sum(r['subject_found'] for r in rows)} of {len(rows)}",
        "",
        "The eight lowest objects (where the contract's subject and the object part ways):",
        "",
        "| image | object (box) | object (mask) | whole photo | saving | subject found |",
        "|---|---|---|---|---|---|",
        *[
            f"| {Path(r['image']).stem} | {r['object']:.1f} | {r.get('object_mask', float('nan')):.1f} "
            f"| {r['photo']:.1f} | {100 * r['saving']:.1f}% "
            f"| {'yes' if r['subject_found'] else 'no'} |"
            for r in sorted(rows, key=lambda r: r["object"])[:8]
        ],
        *([""] + [f"Refused: {r['image']} ({r['refused']})" for r in refused] if refused else []),
    ]
