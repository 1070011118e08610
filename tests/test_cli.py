"""The command line: exit codes, messages, outputs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from focuspress.engine.options import CompressOptions
from tests.conftest import encode, synthetic_photo
from tests.corpus import damaged_exif_jpeg

CLI = [sys.executable, "-m", "focuspress"]


def run(*args, cwd=None):
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_help_teaches():
    proc = run("compress", "--help")
    assert proc.returncode == 0
    assert "--target-size" in proc.stdout and "--roi-strength" in proc.stdout and "Example" in proc.stdout


@pytest.mark.parametrize("command", [["compress"], ["daemon"], ["bench", "contract"], []])
def test_help_shows_no_type_beside_an_on_off_flag(command):
    """A flag takes no value: ``--help`` shows none beside it (typer prints ``<bool>`` there), its own
    ``--help`` line included, while an option that takes one keeps its type."""
    import os

    proc = subprocess.run(
        [*CLI, *command, "--help"], capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "120"}
    )
    assert proc.returncode == 0 and "--help" in proc.stdout
    assert [line for line in proc.stdout.splitlines() if "<bool>" in line] == []
    assert "<" not in next(line for line in proc.stdout.splitlines() if line.strip("│ ").startswith("--help"))
    if command == ["compress"]:
        output = next(line for line in proc.stdout.splitlines() if "--output" in line)
        recursive = next(line for line in proc.stdout.splitlines() if "--recursive" in line)
        assert "<path>" in output and "<" not in recursive


def test_every_choice_option_shows_its_choices_and_refuses_others_in_one_line():
    """The options that take one of a few names and that the schema does not declare (``--saliency``
    wherever a command takes it, ``--executor``, ``--table``, ``--log-format``) show their choices in
    ``--help`` as the schema's own do, and refuse anything else as they are parsed: one line, exit 2,
    in every command (``bench throughput`` and ``bench daemon`` took any ``--saliency`` and ended
    in a traceback)."""
    from typer.core import TyperOption
    from typer.main import get_command
    from typer.testing import CliRunner

    from focuspress.cli import app

    found: list[tuple[list[str], str, str]] = []

    def walk(command, path: list[str]) -> None:
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])
        for param in command.params:
            # (the schema's own choices show the same way and are checked with the other options, below
            # their command's arguments: ``test_every_bad_option_value_is_one_line_naming_the_field``)
            made_here = param.callback is not None and "choice_option" in param.callback.__qualname__
            if isinstance(param, TyperOption) and made_here and (param.metavar or "").startswith("["):
                found.append((path, param.opts[0], param.metavar))

    walk(get_command(app), [])
    assert {option for _, option, _ in found} >= {"--saliency", "--executor", "--table", "--log-format"}
    assert [path for path, option, _ in found if option == "--saliency"].count(["bench", "throughput"]) == 1
    assert len([option for _, option, _ in found if option == "--saliency"]) >= 9
    runner = CliRunner()
    for path, option, metavar in found:
        result = runner.invoke(app, [*path, option, "bogus"])
        choices = ", ".join(metavar.strip("[]").split("|"))
        assert result.exit_code == 2, (path, option, result.output)
        assert result.output.splitlines() == [f"error: {option}: must be one of {choices} (got 'bogus')"], path


@pytest.mark.parametrize("turbojpeg", [True, False], ids=["libturbojpeg", "without-libturbojpeg"])
def test_version_names_the_rescan_and_what_to_install(monkeypatch, turbojpeg):
    """`--version` says which progressive re-scan this machine has: where libturbojpeg is missing
    (a pip install cannot bring it) every encode is slower, and the line says what to install."""
    from typer.testing import CliRunner

    from focuspress import __version__
    from focuspress.cli import app
    from focuspress.engine.jpegfile import rescan

    if turbojpeg and rescan.backend() != "turbojpeg":
        pytest.skip("libturbojpeg is not installed (apt-get install libturbojpeg0)")
    if not turbojpeg:
        monkeypatch.setattr(rescan, "_turbojpeg", lambda: None)
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    first, second = result.output.strip().splitlines()
    assert first == f"focuspress {__version__}"
    assert second.startswith("progressive re-scan: ")
    assert ("apt install libturbojpeg0" in second) is not turbojpeg
    assert ("TurboJPEG" in second and "mozjpeg" not in second) is turbojpeg


def _stubs(help_text: str) -> list[str]:
    """Prose lines of a help screen cut short with more of their paragraph on the next line (a
    paragraph wrapped twice: at the docstring's width, then at the terminal's)."""
    prose = [line.strip() for line in help_text.splitlines()]
    boxed = ("│", "╭", "╰")
    return [
        line
        for line, after in zip(prose, prose[1:])
        if 0 < len(line) < 35
        and not line.startswith(boxed)
        and not line.endswith(":")
        and after
        and not after.startswith(boxed)
    ]


@pytest.mark.parametrize("command", [["compress"], ["daemon"], ["map"], ["gui"], ["bench", "contract"]])
def test_help_paragraphs_wrap_once_at_the_terminals_width(command):
    """At 80 columns each paragraph of a command's help flows to the terminal's width: no line cut
    after a word or two where the docstring broke it (typer keeps a docstring's line breaks)."""
    import os

    proc = subprocess.run(
        [*CLI, *command, "--help"], capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "80"}
    )
    assert proc.returncode == 0 and "Usage" in proc.stdout
    assert not _stubs(proc.stdout), _stubs(proc.stdout)
    assert max(len(line) for line in proc.stdout.splitlines()) <= 80


