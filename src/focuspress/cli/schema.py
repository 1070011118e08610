"""Command-line options derived from the engine's options schema (one source of truth).

:func:`schema_options` adds one ``--field-name`` option per :class:`CompressOptions` field to a
typer command, with the field's description, choices and default as its help. Values arrive as
text and are validated by the schema itself, so a bad one is the schema's one-line message
(``progressive: must be one of auto, always, never (got 'bogus')``), exit 2, not a usage box.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, Optional

import typer
from pydantic import BaseModel

#: Short flags the CLI adds to some fields (a CLI concern, so it lives here, not in the schema).
SHORT_FLAGS = {"quality": "-q"}


def _help(field_name: str, model: type[BaseModel]) -> tuple[str, str]:
    """(help text, metavar) for a schema field: description, choices and default."""
    from focuspress.engine.options import choices

    field = model.model_fields[field_name]
    allowed = choices(field_name, model)
    default = field.get_default()
    text = field.description or ""
    if default is not None:
        shown = f"{default:g}" if isinstance(default, float) else str(default)
        text += f" Default: {shown}."
    if allowed:
        return text, "[" + "|".join(allowed) + "]"
    return text, "SIZE" if field_name == "target_size" else "NUMBER"


def schema_options(model: type[BaseModel], *, panel: str = "Compression") -> Callable:
    """Decorate a command: its ``options`` parameter receives the given schema fields as a dict."""

    def decorate(command: Callable) -> Callable:
        signature = inspect.signature(command, eval_str=True)  # real Annotated objects for typer
        params = [p for p in signature.parameters.values() if p.name != "options"]
        names = list(model.model_fields)
        for name in names:
            text, metavar = _help(name, model)
            flags = ["--" + name.replace("_", "-"), *([SHORT_FLAGS[name]] if name in SHORT_FLAGS else [])]
            option = typer.Option(*flags, help=text, metavar=metavar, show_default=False, rich_help_panel=panel)
            params.append(
                inspect.Parameter(
                    name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=Annotated[Optional[str], option]
                )
            )

        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            options = {name: kwargs.pop(name) for name in names if name in kwargs}
            return command(*args, options={k: v for k, v in options.items() if v is not None}, **kwargs)

        wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        return wrapper

    return decorate
