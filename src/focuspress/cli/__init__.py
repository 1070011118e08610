"""The ``focuspress`` command: thin faces over the engine, one module per command group.

``compress`` and ``map`` (compress.py), ``daemon`` (daemon.py), ``gui`` (gui.py), ``bench ...``
(bench.py), ``train ...`` and ``eval-map`` (train.py). Exit codes: 0 all done; 2 a bad input or
option (one line each, no traceback); 1 an unexpected failure (a bug: the traceback is printed
so it can be reported).
"""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from focuspress import __version__
from focuspress.cli import bench, compress, daemon, gui, train
from focuspress.cli.common import EXIT_BAD_INPUT, fail, hide_flag_types, out, reflow_help
from focuspress.engine.errors import InputError, MissingExtra, OptionsError, OutputError

app = typer.Typer(
    name="focuspress",
    help=(
        "Compress photos into ordinary JPEGs that spend their bits where people look.\n\n"
        "A saliency model (a salient-object decoder on EfficientNet-Lite0, plus a face detector) "
        "marks what matters; the block compositor steers quantization block by block inside the "
        "JPEG encoder. Example: focuspress compress photo.png -o out"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from focuspress.engine.api import rescan_backend

        out.print(f"focuspress {__version__}", highlight=False)
        out.print(rescan_backend()[1], highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool],
        typer.Option(
            "--version",
            callback=_version,
            is_eager=True,
            help="Print the version and the progressive re-scan this machine has, and exit.",
        ),
    ] = None,
) -> None:
    """focuspress: importance-steered JPEG compression."""


app.command()(compress.compress)
app.command(name="map")(compress.importance_map)
app.command()(daemon.daemon)
app.command()(gui.gui)
app.add_typer(bench.bench_app, name="bench")
app.add_typer(train.train_app, name="train")
app.command("eval-map")(train.eval_map)
reflow_help(app)
hide_flag_types(app)


def main() -> None:
    from focuspress.engine.allocator import keep_freed_memory

    keep_freed_memory()  # a process that compresses photo after photo (engine/allocator.py)
    try:
        app()
    except KeyboardInterrupt:
        fail("interrupted")
        sys.exit(130)
    except (InputError, OptionsError, MissingExtra, OutputError) as exc:
        # what a command did not refuse itself (a benchmark's photo that is not there): the engine's
        # one-line message for people, exit 2, never a traceback
        fail(str(exc))
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":
    main()
