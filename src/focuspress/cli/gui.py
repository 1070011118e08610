"""``focuspress gui``: the local web window (the original Tkinter tool, in a browser)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from focuspress.cli.common import out, refuse, saliency_option
from focuspress.engine.saliency import DEFAULT_SALIENCY
from focuspress.gui.settings import GUI_DEFAULTS


def gui(
    output: Annotated[
        Optional[Path],
        typer.Option("-o", "--output", help="Output folder to start with (you can change it on the page)."),
    ] = None,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port on 127.0.0.1 (0: a free one).")] = 0,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open a browser; just print the address.")
    ] = False,
    daemon_url: Annotated[
        Optional[str], typer.Option("--daemon", help="A running daemon's metrics address, e.g. http://127.0.0.1:9464.")
    ] = None,
    saliency: Annotated[str, saliency_option()] = DEFAULT_SALIENCY,
    max_upload_mb: Annotated[
        float, typer.Option("--max-upload-mb", min=1, help="Largest upload accepted.")
    ] = GUI_DEFAULTS.max_upload_mb,
    max_megapixels: Annotated[
        float, typer.Option("--max-megapixels", min=0.1, help="Largest photo accepted.")
    ] = GUI_DEFAULTS.max_megapixels,
) -> None:
    """Open the focuspress window in your browser: drop photos, compare before/after, save.

    Serves a local page on 127.0.0.1 only, protected by a token in the printed address.
    Quit on the page (or Ctrl-C here) stops it.

    Example: focuspress gui -o ~/Pictures/compressed --daemon http://127.0.0.1:9464
    """
    from focuspress.engine.errors import FocuspressError
    from focuspress.gui import GuiSettings, serve
    from focuspress.gui.folders import validate_folder

    try:
        folder = validate_folder(str(output.expanduser().absolute())) if output is not None else None
    except FocuspressError as exc:
        refuse(str(exc))
    settings = GuiSettings(
        output=folder,
        saliency=saliency,
        daemon_url=daemon_url,
        max_upload_mb=max_upload_mb,
        max_megapixels=max_megapixels,
    )
    try:
        serve(
            settings,
            port=port,
            open_browser=not no_browser,
            announce=lambda url: print(f"focuspress gui on {url}", flush=True),
        )
    except OSError as exc:
        refuse(f"cannot listen on 127.0.0.1:{port} ({exc.strerror or exc})")
    out.print("focuspress gui stopped")
