"""The block compositor's transform, quantizer and bitstream against libjpeg itself."""

from __future__ import annotations

import io

import jpeglib
import numpy as np
import pytest
from PIL import Image

from focuspress.engine.compositor.block.color import downsample_2x2, pad_to_multiple, rgb_to_ycbcr
from focuspress.engine.compositor.block.dct import forward_dct, inverse_dct
from focuspress.engine.compositor.block.encoder import BlockSettings, encode_block, prepare
from focuspress.engine.compositor.block.quantize import quantize_rdo
from focuspress.engine.compositor.block.tables import annex_k_tables, integer_tables, perceptual_tables, tables_for
from focuspress.engine.metrics import psnr
from tests.conftest import encode, synthetic_photo


def _read_dct(data: bytes, tmp_path):
    path = tmp_path / "x.jpg"
    path.write_bytes(data)
    return jpeglib.read_dct(str(path))


def test_dct_roundtrip_is_lossless(photo):
    y, _, _ = rgb_to_ycbcr(photo)
    plane = pad_to_multiple(y, 8, 8)
    back = inverse_dct(forward_dct(plane))
    assert np.max(np.abs(back - plane)) < 1e-3


@pytest.mark.parametrize("subsampling,pil_sub", [("444", 0), ("420", 2)])
def test_coefficients_match_libjpeg(photo, tmp_path, subsampling, pil_sub):
    """Our DCT + plain rounding equals libjpeg's (Pillow) coefficients, up to its integer DCT."""
    ours = encode_block(
        photo,
        None,
        80,
        roi_strength=0,
        settings=BlockSettings(subsampling=subsampling, tables="annex-k", rdo_lambda=0, progressive="never"),
    )
    theirs = encode(photo, "JPEG", quality=80, subsampling=pil_sub)
    a, b = _read_dct(ours, tmp_path), _read_dct(theirs, tmp_path)
    np.testing.assert_array_equal(a.qt[0], b.qt[0])
    for comp in ("Y", "Cb", "Cr"):
        ca, cb = getattr(a, comp), getattr(b, comp)
        assert ca.shape == cb.shape
        diff = np.abs(ca.astype(int) - cb.astype(int))
        assert diff.max() <= 1, comp
        assert (diff == 0).mean() > 0.98, comp


def test_written_coefficients_are_exactly_ours(photo, tmp_path):
    settings = BlockSettings(progressive="never")
    prepared = prepare(photo, None, 0.0, settings)
    tables = tables_for("perceptual", 70)
    expected = quantize_rdo(prepared.coefficients[0], tables[0], prepared.block_weight[0] * settings.rdo_lambda)
    data = encode_block(photo, None, 70, roi_strength=0, settings=settings)
    read = _read_dct(data, tmp_path)
    np.testing.assert_array_equal(read.Y, expected)
    np.testing.assert_array_equal(read.qt[0], tables[0])


def test_output_decodes_with_libjpeg_turbo_and_keeps_size():
    photo = synthetic_photo(101, 77)  # odd sizes: partial MCUs
    for sub in ("444", "420"):
        data = encode_block(photo, None, 85, settings=BlockSettings(subsampling=sub))
        decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        assert decoded.shape == photo.shape
        err = np.abs(decoded.astype(int) - photo.astype(int)).mean()
        assert err < 12


def test_greyscale_input_writes_one_component(tmp_path):
    grey = np.repeat(synthetic_photo()[..., :1], 3, axis=2)
    data = encode_block(grey, None, 75)
    assert Image.open(io.BytesIO(data)).mode == "L"


def test_quality_is_monotone_in_size(photo):
    sizes = [len(encode_block(photo, None, q, roi_strength=0)) for q in (20, 50, 80, 95)]
    assert sizes == sorted(sizes)