def test_bad_inputs_exit_2_without_traceback(tmp_path):
    good = tmp_path / "good.png"
    good.write_bytes(encode(synthetic_photo()))
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a jpeg")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    proc = run("compress", good, bad, empty, "-o", tmp_path / "out", "--saliency", "none")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "bad.jpg: cannot decode" in proc.stderr and "empty.png: empty file" in proc.stderr
    assert (tmp_path / "out" / "good.jpg").exists()  # the good one still got done
    assert not (tmp_path / "out" / "bad.jpg").exists()


@pytest.mark.parametrize("kind", ["a file", "under a file"])
def test_an_output_folder_that_cannot_be_made_is_one_line_before_any_photo(tmp_path, kind):
    """-o naming a file, or a folder under one: one line and exit 2 before the model loads, not a
    "cannot create output" line for every photo after it has."""
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file")
    output = blocker if kind == "a file" else blocker / "out"
    photos = []
    for i in range(3):
        photos.append(tmp_path / f"p{i}.png")
        photos[-1].write_bytes(encode(synthetic_photo(48, 64, seed=i)))
    proc = run("compress", *photos, "-o", output, "--saliency", "none")
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == [proc.stderr.strip().splitlines()[-1]] and str(output) in errors[0], proc.stderr
    assert "p0.png" not in proc.stderr and blocker.read_text() == "a file"


def test_gui_on_a_port_in_use_is_one_line():
    """`focuspress gui --port N` where N is taken: one line naming the port, exit 2 (werkzeug's own
    bind printed two lines of its own and exited 1)."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = run("gui", "--port", port, "--no-browser", "--saliency", "none")
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"error: cannot listen on 127.0.0.1:{port} (Address already in use)"]


def test_refuses_to_overwrite_input(tmp_path):
    src = tmp_path / "photo.jpg"
    Image.fromarray(synthetic_photo()).save(src, quality=95)
    before = src.read_bytes()
    proc = run("compress", src, "-o", tmp_path, "--saliency", "none")
    assert proc.returncode == 2 and "refusing to overwrite" in proc.stderr
    assert src.read_bytes() == before


# every option of the schema, with a value it must refuse (the message names the field)
BAD_VALUES = [
    ("-q", "150", "quality"),
    ("--quality", "abc", "quality"),
    ("--target-size", "12XB", "target_size"),
    ("--target-size", "-5", "target_size"),
    ("--target-ssimulacra2", "101", "target_ssimulacra2"),
    ("--roi-strength", "1.5", "roi_strength"),
    ("--compositor", "magic", "compositor"),
    ("--subsampling", "422", "subsampling"),
    ("--progressive", "bogus", "progressive"),
    ("--saliency", "nope", "--saliency"),
    ("--executor", "kubernetes", "--executor"),
]


@pytest.mark.parametrize("flag,value,field", BAD_VALUES)
def test_every_bad_option_value_is_one_line_naming_the_field(tmp_path, flag, value, field):
    good = tmp_path / "good.png"
    good.write_bytes(encode(synthetic_photo()))
    proc = run("compress", good, flag, value, "-o", tmp_path / "o")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}: "), proc.stderr
    assert not (tmp_path / "o").exists()  # refused before any work
    if flag in ("--compositor", "--subsampling", "--progressive"):
        assert "must be one of" in lines[0]


def test_both_targets_at_once_is_refused(tmp_path):
    proc = run("compress", tmp_path / "x.png", "--target-size", "10KB", "--target-ssimulacra2", "80")
    assert proc.returncode == 2 and "give one of" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "mode", [("-q", "50"), ("--target-size", "20KB"), ("--target-ssimulacra2", "70")], ids=["q", "size", "score"]
)
def test_a_contract_target_with_another_mode_is_refused_not_ignored(tmp_path, mode):
    """``-q 50 --subject-ssimulacra2 95`` wrote a q50 file and dropped the 95 without a word."""
    proc = run("compress", tmp_path / "x.png", *mode, "--subject-ssimulacra2", "95", "-o", tmp_path / "o")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "replaces the contract (subject_ssimulacra2 would be ignored)" in proc.stderr
    # at their defaults the targets are not in the way; the engine's own copies keep working
    options = CompressOptions.parse(quality=50, subject_ssimulacra2=90.0)
    assert options.mode == "quality" and options.replace(roi_strength=0.0).quality == 50


def test_a_damaged_exif_is_not_reported_as_a_python_warning(tmp_path):
    """Pillow's ``UserWarning: Tag data larger than file`` (a damaged EXIF block, parsed again where
    the DCT route reads the header and where --metrics decodes the output) came out as two "notes"
    holding a library's file path and source line."""
    photo = tmp_path / "damaged.jpg"
    photo.write_bytes(damaged_exif_jpeg(96, 128))
    proc = run("compress", photo, "-o", tmp_path / "o", "--metrics", "--saliency", "none")
    assert proc.returncode == 0, proc.stderr
    assert "UserWarning" not in proc.stderr and "TiffImagePlugin" not in proc.stderr, proc.stderr


