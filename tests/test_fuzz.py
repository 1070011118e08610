"""Fuzzing the decode-and-compress path: hypothesis drives the mutators in-process, and the
``bench fuzz`` command runs a few hundred cases through its supervised workers."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from focuspress.bench.fuzz.cases import make_case, run_case, seed_images
from focuspress.bench.fuzz.mutate import fix_png_crcs, mutate
from tests.conftest import encode, synthetic_photo


class _Drawn:
    """hypothesis as the source of every random choice a mutator makes (so it can shrink them)."""

    def __init__(self, data) -> None:
        self.data = data

    def integer(self, low: int, high: int) -> int:
        return self.data.draw(st.integers(low, high))


SEEDS = seed_images()


# derandomize: the same 300 cases on every CI run, so a red CI means a change broke something,
# not that this run drew a new case; new ground is covered by `focuspress bench fuzz --seed N`.
@settings(max_examples=300, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.data())
@pytest.mark.slow
def test_mutated_images_are_compressed_or_refused_never_crash(data):
    name, original = data.draw(st.sampled_from(SEEDS))
    mutated = mutate(original, _Drawn(data), [d for _, d in SEEDS])
    outcome, detail = run_case(mutated, quality=data.draw(st.integers(5, 100)))
    assert outcome in ("ok", "refused"), f"{name}: {outcome}\n{detail}"
    if outcome == "refused":
        assert "\n" not in detail and detail.startswith("case: ")  # one line, naming the file


def test_cases_are_deterministic_and_mutated():
    a, b = make_case(3, 17), make_case(3, 17)
    assert a == b
    originals = dict(SEEDS)
    assert any(make_case(3, i)[1] != originals[make_case(3, i)[0]] for i in range(20))


def test_png_crc_repair_makes_a_changed_chunk_pass_its_checksum():
    import zlib

    png = dict(SEEDS)["rgb.png"]
    broken = bytearray(png)
    broken[20] ^= 0xFF  # inside IHDR's width/height: the CRC no longer matches
    repaired = fix_png_crcs(bytes(broken))
    length = int.from_bytes(repaired[8:12], "big")
    chunk = repaired[12 : 16 + length]
    assert int.from_bytes(repaired[16 + length : 20 + length], "big") == zlib.crc32(chunk)


@pytest.mark.slow
def test_fuzz_command_counts_and_exits_zero():
    proc = subprocess.run(
        [sys.executable, "-m", "focuspress", "bench", "fuzz", "--cases", "300", "--seed", "7", "--timeout", "30"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "300 cases" in proc.stdout
    total = next(line for line in proc.stdout.splitlines() if "total" in line)
    numbers = [int(cell) for cell in total.replace("│", " ").split() if cell.isdigit()]
    assert sum(numbers) == 300 and numbers[2:] == [0, 0, 0, 0, 0]  # crash, bad_output, memory, hang, died


@pytest.mark.parametrize(
    ("seed", "index", "what"),
    [
        (7, 39, "libjpeg 6b refused its coefficients (the pixel route took it); libjpeg-turbo reads them"),
        (7, 182, "damaged entropy data decodes to levels beyond baseline's 1023: clipped, not a crash"),
        (7, 66, "a kept source keeps its Orientation tag: judged upright, as a viewer shows it"),
    ],
)
def test_findings_of_earlier_fuzz_runs_stay_fixed(seed, index, what):
    name, data, quality = make_case(seed, index)
    outcome, detail = run_case(data, quality=quality)
    assert outcome in ("ok", "refused"), f"{name} ({what}): {outcome}\n{detail}"


def test_unreadable_coefficients_with_route_dct_are_one_line(monkeypatch):
    """A JPEG whose pixels decode but whose coefficients libjpeg refuses: ``--route dct`` says so in
    one line, ``auto`` takes the pixel route. (Fuzz case 7/39 was one under jpeglib's libjpeg 6b;
    libjpeg-turbo's build, which the engine loads, reads it, and no fuzz case in 900 makes it
    refuse: the refusal is libjpeg's own error, raised where the read happens.)"""
    from focuspress.engine import CompressOptions, Engine, FocuspressError, load_image
    from focuspress.engine.compositor.block import transcode

    def refuse(data: bytes):
        raise OSError("Bogus Huffman table definition")  # what libjpeg says through jpeglib

    monkeypatch.setattr(transcode, "read_dct", refuse)
    data = encode(synthetic_photo(64, 96), "JPEG", quality=95)
    engine = Engine(saliency="none")
    with pytest.raises(FocuspressError, match=r"^its DCT coefficients cannot be read .*--route auto") as caught:
        engine.compress(load_image(data, name="x"), CompressOptions(quality=80, route="dct"))
    assert "\n" not in str(caught.value) and "/tmp" not in str(caught.value)
    result = engine.compress(load_image(data, name="x"), CompressOptions(quality=80, route="auto", min_saving=0))
    assert result.data[:2] == b"\xff\xd8" and result.route == "pixel"


def test_clipping_to_baseline_keeps_every_level_an_intact_source_can_hold():
    import numpy as np

    from focuspress.engine.jpegfile.levels import clip_to_baseline

    levels = np.zeros((2, 2, 8, 8), np.int16)
    levels[0, 0, 0, 0] = -1024  # a black 8-bit block at step 1: legal, must survive
    levels[0, 1, 0, 0] = -3000  # damaged DC
    levels[1, 0, 3, 3] = 2000  # damaged AC
    levels[1, 1, 0, 1] = -1023  # the largest legal AC
    intact = levels.copy()
    clip_to_baseline(levels)
    assert levels[0, 0, 0, 0] == -1024 and levels[1, 1, 0, 1] == -1023
    assert levels[0, 1, 0, 0] == -1024 and levels[1, 0, 3, 3] == 1023
    changed = levels != intact
    assert changed.sum() == 2


class _Scripted:
    """A mutator's choices replayed from a hypothesis failure report (its ``Draw`` lines)."""

    def __init__(self, values: list[int]) -> None:
        self.values = list(values)

    def integer(self, low: int, high: int) -> int:
        return self.values.pop(0) if self.values else low


def test_a_header_jpeglib_sizes_negative_takes_the_pixel_route():
    """CI's hypothesis run: 14 bytes slipped before DQT make jpeglib size an array -1 long."""
    mutated = mutate(dict(SEEDS)["baseline.jpg"], _Scripted([1, 1, 1, 5, 0]), [d for _, d in SEEDS])
    outcome, detail = run_case(mutated, quality=5)
    assert outcome in ("ok", "refused"), detail


#: a mutated 64x48 4:2:0 JPEG (hypothesis drew it in the full suite's order): bad Huffman codes
#: that decode to chroma levels mozjpeg's progressive coder refuses
_MOZJPEG_EXIT_CASE = (
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAoHBwgHBgoICAgLCgoLDhgQDg0NDh0VFhEYIx8lJCIfIiEmKzcvJik0KSEiMEExNDk7"
    "Pj4+JS5ESUM8SDc9Pjv/2wBDAQoLCw4NDhwQEBw7KCIoOzs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7Ozs7"
    "Ozs7Ozs7Ozv/wgARCAAwAEADASIAAhEBAxEB/8QAGAABAQEBAQAAAAAAAAAAAAAAAwIEAQD/xAAZAQADAQEBAAAAAAAAAAAAAAAK"
    "BAYBBQP/2gAMAwEAAhADEAAAARaFQdMNQ6BSs0PG68aBbhpWbcNMOYn+AdKXEafvvLdi3usEKh4S64j/2dAtrC2O7fbsDWO+YSvK"
    "Hj+0loFviys02Qaw0B400XG9oPQDn//EABkQAQEBgvMJTgUd5vqnNhJnePXym+MljXhhKkFE0hxmEUuV+5u6/ohKlnuPc6sE2l26"
    "gp7Xe12Hvz/mL+OGnZ+f9DFSIENs1881kGpqMVZzlYzhXVcoroSTU/UDbX85SDqHXW6oN9Ir7EzjDzdJdsutkvIbZ1mdfRB87Spf"
    "KOvDyKsPWB9QtqYRGUN78CE942QroHCDmCt45W4AipWpwGKWt9pfixI4V6OlpGhXTjiiq7l+tK1Q6pxrVDIf/voG+ihZaRXJXp1B"
    "k7dWA3qYhw0HXRtXPI3rkNGg7aDO5lapNB1v8GekWdWXb/mnMXJ4K88BEcp4dPukkIVlOTgmnw7YVdrhFsGGmPNgVPrlKsa584/n"
    "C7iRN0SNs8kxNotSHmgNVE/k0NLeygSi1Dk3ShncMF02kj8ZCd1B99GdGAC2SSykNiHGcF3TkYQvA1kJmtRy5pb5WMJqxB1JVHgX"
    "uo3tD3s05tI7Fid7EC5zP4eCzNzzLkDGbNbRB7m0dNg8xu8zkH8dq/IcKizASe+gWLdBpkjWAZJjgrBSGDDIUmf25dsSii+Fhzu0"
    "4u4QEY1EWrIGQssfpuXewcHGMdA4MLXEsL9mRdYcke6zKClf8VyQWbkzRU3EblQTy5FMfgxL7RM7A9OQHZmoh1hMpJyGSFH6kuwX"
    "xt7wlwzi8PBMTr4QdDRwKO1DnS1XkdqDB8oEYD3TrzYxMqKtcLtHSFLTM02S8PNn0FYTrVqFy6nGywjW1pjlBlmX/9+G+rAkGYGo"
    "W07sycAA"
)


def test_a_damaged_source_mozjpeg_cannot_rescan_does_not_end_the_process():
    """Where the steered output is not smaller, the source's lossless re-scan was mozjpeg's, whose
    library calls exit(1) on coefficients it cannot code: on this file the whole process ended,
    no message. TurboJPEG reads the source first and refuses it: the case is compressed or refused."""
    import base64

    data = base64.b64decode("".join(_MOZJPEG_EXIT_CASE))
    script = (
        "import sys; from focuspress.bench.fuzz.cases import run_case; "
        "outcome, detail = run_case(sys.stdin.buffer.read(), quality=100.0); print(outcome)"
    )
    done = subprocess.run([sys.executable, "-c", script], input=data, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-500:]
    assert done.stdout.decode().strip() in ("ok", "refused")


def test_without_turbojpeg_a_source_mozjpeg_cannot_rescan_is_refused_by_its_levels():
    """Where libturbojpeg is absent (a pip-only install), the same file: jpeglib reads its levels,
    a chroma DC past a baseline's 11 bits refuses it before mozjpeg sees it, and the process lives."""
    import base64

    data = base64.b64decode("".join(_MOZJPEG_EXIT_CASE))
    script = (
        "import sys; from focuspress.engine.jpegfile import rescan, turbojpeg\n"
        "turbojpeg.library = lambda: None; rescan._turbojpeg = lambda: None\n"
        "from focuspress.bench.fuzz.cases import run_case\n"
        "data = sys.stdin.buffer.read()\n"
        "try:\n    rescan.source_rescan(data)\nexcept ValueError as exc:\n    print('refused:', exc)\n"
        "outcome, detail = run_case(data, quality=100.0); print(outcome)"
    )
    done = subprocess.run([sys.executable, "-c", script], input=data, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-500:]
    lines = done.stdout.decode().strip().splitlines()
    assert lines[0].startswith("refused:") and "out of a baseline JPEG's range" in lines[0]
    assert lines[-1] in ("ok", "refused")
