"""The GUI's HTTP server: the page, a small JSON API, and the safety rules around it.

Safe by default: it listens on 127.0.0.1 only; every API call needs the per-launch token (sent
as the ``X-Focuspress-Token`` header, or ``?token=`` on a download link); the ``Host`` header
must name this server (no DNS rebinding); uploads are capped in bytes and pixels; saved names
stay inside the chosen folder and an existing file is replaced only when the user says so.
"""

from __future__ import annotations

import hmac
import io
import json
import re
import socket
import threading
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from flask import Flask, Response, abort, jsonify, request, send_file
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.serving import make_server

from focuspress.engine.io.names import unique_path
from focuspress.engine.options import CompressOptions
from focuspress.engine.pipeline import Work
from focuspress.engine.results import score_fields
from focuspress.gui.folders import output_path, safe_stem, validate_folder
from focuspress.gui.results import ResultStore, heat_overlay, png_bytes
from focuspress.gui.settings import GuiSettings

TOKEN_HEADER = "X-Focuspress-Token"
#: The compression fields the page's form sends: names of the engine's options schema.
FORM_FIELDS = ("quality", "subject_ssimulacra2", "photo_ssimulacra2", "roi_strength", "target_size")


class _EngineHolder:
    """Loads the engine (and its model) in the background at start, so the page opens at once."""

    def __init__(self, saliency: str) -> None:
        self.saliency = saliency
        self._engine = None
        self._error: str | None = None
        self._ready = threading.Event()
        threading.Thread(target=self._load, name="engine-load", daemon=True).start()

    def _load(self) -> None:
        try:
            from focuspress.engine import shared_engine

            engine = shared_engine(self.saliency)
            engine.warm_up()
            self._engine = engine
        except Exception as exc:  # shown on the page; the server stays up
            self._error = f"{type(exc).__name__}: {exc}"
        finally:
            self._ready.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self._engine is not None

    def get(self, timeout: float = 300.0):
        self._ready.wait(timeout)
        if self._engine is None:
            raise RuntimeError(self._error or "the engine is still loading")
        return self._engine


@dataclass
class _Context:
    """What every route group shares: the settings, the results kept, the engine, the stop hook."""

    settings: GuiSettings
    store: ResultStore
    holder: _EngineHolder
    state: dict


def fail(status: int, message: str) -> Response:
    """A JSON error the page shows as one line."""
    response = jsonify({"error": message})
    response.status_code = status
    return response


def create_app(settings: GuiSettings, engine_holder: _EngineHolder | None = None) -> Flask:
    """The app: the safety rules, the page, the photo API, results, saving and the daemon view."""
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = int(settings.max_upload_mb * 1024 * 1024)
    context = _Context(settings, ResultStore(), engine_holder or _EngineHolder(settings.saliency), {"shutdown": None})
    app.extensions["focuspress"] = {
        "settings": settings,
        "store": context.store,
        "state": context.state,
        "engine": context.holder,
    }
    for register in (_safety, _page, _photos, _results, _daemon_view):
        register(app, context)
    return app


def _safety(app: Flask, context: _Context) -> None:
    """Loopback only, the per-launch token on every API call, strict headers, one-line errors."""
    settings = context.settings

    @app.before_request
    def _guard():
        host = (request.host or "").rsplit(":", 1)[0].strip("[]")
        if host not in ("127.0.0.1", "localhost", "::1"):
            abort(fail(403, "this server answers only on 127.0.0.1"))
        if request.path.startswith("/api/"):
            given = request.headers.get(TOKEN_HEADER) or request.args.get("token") or ""
            if not hmac.compare_digest(given.encode(), settings.token.encode()):
                abort(fail(403, "missing or wrong token: open the address focuspress gui printed"))

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
            "connect-src 'self'; frame-ancestors 'none'"
        )
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc):
        return fail(413, f"upload over the {settings.max_upload_mb:.0f} MB limit")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if exc.response is not None:
            return exc.response
        return fail(exc.code or 500, exc.description or exc.name)