def test_an_input_that_would_be_overwritten_is_refused_and_the_others_are_done(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(synthetic_photo(seed=1)).save(folder / "a.jpg", quality=95)
    (folder / "b.png").write_bytes(encode(synthetic_photo(seed=2)))
    (folder / "c.png").write_bytes(encode(synthetic_photo(seed=3)))
    before = (folder / "a.jpg").read_bytes()
    proc = run("compress", folder, "-o", folder, "--saliency", "none")
    assert proc.returncode == 2, proc.stderr
    assert "a.jpg: refusing to overwrite the input" in proc.stderr
    assert (folder / "a.jpg").read_bytes() == before
    assert (folder / "b.jpg").exists() and (folder / "c.jpg").exists()


def test_existing_outputs_are_kept_unless_overwrite(tmp_path):
    src = tmp_path / "photo.png"
    src.write_bytes(encode(synthetic_photo()))
    out = tmp_path / "out"
    out.mkdir()
    (out / "photo.jpg").write_bytes(b"keep me")
    assert run("compress", src, "-o", out, "--saliency", "none").returncode == 0
    assert (out / "photo.jpg").read_bytes() == b"keep me"
    assert Image.open(out / "photo-1.jpg").size == (128, 96)
    # two inputs with one stem in one batch: photo.jpg and photo-N.jpg, nothing lost
    other = tmp_path / "sub"
    other.mkdir()
    (other / "photo.png").write_bytes(encode(synthetic_photo(seed=9)))
    assert run("compress", src, other / "photo.png", "-o", out, "--saliency", "none").returncode == 0
    assert {p.name for p in out.iterdir()} == {"photo.jpg", "photo-1.jpg", "photo-2.jpg", "photo-3.jpg"}
    assert run("compress", src, "-o", out, "--saliency", "none", "--overwrite").returncode == 0
    assert (out / "photo.jpg").read_bytes()[:2] == b"\xff\xd8"


def test_a_missing_input_is_reported_before_anything_loads(tmp_path):
    proc = run("compress", tmp_path / "nope.jpg", "-o", tmp_path / "o")
    assert proc.returncode == 2 and proc.stderr.strip() == f"error: {tmp_path / 'nope.jpg'}: no such file"


@pytest.mark.slow
def test_compress_and_map_with_the_model(tmp_path, sample_path):
    out = tmp_path / "out"
    proc = run("compress", sample_path, "-o", out, "--metrics")
    assert proc.returncode == 0, proc.stderr
    jpg = out / "astronaut.jpg"
    decoded = np.asarray(Image.open(jpg).convert("RGB"))
    assert decoded.shape == (512, 512, 3)
    assert jpg.stat().st_size < sample_path.stat().st_size / 4
    assert "SSIMULACRA2" in proc.stdout
    proc = run("map", sample_path, "-o", out)
    assert proc.returncode == 0, proc.stderr
    grey = np.asarray(Image.open(out / "astronaut.map.png"))
    assert grey.shape == (512, 512) and grey.max() > 200


def test_a_big_jpeg_with_map_and_metrics(tmp_path):
    """Over 1.5 MP a JPEG's map comes from its preview; the saved map and the metrics are full size."""
    rgb = np.repeat(np.repeat(synthetic_photo(120, 160, seed=3), 10, axis=0), 10, axis=1)  # 1600x1200
    src = tmp_path / "big.jpg"
    Image.fromarray(rgb).save(src, quality=95)
    proc = run("compress", src, "-o", tmp_path / "out", "--saliency", "faces", "--save-map", "--metrics")
    assert proc.returncode == 0, proc.stderr
    assert Image.open(tmp_path / "out" / "big.map.png").size == (1600, 1200)
    assert "SSIMULACRA2" in proc.stdout and "recompressed" in proc.stdout