def test_rdo_zeroes_more_with_bigger_lambda():
    rng = np.random.default_rng(1)
    coeffs = rng.normal(0, 20, (4, 4, 8, 8)).astype(np.float32)
    table = np.full((8, 8), 10.0)
    plain = quantize_rdo(coeffs, table, None)
    np.testing.assert_array_equal(plain, np.round(coeffs / 10))
    weak = quantize_rdo(coeffs, table, np.full((4, 4), 0.05))
    strong = quantize_rdo(coeffs, table, np.full((4, 4), 1.0))
    assert (strong == 0).sum() > (weak == 0).sum() > (plain == 0).sum()
    # DC is never steered: blocking shows first
    np.testing.assert_array_equal(strong[:, :, 0, 0], plain[:, :, 0, 0])


def _rd_choice(x: float, lam: float, symbol: float) -> int:
    """The module docstring's rule, one coefficient in plain Python: of round(|x|), round(|x|) - 1
    and 0, the level with the least (|x| - l)^2 + lam * bits(l) (ties: the rounded level, then 0)."""
    a = abs(x)
    if a <= 0.5:
        return 0

    def cost(level: int) -> float:
        bits = 0.0 if level == 0 else level.bit_length() + symbol  # category: floor(log2 l) + 1
        return (a - level) ** 2 + lam * bits

    l0 = round(a)
    best = l0 - 1 if cost(l0 - 1) < cost(l0) else l0
    if a * a <= min(cost(l0), cost(l0 - 1)):
        best = 0
    return int(np.copysign(best, x))


def test_rdo_levels_are_the_rate_distortion_choice_of_each_coefficient(monkeypatch):
    """Every AC level, stripe after stripe, is the choice the docstring defines, at categories'
    edges (levels near powers of two), with per-frequency lambda (a source's coarser steps) and
    per-frequency symbol bits: the quantizer's exponent-bit categories and cache-sized stripes
    change its speed, not one level."""
    from focuspress.engine.compositor.block import quantize

    monkeypatch.setattr(quantize, "STRIPE_BLOCKS", 16)  # 10 blocks a row: one row a stripe
    rng = np.random.default_rng(7)
    edges = rng.choice([1, 2, 4, 8, 16, 64], (6, 10, 8, 8)) + rng.uniform(-0.6, 0.6, (6, 10, 8, 8))
    coeffs = (np.where(rng.random((6, 10, 8, 8)) < 0.5, edges, rng.normal(0, 6, (6, 10, 8, 8))) * 10).astype(np.float32)
    table = np.full((8, 8), 10.0)
    lam = rng.uniform(0.0, 3.0, (6, 10)).astype(np.float32)
    asked = np.full((8, 8), 10.0)
    asked[4:, :] = 5.0  # those steps were asked finer than used: lambda * (5 / 10)^2 there
    symbols = rng.uniform(2.0, 5.0, 64).astype(np.float32)
    for symbol_bits, asked_table in ((4.0, None), (symbols, asked)):
        levels = quantize_rdo(coeffs, table, lam, symbol_bits=symbol_bits, asked_table=asked_table)
        frequency = np.ones((8, 8)) if asked_table is None else np.minimum(asked_table / table, 1.0) ** 2
        symbol = np.broadcast_to(np.asarray(symbol_bits, dtype=np.float32), (64,)).reshape(8, 8)
        expected = np.zeros(coeffs.shape, dtype=np.int16)
        for index in np.ndindex(*coeffs.shape):
            by, bx, u, v = index
            if (u, v) == (0, 0):
                expected[index] = round(coeffs[index] / 10.0)
            else:
                block_lam = float(lam[by, bx] * np.float32(frequency[u, v]))
                expected[index] = _rd_choice(float(coeffs[index]) / 10.0, block_lam, float(symbol[u, v]))
        np.testing.assert_array_equal(levels, expected)


def test_importance_moves_quality_to_the_roi():
    photo = synthetic_photo(128, 256, seed=3)
    importance = np.zeros(photo.shape[:2], np.float32)
    importance[:, :128] = 1.0

    def side_errors(strength):
        data = encode_block(photo, importance, 60, roi_strength=strength)
        dec = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(float)
        err = (dec - photo) ** 2
        return err[:, :128].mean(), err[:, 128:].mean()

    roi0, bg0 = side_errors(0.0)
    roi1, bg1 = side_errors(1.0)
    assert roi1 < roi0  # the important half got better
    assert bg1 > bg0  # paid for by the background