def _page(app: Flask, context: _Context) -> None:
    """The page, its static files, its settings, and Quit."""
    settings, holder = context.settings, context.holder
    state = context.state

    static = resources.files("focuspress.gui") / "static"

    @app.get("/")
    def index():
        return Response((static / "index.html").read_bytes(), mimetype="text/html")

    @app.get("/favicon.ico")
    def favicon():
        return Response(status=204)

    @app.get("/static/<name>")
    def static_file(name: str):
        if not re.fullmatch(r"[a-z]+\.(js|css|svg)", name):
            abort(404)
        resource = static / name
        if not resource.is_file():
            abort(404)
        kind = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}[name.rsplit(".", 1)[1]]
        return Response(resource.read_bytes(), mimetype=kind)

    @app.get("/api/config")
    def config():
        return jsonify(
            {
                "output": str(settings.output) if settings.output else None,
                "saliency": settings.saliency,
                "daemon_url": settings.daemon_url,
                "max_upload_mb": settings.max_upload_mb,
                "max_megapixels": settings.max_megapixels,
                "engine_ready": holder.ready,
                "home": str(Path.home()),
            }
        )

    @app.post("/api/folder")
    def folder():
        from focuspress.engine.errors import FocuspressError

        body = request.get_json(silent=True) or {}
        try:
            settings.output = validate_folder(str(body.get("path", "")))
        except FocuspressError as exc:
            return fail(422, str(exc))
        return jsonify({"output": str(settings.output)})

    @app.post("/api/quit")
    def quit_server():
        stop = state.get("shutdown")
        if stop is not None:
            threading.Timer(0.2, stop).start()
        return jsonify({"stopping": True})


def _photos(app: Flask, context: _Context) -> None:
    """Upload and compress one photo through the engine's pipeline."""
    settings, store, holder = context.settings, context.store, context.holder

    @app.post("/api/compress")
    def compress():
        from focuspress.engine import FocuspressError, load_image
        from focuspress.engine.metrics import psnr, ssimulacra2

        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return fail(400, "no file in the request")
        name = upload.filename
        data = upload.read()
        try:  # the form's fields are the options schema's: one validation, one wording
            form = {key: value.strip() for key, value in request.form.items() if key in FORM_FIELDS}
            options = CompressOptions.parse(**{key: value for key, value in form.items() if value})
        except FocuspressError as exc:
            return fail(422, str(exc))
        started = time.perf_counter()
        try:
            image = load_image(
                data, name=safe_stem(name) + _suffix(name), max_pixels=int(settings.max_megapixels * 1e6)
            )
            outcome = holder.get().run([Work(image, name, options)])[0]  # the engine's one pipeline
        except FocuspressError as exc:
            return fail(422, str(exc))
        except RuntimeError as exc:
            return fail(503, f"the engine could not start: {exc}")
        if outcome.result is None:
            return fail(422, outcome.error or f"{name}: refused")
        result = outcome.result
        decoded = result.decoded()
        stats = {
            "name": name,
            "width": image.width,
            "height": image.height,
            "input_bytes": len(data),
            "output_bytes": result.bytes,
            "ratio": len(data) / result.bytes if result.bytes else None,
            "bpp": round(result.bpp, 4),
            "quality": round(result.quality, 1),
            "outcome": result.outcome,
            "psnr": round(psnr(image.rgb, decoded), 2),
            "ssimulacra2": round(ssimulacra2(image.rgb, decoded), 2),
            "seconds": round(time.perf_counter() - started, 2),
            "notes": list(image.notes) + list(outcome.warnings),
            **score_fields(result),
        }
        stored = store.add(
            name=name,
            jpeg=result.data,
            original_png=png_bytes(image.rgb),
            map_png=heat_overlay(result.importance),
            stats=stats,
        )
        return jsonify({"id": stored.id, **stats})


