"""focuspress gui end to end: Playwright driving Debian's Chromium (headless) against the real server.

Screenshots of the main states go to $FOCUSPRESS_SCREENSHOTS when set (docs/screenshots is made
that way), else to the test's temp folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import SAMPLE, SHARED, encode, synthetic_photo
from tests.daemon_harness import Daemon, wait_for, write_config

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt install chromium)"),
]


class Gui:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "focuspress", "gui", "--no-browser", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        line = self.proc.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:(\d+)/\?token=(\S+))", line)
        assert match, f"no address printed: {line!r}"
        self.url, self.port, self.token = match.group(1), int(match.group(2)), match.group(3)
        self.base = f"http://127.0.0.1:{self.port}"

    def request(self, path: str, *, token: bool = True, data: bytes | None = None, headers: dict | None = None):
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        if token:
            req.add_header("X-Focuspress-Token", self.token)
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("FOCUSPRESS_SCREENSHOTS", tmp_path / "shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser():
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def _photo() -> Path:
    kodak = SHARED / "kodak" / "kodim23.png"
    return kodak if kodak.exists() else SAMPLE


def test_compress_compare_save_and_quit(tmp_path, browser, shots):
    out = tmp_path / "chosen"
    out.mkdir()
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    gui = Gui("--saliency", "combined")
    try:
        page = browser.new_context(
            viewport={"width": 1400, "height": 960}, bypass_csp=True
        ).new_page()  # lets the test evaluate its checks
        page.goto(gui.url)
        assert "token" not in page.url  # taken out of the address bar
        page.fill("#folder", str(tmp_path / "missing"))
        page.click("#folder-use")
        page.wait_for_function("document.getElementById('folder-status').textContent.includes('no such folder')")
        page.fill("#folder", str(out))
        page.click("#folder-use")
        page.wait_for_function(f"document.getElementById('folder-status').textContent.includes({str(out)!r})")
        page.set_input_files("#files-input", [str(_photo()), str(corrupt)])
        page.click("#compress")
        page.wait_for_selector("#file-list li.done", timeout=180_000)
        page.wait_for_selector("#file-list li.failed", timeout=60_000)
        failed = page.text_content("#file-list li.failed .status")
        assert "broken.jpg: cannot decode image" in failed  # the one-line reason, inline
        stats = page.text_content("#stats")
        assert "SSIMULACRA2" in stats and "PSNR" in stats and "Bits per pixel" in stats
        page.wait_for_function("document.getElementById('img-after').naturalWidth > 0")
        page.screenshot(path=str(shots / "compare.png"))

        # the importance map overlay, and its opacity
        assert page.is_hidden("#img-map")
        page.check("#overlay-toggle")
        assert page.is_visible("#img-map")
        page.fill("#overlay-opacity", "0.3")
        page.dispatch_event("#overlay-opacity", "input")
        assert page.eval_on_selector("#img-map", "e => getComputedStyle(e).opacity") == "0.3"
        # the split slider, by its control and by dragging on the photo
        page.fill("#split", "30")
        page.dispatch_event("#split", "input")
        assert "30%" in page.eval_on_selector("#img-after", "e => e.style.clipPath")
        box = page.locator("#layers").bounding_box()
        page.mouse.click(box["x"] + box["width"] * 0.8, box["y"] + box["height"] / 2)
        assert int(page.input_value("#split")) in range(78, 83)
        page.screenshot(path=str(shots / "overlay.png"))

        # 1:1 with panning
        page.click("#zoom-1")
        stage = page.locator("#stage")
        page.set_viewport_size({"width": 900, "height": 700})
        scroll_width, client_width = page.eval_on_selector("#stage", "e => [e.scrollWidth, e.clientWidth]")
        assert scroll_width > client_width  # 1:1 is larger than the view: it pans
        sb = stage.bounding_box()
        page.mouse.move(sb["x"] + sb["width"] / 2, sb["y"] + sb["height"] / 2)
        page.mouse.down()
        page.mouse.move(sb["x"] + sb["width"] / 2 - 150, sb["y"] + sb["height"] / 2 - 40, steps=5)
        page.mouse.up()
        room = scroll_width - client_width  # Kodak's 768 px photo pans far; the 512 px sample only a little
        assert page.eval_on_selector("#stage", "e => e.scrollLeft") >= min(100, 0.9 * room)
        page.screenshot(path=str(shots / "one-to-one.png"))
        page.set_viewport_size({"width": 1400, "height": 960})
        page.click("#zoom-fit")

        # save: a clear "saved to" message; the file decodes and is smaller
        page.click("#save")
        page.wait_for_function("document.getElementById('message').textContent.startsWith('Saved')")
        assert page.text_content("#message") == f"Saved 1 file to {out}"
        saved = out / (_photo().stem + ".jpg")
        with Image.open(saved) as image:
            image.load()
            assert image.format == "JPEG" and image.size == Image.open(_photo()).size
        assert saved.stat().st_size < _photo().stat().st_size
        first = saved.read_bytes()
        # saving again never overwrites silently: the user is asked; "Cancel" keeps both
        page.once("dialog", lambda dialog: dialog.dismiss())
        page.click("#save")
        page.wait_for_function("document.getElementById('message').textContent.includes('Saved 1 file')")
        wait_for(lambda: (out / (_photo().stem + "-1.jpg")).exists(), 10)
        assert saved.read_bytes() == first
        page.screenshot(path=str(shots / "saved.png"))

        # download the zip of all results
        with page.expect_download() as download:
            page.click("#download-all")
        path = download.value.path()
        import zipfile

        assert zipfile.ZipFile(path).namelist() == [_photo().stem + ".jpg"]

        page.click("#quit")
        page.wait_for_selector("#stopped", state="visible")
        assert gui.proc.wait(15) == 0
    finally:
        gui.close()


def test_safety_rules(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    gui = Gui("--saliency", "none", "-o", str(out), "--max-upload-mb", "1", "--max-megapixels", "0.1")
    try:
        status, body = gui.request("/api/config", token=False)
        assert status == 403 and b"token" in body
        status, _ = gui.request("/api/config", headers={"Host": f"evil.example:{gui.port}"})
        assert status == 403  # DNS rebinding: a foreign Host is refused
        status, _ = gui.request("/api/config")
        assert status == 200

        def post_json(path, payload):
            return gui.request(path, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})

        assert post_json("/api/folder", {"path": "relative/dir"})[0] == 422
        assert post_json("/api/folder", {"path": str(tmp_path / "nope")})[0] == 422

        def upload(name: str, data: bytes, **fields):
            boundary = "focuspressboundary"
            parts = [
                f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
                for key, value in fields.items()
            ]
            head = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            body = b"".join(parts) + head + data + f"\r\n--{boundary}--\r\n".encode()
            return gui.request(
                "/api/compress", data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
            )

        status, body = upload("big.png", encode(synthetic_photo(400, 400)))
        assert status == 422 and b"megapixels" in body  # pixel limit
        status, body = upload("huge.png", b"\x00" * (1024 * 1024 + 10))
        assert status == 413  # byte limit
        # the page's settings reach the engine: a target size is met (within 3% under); bad values refused
        status, body = upload("sized.png", encode(synthetic_photo(300, 300)), target_size="6KB")
        assert status == 200, body
        assert 0.97 * 6000 <= json.loads(body)["output_bytes"] <= 6000
        status, body = upload("sized.png", encode(synthetic_photo(64, 64)), roi_strength="2")
        assert status == 422 and b"roi" in body.lower()
        status, body = upload("sized.png", encode(synthetic_photo(64, 64)), target_size="lots")
        assert status == 422
        status, body = upload("../../escape.png", encode(synthetic_photo(64, 64)))
        assert status == 200
        result_id = json.loads(body)["id"]
        status, body = post_json("/api/save", {"ids": [result_id]})
        assert status == 200
        saved = json.loads(body)["saved"]
        assert saved == [str(out.resolve() / "escape.jpg")]  # the name stays inside the folder
        status, body = post_json("/api/save", {"ids": [result_id]})
        assert status == 409 and json.loads(body)["conflicts"] == saved  # no silent overwrite
        status, body = post_json("/api/save", {"ids": [result_id], "on_conflict": "overwrite"})
        assert status == 200
    finally:
        gui.close()


def test_daemon_view(tmp_path, browser, shots):
    daemon = Daemon(write_config(tmp_path)).start()
    gui = None
    try:
        inbox = tmp_path / "in0"
        for i in range(3):
            (tmp_path / f"g{i}.png").write_bytes(encode(synthetic_photo(seed=i)))
            os.rename(tmp_path / f"g{i}.png", inbox / f"g{i}.png")
        (tmp_path / "bad.jpg").write_bytes(b"")
        os.rename(tmp_path / "bad.jpg", inbox / "bad.jpg")
        wait_for(lambda: daemon.metric("focuspress_files_processed_total", 'inbox="cam0"') == 3, 60)
        wait_for(lambda: daemon.metric("focuspress_files_quarantined_total", 'inbox="cam0"') == 1, 30)
        gui = Gui("--saliency", "none", "--daemon", daemon.base_url)
        page = browser.new_context(
            viewport={"width": 1300, "height": 800}, bypass_csp=True
        ).new_page()  # lets the test evaluate its checks
        page.goto(gui.url)
        page.click("#tab-daemon")
        page.wait_for_selector('#daemon-inboxes .card[data-inbox="cam0"]', timeout=20_000)
        wait_for(lambda: "done 3" in page.text_content('#daemon-inboxes .card[data-inbox="cam0"] .counts'), 20)
        assert "quarantined 1" in page.text_content('#daemon-inboxes .card[data-inbox="cam0"] .counts')
        recent = page.text_content("#daemon-recent")
        assert all(f"g{i}.png" in recent for i in range(3)) and "%" in recent
        assert "bad.jpg" in page.text_content("#daemon-quarantined")
        assert "empty file" in page.text_content("#daemon-quarantined")
        # throughput appears once two polls have been seen
        page.wait_for_function("document.getElementById('daemon-status').textContent.includes('images/s')")
        page.screenshot(path=str(shots / "daemon.png"))
        # an unreachable address is said plainly
        page.fill("#daemon-url", "http://127.0.0.1:9")
        page.click("#daemon-connect")
        page.wait_for_function("document.getElementById('daemon-status').textContent.includes('cannot reach')")
    finally:
        if gui is not None:
            gui.close()
        daemon.stop()


def test_gui_help_and_bad_folder():
    proc = subprocess.run([sys.executable, "-m", "focuspress", "gui", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "127.0.0.1" in proc.stdout
    proc = subprocess.run(
        [sys.executable, "-m", "focuspress", "gui", "--no-browser", "-o", "/definitely/not/here"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "no such folder" in proc.stderr and "Traceback" not in proc.stderr


def test_result_store_is_bounded_by_count_and_bytes():
    from focuspress.gui.results import ResultStore

    store = ResultStore(capacity=3, max_bytes=1000)
    ids = [store.add(name=f"{i}.png", jpeg=b"x" * 300, original_png=b"", map_png=b"").id for i in range(5)]
    assert store.get(ids[0]) is None and store.get(ids[1]) is None  # oldest dropped
    assert all(store.get(i) is not None for i in ids[2:])
    big = store.add(name="big.png", jpeg=b"x" * 900, original_png=b"", map_png=b"")
    assert store.get(big.id) is not None and all(store.get(i) is None for i in ids)  # bytes bound


def test_saved_names_stay_inside_the_folder(tmp_path):
    from focuspress.gui.folders import output_path, safe_stem

    assert safe_stem("../../etc/passwd.png") == "passwd"
    assert safe_stem("C:\\\\Users\\\\x\\\\photo.final.JPG") == "photo.final"
    assert safe_stem("....") == "photo" and safe_stem("") == "photo"
    path, exists = output_path(tmp_path, "../up.png", "ask")
    assert path.parent == tmp_path and path.name == "up.jpg" and not exists
    path.write_bytes(b"1")
    assert output_path(tmp_path, "up.png", "ask") == (path, True)
    assert output_path(tmp_path, "up.png", "rename")[0].name == "up-1.jpg"
