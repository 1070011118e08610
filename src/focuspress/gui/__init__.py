"""``focuspress gui``: the original Tkinter window as a local web app, plus a live daemon view.

A thin face over the engine: the server (Flask, on 127.0.0.1) decodes uploads with the same
``load_image`` as the CLI and the daemon, compresses with the shared :class:`engine.Engine`, and
writes into a validated output folder atomically. Static HTML/CSS/JS ship in the package.
"""

from focuspress.gui.server import GuiSettings, create_app, serve

__all__ = ["GuiSettings", "create_app", "serve"]