def _results(app: Flask, context: _Context) -> None:
    """The kept results: their parts, downloads, and saving into the chosen folder."""
    settings, store = context.settings, context.store

    def _get(result_id: str):
        stored = store.get(result_id)
        if stored is None:
            abort(fail(404, "result no longer kept: compress the photo again"))
        return stored

    @app.get("/api/result/<result_id>/<part>")
    def result_part(result_id: str, part: str):
        stored = _get(result_id)
        if part == "original.png":
            return Response(stored.original_png, mimetype="image/png")
        if part == "compressed.jpg":
            return Response(stored.jpeg, mimetype="image/jpeg")
        if part == "map.png":
            return Response(stored.map_png, mimetype="image/png")
        abort(404)

    @app.get("/api/download/<result_id>")
    def download(result_id: str):
        stored = _get(result_id)
        return send_file(
            io.BytesIO(stored.jpeg),
            mimetype="image/jpeg",
            as_attachment=True,
            download_name=safe_stem(stored.name) + ".jpg",
        )

    @app.get("/api/download.zip")
    def download_zip():
        ids = [i for i in request.args.get("ids", "").split(",") if i]
        if not ids:
            return fail(400, "no results chosen")
        buffer = io.BytesIO()
        used: set[str] = set()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # JPEGs do not deflate
            for result_id in ids:
                stored = _get(result_id)
                name = unique_path(Path(safe_stem(stored.name) + ".jpg"), lambda p: p.name in used).name
                used.add(name)
                archive.writestr(name, stored.jpeg)
        buffer.seek(0)
        return send_file(buffer, mimetype="application/zip", as_attachment=True, download_name="focuspress.zip")

    @app.post("/api/save")
    def save():
        from focuspress.engine.errors import FocuspressError
        from focuspress.engine.io import atomic_write

        body = request.get_json(silent=True) or {}
        if settings.output is None:
            return fail(409, "choose an output folder first")
        on_conflict = body.get("on_conflict", "ask")
        if on_conflict not in ("ask", "rename", "overwrite"):
            return fail(400, "on_conflict must be ask, rename or overwrite")
        results = [_get(i) for i in body.get("ids", [])]
        if not results:
            return fail(400, "nothing to save")
        try:
            plan = [(stored, *output_path(settings.output, stored.name, on_conflict)) for stored in results]
        except FocuspressError as exc:
            return fail(422, str(exc))
        taken = [str(path) for _, path, exists in plan if exists]
        if taken and on_conflict == "ask":
            return jsonify({"error": "these files exist already", "conflicts": taken}), 409
        saved = []
        for stored, path, _ in plan:
            try:
                atomic_write(path, stored.jpeg)
            except FocuspressError as exc:
                return fail(507, str(exc))
            saved.append(str(path))
        return jsonify({"saved": saved, "folder": str(settings.output)})


def _daemon_view(app: Flask, context: _Context) -> None:
    """A running daemon's /status.json and /metrics, fetched for the Daemon tab."""
    settings = context.settings

    @app.get("/api/daemon")
    def daemon_view():
        url = (request.args.get("url") or settings.daemon_url or "").strip().rstrip("/")
        if not url:
            return fail(400, "no daemon address: start with --daemon http://127.0.0.1:9464 or type it")
        if not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+", url):
            return fail(400, f"{url}: give the daemon's metrics address, like http://127.0.0.1:9464")
        try:
            with urllib.request.urlopen(url + "/status.json", timeout=3) as response:
                status = json.loads(response.read())
            with urllib.request.urlopen(url + "/metrics", timeout=3) as response:
                metrics = response.read().decode()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return fail(502, f"cannot reach the daemon at {url} ({getattr(exc, 'reason', exc)})")
        status["processed_total"] = _metric_sum(metrics, "focuspress_files_processed_total")
        status["quarantined_total"] = _metric_sum(metrics, "focuspress_files_quarantined_total")
        status["url"] = url
        status["fetched_at"] = time.time()
        return jsonify(status)


def _suffix(name: str) -> str:
    return "." + name.rsplit(".", 1)[1][:5] if "." in name else ""


def _metric_sum(text: str, name: str) -> float:
    """Sum of every sample of ``name`` (all label sets) in a Prometheus text exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    )


def _listener(port: int) -> socket.socket:
    """127.0.0.1:``port`` bound and listening (0: any free port). A port already taken raises the
    OSError here, for the caller's one line: werkzeug's own bind prints two lines and exits 1."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # (as werkzeug's own bind)
        listener.bind(("127.0.0.1", port))
        listener.listen(128)
    except OSError:
        listener.close()
        raise
    return listener


def serve(settings: GuiSettings, *, port: int = 0, open_browser: bool = True, announce=print) -> None:
    """Serve until Quit (or Ctrl-C). Prints the address (with its token) first. Raises OSError where
    the port cannot be listened on."""
    app = create_app(settings)
    listener = _listener(port)
    port = listener.getsockname()[1]  # (the one the system chose, for 0)
    server = make_server("127.0.0.1", port, app, threaded=True, fd=listener.fileno())
    app.extensions["focuspress"]["state"]["shutdown"] = server.shutdown
    url = f"http://127.0.0.1:{port}/?token={settings.token}"
    announce(url)
    if open_browser:
        import webbrowser

        threading.Timer(0.3, webbrowser.open, args=(url,)).start()
    try:
        server.serve_forever()
    finally:
        server.server_close()
        listener.close()