def test_tables_are_legal_and_monotone():
    for family in ("perceptual", "annex-k"):
        low, high = tables_for(family, 30), tables_for(family, 90)
        assert low.dtype == np.uint16 and low.min() >= 1 and low.max() <= 255
        assert np.all(low >= high)
    np.testing.assert_array_equal(integer_tables(annex_k_tables(50))[0, 0, :3], [16, 11, 10])
    assert perceptual_tables(75).shape == (3, 8, 8)


def test_downsample_averages():
    plane = np.arange(16, dtype=np.float32).reshape(4, 4)
    np.testing.assert_allclose(downsample_2x2(plane), [[2.5, 4.5], [10.5, 12.5]])


def test_icc_profile_is_written_into_the_jpeg(photo):
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for progressive in ("never", "always"):
        data = encode_block(photo, None, 75, settings=BlockSettings(progressive=progressive), icc_profile=icc)
        assert Image.open(io.BytesIO(data)).info.get("icc_profile") == icc


def test_progressive_auto_keeps_the_smaller(photo):
    sizes = {
        p: len(encode_block(photo, None, 75, settings=BlockSettings(progressive=p)))
        for p in ("never", "always", "auto")
    }
    assert sizes["auto"] == min(sizes["never"], sizes["always"])
    assert Image.open(io.BytesIO(encode_block(photo, None, 75, settings=BlockSettings(progressive="always")))).info.get(
        "progressive"
    )


def test_progressive_auto_writes_the_optimized_baseline_only_where_it_could_win(monkeypatch):
    """Without TurboJPEG's one pass (or for a file it cannot carry) the re-scan reads a standard-table
    baseline; the optimized baseline is written too only where the progressive file is not clearly
    smaller, and then the smaller file is kept."""
    from focuspress.engine.jpegfile import writer

    monkeypatch.setattr(writer, "_one_pass", lambda *_a, **_k: None)  # as where libturbojpeg is absent
    calls: list[bool] = []
    original = writer.write_with_jpeglib

    def counting(jpeg, optimize=True):
        calls.append(optimize)
        return original(jpeg, optimize)

    monkeypatch.setattr(writer, "write_with_jpeglib", counting)
    from focuspress.bench.photos import detailed_photo, encoded
    from focuspress.engine.jpegfile.reader import read_dct

    jpeg = read_dct(encoded(detailed_photo(256, 320), "JPEG", quality=90))
    clear = writer.write_dct(jpeg, progressive="auto")
    assert calls == [False]  # a camera-like photo: progressive is clearly the smaller
    calls.clear()
    monkeypatch.setattr(writer, "CLEARLY_SMALLER", 0.0)  # never clear: both are written, the smaller kept
    both = writer.write_dct(jpeg, progressive="auto")
    assert calls == [False, True]
    baseline = writer.write_dct(jpeg, progressive="never")
    assert both == clear and len(both) < len(baseline)


def test_large_icc_profile_spans_several_markers(photo):
    fake = bytes(range(256)) * 600  # 153,600 bytes: three APP2 chunks
    data = encode_block(photo, None, 75, settings=BlockSettings(progressive="never"), icc_profile=fake)
    assert Image.open(io.BytesIO(data)).info.get("icc_profile") == fake


@pytest.mark.parametrize("size", [(97, 129), (321, 481), (100, 130), (8, 8), (17, 9)])
def test_420_at_any_size_matches_libjpeg_turbos_own_420(size):
    """4:2:0 on sizes that are not multiples of the 16-pixel MCU (round 1 wrote misaligned rows)."""
    rgb = synthetic_photo(*size)
    ours = Image.open(io.BytesIO(encode_block(rgb, None, 95, settings=BlockSettings(subsampling="420"))))
    assert ours.size == (size[1], size[0]) and ours.layer[0][1:3] == (2, 2)  # luma sampled 2x2: 4:2:0
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=95, subsampling=2)
    turbo = np.asarray(Image.open(buffer).convert("RGB"))
    assert psnr(rgb, np.asarray(ours.convert("RGB"))) > psnr(rgb, turbo) - 1.0


def _baseline_of(rgb: np.ndarray) -> bytes:
    from focuspress.engine.jpegfile.reader import read_dct
    from focuspress.engine.jpegfile.writer import write_dct

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=92)
    return write_dct(read_dct(buffer.getvalue()), progressive="never")


@pytest.mark.parametrize("implementation", ["turbojpeg", "mozjpeg"])
def test_the_progressive_rescan_is_lossless_and_smaller(implementation):
    """Both re-scans keep every coefficient, write a progressive file (SOF2), and save bytes."""
    from focuspress.engine.jpegfile import rescan
    from focuspress.engine.jpegfile.reader import read_dct

    if implementation == "turbojpeg" and rescan.backend() != "turbojpeg":
        pytest.skip("libturbojpeg is not installed (Debian: libturbojpeg0)")
    baseline = _baseline_of(synthetic_photo(384, 512, seed=4))
    rescanned = getattr(rescan, f"{implementation}_progressive")(baseline)
    assert b"\xff\xc2" in rescanned[:4096] and b"\xff\xc2" not in baseline[:4096]
    assert len(rescanned) < len(baseline)
    before, after = read_dct(baseline), read_dct(rescanned)
    for component in ("Y", "Cb", "Cr"):
        assert np.array_equal(getattr(before, component), getattr(after, component))


def test_the_rescan_falls_back_to_mozjpeg(monkeypatch):
    """Where TurboJPEG is absent or refuses a file, mozjpeg's re-scan does the same job."""
    from focuspress.engine.jpegfile import rescan

    baseline = _baseline_of(synthetic_photo(128, 160, seed=5))

    def refuse(_data: bytes) -> bytes:
        raise RuntimeError("refused")

    monkeypatch.setattr(rescan, "turbojpeg_progressive", refuse)
    assert len(baseline) * 8 > rescan.MOZJPEG_BELOW_BPP * 128 * 160  # a file TurboJPEG would take
    assert rescan.progressive(baseline, pixels=128 * 160) == rescan.mozjpeg_progressive(baseline)
    monkeypatch.setattr(rescan, "_turbojpeg", lambda: None)
    assert rescan.backend() == "mozjpeg"
    assert rescan.progressive(baseline, pixels=128 * 160) == rescan.mozjpeg_progressive(baseline)


def test_sparse_files_get_mozjpegs_scan_search_dense_ones_turbojpeg():
    """Under MOZJPEG_BELOW_BPP the re-scan is mozjpeg's (its scan search saves most there, and costs
    little), otherwise TurboJPEG's (where it is installed), whatever the photo's size."""
    from focuspress.engine.jpegfile import rescan

    if rescan.backend() != "turbojpeg":
        pytest.skip("libturbojpeg is not installed (Debian: libturbojpeg0)")
    baseline = _baseline_of(synthetic_photo(128, 160, seed=5))
    bits = len(baseline) * 8
    at = bits / rescan.MOZJPEG_BELOW_BPP  # the pixel count at which this file sits on the threshold
    turbo, moz = rescan.turbojpeg_progressive(baseline), rescan.mozjpeg_progressive(baseline)
    assert turbo != moz
    assert rescan.progressive(baseline, pixels=int(at * 0.9)) == turbo
    assert rescan.progressive(baseline, pixels=int(at * 1.1) + 1) == moz


def test_a_small_file_is_the_smaller_of_its_one_pass_progressive_file_and_its_baseline(monkeypatch):
    """Under SMALL_FILE_BYTES the writer weighs the optimized baseline beside the one-pass
    progressive file (a small file's scan headers weigh more: on this smooth photo the baseline is
    the smaller); above it the progressive file is written alone. Never through the
    baseline-then-re-scan route."""
    from focuspress.engine.jpegfile import reader, rescan, writer

    if rescan.backend() != "turbojpeg":
        pytest.skip("libturbojpeg is not installed (Debian: libturbojpeg0)")
    monkeypatch.setattr(rescan, "progressive", lambda *_a, **_k: pytest.fail("the two-pass route was taken"))
    calls: list[bool] = []
    original = writer.write_with_jpeglib
    monkeypatch.setattr(
        writer, "write_with_jpeglib", lambda j, optimize=True: calls.append(optimize) or original(j, optimize)
    )
    jpeg = reader.read_dct(encode(synthetic_photo(), "JPEG", quality=75))
    progressive = writer._one_pass(jpeg, progressive=True)
    assert progressive is not None and len(progressive) < writer.SMALL_FILE_BYTES
    small = writer.write_dct(jpeg)
    assert calls == [True] and b"\xff\xc2" not in small and len(small) < len(progressive)
    calls.clear()
    monkeypatch.setattr(writer, "SMALL_FILE_BYTES", len(progressive))  # the same file counts as big
    assert writer.write_dct(jpeg) == progressive and calls == []


#: cjpeg's -sample per sampling (None: greyscale), for the one-pass progressive write's tests
_CJPEG_SAMPLES = {"444": "1x1", "422": "2x1", "420": "2x2", "440": "1x2", "411": "4x1", "grey": None}


def _cjpeg(rgb: np.ndarray, sampling: str, tmp_path) -> bytes:
    """A baseline JPEG of ``rgb`` written by libjpeg-turbo's cjpeg with ``sampling``."""
    import shutil
    import subprocess

    cjpeg = shutil.which("cjpeg")
    if cjpeg is None:
        pytest.skip("cjpeg not installed (apt install libjpeg-turbo-progs)")
    source = tmp_path / "in.ppm"
    sample = _CJPEG_SAMPLES[sampling]
    if sample is None:
        Image.fromarray(rgb).convert("L").save(tmp_path / "in.pgm")
        source = tmp_path / "in.pgm"
        args = [cjpeg, "-grayscale", "-quality", "90"]
    else:
        Image.fromarray(rgb).save(source)
        args = [cjpeg, "-sample", sample, "-quality", "90"]
    return subprocess.run([*args, str(source)], check=True, capture_output=True).stdout


@pytest.mark.parametrize("sampling", list(_CJPEG_SAMPLES))
@pytest.mark.parametrize("size", [(97, 129), (64, 48), (33, 65), (8, 8)])
def test_the_one_pass_progressive_file_is_the_rescan_of_its_baseline(sampling, size, tmp_path, monkeypatch):
    """The progressive file written in one pass (TurboJPEG's transform of a blank carrier, filled by
    its custom filter) holds the same levels, tables and sampling, decodes to the same pixels and is
    as small as the re-scan of a baseline written first; at every sampling libjpeg reads, at sizes
    that are not multiples of an MCU."""
    from focuspress.engine.jpegfile import reader, rescan, writer

    if rescan.backend() != "turbojpeg":
        pytest.skip("libturbojpeg is not installed (Debian: libturbojpeg0)")
    monkeypatch.setattr(rescan, "MOZJPEG_BELOW_BPP", 0.0)  # TurboJPEG's file whatever its density
    jpeg = reader.read_dct(_cjpeg(synthetic_photo(*size, seed=size[0]), sampling, tmp_path))
    calls: list[bool] = []
    original = writer.write_with_jpeglib
    monkeypatch.setattr(
        writer, "write_with_jpeglib", lambda j, optimize=True: calls.append(optimize) or original(j, optimize)
    )
    one_pass = writer.write_dct(jpeg, progressive="always")
    assert calls == []  # no baseline was written
    rescanned = rescan.turbojpeg_progressive(original(jpeg, False))
    assert b"\xff\xc2" in one_pass[:2048] and len(one_pass) == len(rescanned)
    ours, theirs = reader.read_dct(one_pass), reader.read_dct(rescanned)
    assert np.array_equal(ours.samp_factor, jpeg.samp_factor) and np.array_equal(ours.qt, theirs.qt)
    for component in ("Y", "Cb", "Cr") if jpeg.has_chrominance else ("Y",):
        assert np.array_equal(getattr(ours, component), getattr(jpeg, component))
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(one_pass))), np.asarray(Image.open(io.BytesIO(rescanned))))


def test_the_one_pass_write_refuses_planes_its_header_does_not_hold():
    """A plane of another size than the header gives it is refused (libjpeg would write past its
    arrays): the writer then takes the two-pass route."""
    from focuspress.engine.jpegfile import rescan, turbojpeg

    if rescan.backend() != "turbojpeg":
        pytest.skip("libturbojpeg is not installed (Debian: libturbojpeg0)")
    tables = np.full((2, 8, 8), 4, np.uint16)
    planes = [np.zeros((5, 7, 8, 8), np.int16), np.zeros((3, 4, 8, 8), np.int16), np.zeros((3, 4, 8, 8), np.int16)]
    assert turbojpeg.from_levels(planes, tables, [0, 1, 1], [(2, 2), (1, 1), (1, 1)], 40, 56)  # 5x7 blocks
    with pytest.raises(RuntimeError, match="blocks"):
        turbojpeg.from_levels(planes, tables, [0, 1, 1], [(2, 2), (1, 1), (1, 1)], 40, 64)  # 5x8 blocks


@pytest.mark.parametrize("sampling", [[(1, 1)], [(2, 2), (1, 1), (1, 1)], [(1, 4), (1, 1), (1, 1)], [(1, 1)] * 3])
def test_the_blank_carrier_is_a_jpeg_of_zero_coefficients(sampling):
    """The carrier libjpeg reads: every coefficient 0 (mid-grey), its tables as given (16-bit ones too)."""
    from focuspress.engine.jpegfile.blank import blank_baseline
    from focuspress.engine.jpegfile.reader import read_dct

    tables = np.stack([np.arange(1, 65).reshape(8, 8) * 5, np.full((8, 8), 300)]).astype(np.uint16)
    table_of = [0] + [1] * (len(sampling) - 1)
    data = blank_baseline(37, 53, sampling, tables, table_of)
    assert data is not None
    image = Image.open(io.BytesIO(data))
    assert image.size == (53, 37)
    assert np.all(np.abs(np.asarray(image.convert("L")).astype(int) - 128) <= 1)
    jpeg = read_dct(data)
    assert not jpeg.Y.any() and np.array_equal(jpeg.qt[jpeg.quant_tbl_no[0]], tables[0])
    if len(sampling) == 3:
        assert np.array_equal(jpeg.qt[jpeg.quant_tbl_no[1]], tables[1])


def test_the_engine_reads_and_writes_through_libjpeg_turbo(photo, tmp_path):
    """The writer loads libjpeg-turbo's build into jpeglib (faster Huffman coding); a coefficient
    read and write through it keeps every level."""
    from focuspress.engine.jpegfile.libjpeg import LIBJPEG, LOADED_LIBJPEG
    from focuspress.engine.jpegfile.reader import read_dct
    from focuspress.engine.jpegfile.writer import write_dct

    if LIBJPEG not in jpeglib.version.versions():
        pytest.skip(f"this jpeglib has no {LIBJPEG} build")
    assert LOADED_LIBJPEG == LIBJPEG and jpeglib.version.get() == LIBJPEG
    source = encode(photo, "JPEG", quality=90, subsampling=2)
    before = read_dct(source)
    after = read_dct(write_dct(read_dct(source), progressive="never"))
    for plane in ("Y", "Cb", "Cr"):
        assert np.array_equal(getattr(before, plane), getattr(after, plane))
    assert np.array_equal(before.qt, after.qt)


@pytest.mark.parametrize("factors", [[(1, 1)], [(1, 1), (2, 2), (2, 2)], [(1, 1), (1, 2), (1, 2)], [(1, 1)] * 3])
def test_a_probe_mosaic_is_the_same_jpeg_whichever_library_writes_it(factors, monkeypatch):
    """The contract's probe mosaics (a baseline with standard tables, only decoded) are written by
    TurboJPEG in one pass where it is installed and by jpeglib elsewhere: the same levels, tables
    and sampling, so the same decoded pixels."""
    from focuspress.engine.compositor.block import probe
    from focuspress.engine.jpegfile import rescan, turbojpeg
    from focuspress.engine.jpegfile.reader import read_dct

    if rescan.backend() != "turbojpeg":
        pytest.skip("libturbojpeg is not installed (Debian: libturbojpeg0)")
    rng = np.random.default_rng(3)
    size, count = 8, 3
    planes = [
        [rng.integers(-20, 20, (size // fv, size // fh, 8, 8)).astype(np.int16) for _ in range(count)]
        for fv, fh in factors
    ]
    tables = np.stack([np.full((8, 8), 3 + i) for i in range(3)]).astype(np.float64)
    turbo = probe.mosaic(planes, tables, factors, size)

    def absent(*_args, **_kwargs):
        raise RuntimeError("libturbojpeg is not installed")

    monkeypatch.setattr(turbojpeg, "from_levels", absent)
    libjpeg = probe.mosaic(planes, tables, factors, size)
    assert turbo != libjpeg  # (two writers: the ids and headers differ)
    assert np.array_equal(probe.decode_rgb(turbo), probe.decode_rgb(libjpeg))
    ours = read_dct(turbo)
    assert np.array_equal(ours.Y, np.concatenate(planes[0], axis=1))


@pytest.mark.parametrize("sampling", list(_CJPEG_SAMPLES))
@pytest.mark.parametrize("size", [(97, 129), (33, 65), (8, 8), (1, 17)])
@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("reader", ["turbojpeg", "jpeglib"])
def test_the_coefficient_read_described_from_the_header_is_jpeglibs(sampling, size, progressive, reader, tmp_path):
    """``read_dct`` sizes the coefficient image from the frame header (no information pass): the
    same sizes in blocks, sampling, colour space, tables and levels as jpeglib's own route, at every
    sampling cjpeg writes and at sizes off the MCU grid (a size in blocks that differed from
    libjpeg's would have it write past the arrays), whether TurboJPEG reads the levels (a snapshot,
    where it is installed) or jpeglib does."""
    from focuspress.engine.jpegfile import turbojpeg
    from focuspress.engine.jpegfile.reader import _coefficient_image, read_dct

    data = _cjpeg(synthetic_photo(*size, seed=size[1]), sampling, tmp_path)
    if progressive:
        data = _progressive_of(data)
    assert _coefficient_image(data) is not None  # the header route, not the fallback
    theirs = _read_dct(data, tmp_path)
    theirs.load()
    with pytest.MonkeyPatch.context() as patch:
        if reader == "turbojpeg":
            if turbojpeg.library() is None:
                pytest.skip("libturbojpeg is not installed (Debian: libturbojpeg0)")
            patch.setattr(jpeglib.DCTJPEG, "load", _not_jpeglib)
        else:
            patch.setattr(turbojpeg, "library", lambda: None)
        ours = read_dct(data)
    assert (ours.height, ours.width) == (theirs.height, theirs.width)
    assert np.array_equal(ours.block_dims, theirs.block_dims)
    assert np.array_equal(ours.samp_factor, theirs.samp_factor)
    assert ours.jpeg_color_space == theirs.jpeg_color_space
    assert np.array_equal(ours.qt, theirs.qt) and np.array_equal(ours.quant_tbl_no, theirs.quant_tbl_no)
    for component in ("Y", "Cb", "Cr") if theirs.has_chrominance else ("Y",):
        assert np.array_equal(getattr(ours, component), getattr(theirs, component))


def _not_jpeglib(*_args, **_kwargs):
    raise AssertionError("jpeglib read the levels")


def test_a_damaged_snapshots_levels_are_read_by_libjpeg_which_reports_it(tmp_path):
    """TurboJPEG refuses a file it reads with a warning (damaged entropy data), and the read falls
    through to jpeglib: the same levels as jpeglib's own route, and libjpeg's warning said on
    descriptor 2, where the engine catches it for the photo (``io.native``)."""
    from focuspress.engine.io.native import native_warnings
    from focuspress.engine.jpegfile import turbojpeg
    from focuspress.engine.jpegfile.reader import _coefficient_image, read_dct

    if turbojpeg.library() is None:
        pytest.skip("libturbojpeg is not installed (Debian: libturbojpeg0)")
    data = bytearray(encode(synthetic_photo(96, 128), "JPEG", quality=95))
    middle = len(data) // 2
    data[middle : middle + 40] = b"\xff\xd0" * 20  # damaged entropy data libjpeg works around
    jpeg = _coefficient_image(bytes(data))
    assert jpeg is not None
    with pytest.raises(RuntimeError):
        turbojpeg.read_levels(bytes(data), [(int(r), int(c)) for r, c in jpeg.block_dims])
    warnings: list[str] = []
    with native_warnings(warnings):
        ours = read_dct(bytes(data))
    theirs = _read_dct(bytes(data), tmp_path)
    theirs.load()
    assert any("Corrupt JPEG data" in line for line in warnings), warnings
    for component in ("Y", "Cb", "Cr"):
        assert np.array_equal(getattr(ours, component), getattr(theirs, component))


def _progressive_of(data: bytes) -> bytes:
    import mozjpeg_lossless_optimization

    return mozjpeg_lossless_optimization.optimize(data)


def test_an_rgb_jpeg_is_read_by_jpeglibs_whole_route(tmp_path):
    """A file libjpeg takes for RGB (cjpeg -rgb: component ids R, G, B, no JFIF) is not described
    from its header: jpeglib's own route reads it, colour space included."""
    import shutil
    import subprocess

    from focuspress.engine.jpegfile.reader import _coefficient_image, read_dct

    cjpeg = shutil.which("cjpeg")
    if cjpeg is None:
        pytest.skip("cjpeg not installed (apt install libjpeg-turbo-progs)")
    Image.fromarray(synthetic_photo(24, 40, seed=2)).save(tmp_path / "in.ppm")
    data = subprocess.run([cjpeg, "-rgb", str(tmp_path / "in.ppm")], check=True, capture_output=True).stdout
    assert _coefficient_image(data) is None
    assert str(read_dct(data).jpeg_color_space) == "JCS_RGB"


def test_a_sources_lossless_rescan_is_the_smaller_of_turbojpegs_and_mozjpegs(monkeypatch):
    """The never-larger path's re-scan of a source keeps the smaller of the two implementations'
    files (TurboJPEG's had been computed only to check the source, then thrown away), and holds the
    source's levels."""
    from focuspress.engine.jpegfile import rescan

    if rescan.backend() != "turbojpeg":
        pytest.skip("libturbojpeg is not installed (Debian: libturbojpeg0)")
    source = encode(synthetic_photo(128, 160, seed=9), "JPEG", quality=92)
    turbo, moz = rescan.turbojpeg_progressive(source), rescan.mozjpeg_progressive(source)
    assert rescan.source_rescan(source) == min(moz, turbo, key=len)
    monkeypatch.setattr(rescan, "_turbojpeg", lambda: None)  # as without libturbojpeg: mozjpeg's alone
    assert rescan.source_rescan(source) == moz
    from focuspress.engine.jpegfile.reader import read_dct

    assert np.array_equal(read_dct(source).Y, read_dct(rescan.source_rescan(source)).Y)


def test_within_baseline_holds_the_bounds_clip_to_baseline_clips_to():
    """The check before mozjpeg's re-scan: a baseline's DC range and 10-bit AC, an int16 -32768 included
    (it has no absolute value in int16); clipped levels always pass."""
    from focuspress.engine.jpegfile.levels import DC_LEVELS, MAX_AC_LEVEL, clip_to_baseline, within_baseline

    levels = np.zeros((2, 3, 8, 8), np.int16)
    levels[0, 0, 0, 0], levels[1, 2, 7, 7] = DC_LEVELS[0], MAX_AC_LEVEL
    assert within_baseline(levels)
    for block, value in (((0, 1, 0, 0), DC_LEVELS[1] + 1), ((1, 1, 0, 1), MAX_AC_LEVEL + 1), ((1, 1, 3, 3), -32768)):
        bad = levels.copy()
        bad[block] = value
        assert not within_baseline(bad)
        clip_to_baseline(bad)
        assert within_baseline(bad)
