"""What every command shares: the consoles, the one-line error, exit codes, engine-level choices."""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Iterator
from types import UnionType
from typing import Annotated, Any, NoReturn, Union, get_args, get_origin

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup
from typer.models import DefaultPlaceholder, OptionInfo

#: Exit codes: 0 all done; 2 a bad input or option (one line each, no traceback); 1 a bug or an
#: unreachable cluster (the traceback of a bug is printed so it can be reported).
EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up chatter off stderr

out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def reflow(text: str) -> str:
    """``text`` (a docstring) with each paragraph on one line, an indented one (examples) as it is.
    Typer's rich help keeps a paragraph's single line breaks and then wraps each line again at the
    terminal's width: a docstring wrapped at 100 columns showed at 80 as a long line, a stub, a
    long line (typer 0.29). Joined, rich wraps each paragraph once, to the terminal."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(
        p if p.startswith((" ", "\b")) else " ".join(line.strip() for line in p.splitlines()) for p in paragraphs
    )


def _apps(app: typer.Typer) -> Iterator[typer.Typer]:
    """``app`` and every command group under it (``bench``, ``train``), nested ones too."""
    yield app
    for group in app.registered_groups:
        if group.typer_instance is not None:
            yield from _apps(group.typer_instance)


def reflow_help(app: typer.Typer) -> None:
    """Every command's and group's help in ``app`` reflowed (:func:`reflow`), its docstring's where it
    sets none: the help is written once, in the docstring, and shown at any width."""
    for each in _apps(app):
        for command in each.registered_commands:
            text = command.help or inspect.getdoc(command.callback)
            command.help = reflow(text) if text else text
        text = each.info.help if each is not app and isinstance(each.info.help, str) else None
        if text:
            each.info.help = reflow(text)


def hide_flag_types(app: typer.Typer) -> None:
    """Every on/off flag in ``app`` shown without a type in ``--help`` (typer 0.29 prints ``<bool>``
    beside each, which reads as though ``--recursive`` took a value), ``--help`` itself too. Options
    that take one keep theirs (``<path>``, ``<int>``, the schema's ``NUMBER``)."""
    for each in _apps(app):
        callbacks = [command.callback for command in each.registered_commands]
        callbacks += [each.registered_callback.callback] if each.registered_callback is not None else []
        for callback in callbacks:
            if callback is not None:
                _hide_flag_types_of(callback)
        # ``--help`` is made by click for each command, not declared: its classes blank its type
        for command in each.registered_commands:
            if command.cls in (None, TyperCommand):
                command.cls = _FlagHelpCommand
        if isinstance(each.info.cls, DefaultPlaceholder) or each.info.cls is None:
            each.info.cls = _FlagHelpGroup


def _help_without_type(option: Any) -> Any:
    """Click's ``--help`` option (None where a command has none) with an empty type: typer prints the
    metavar where one is set, and an empty one prints nothing."""
    if option is not None and option.metavar is None:
        option.metavar = ""
    return option


class _FlagHelpCommand(TyperCommand):
    """A command whose ``--help`` line shows no ``<bool>``."""

    def get_help_option(self, ctx: Any) -> Any:
        return _help_without_type(super().get_help_option(ctx))


class _FlagHelpGroup(TyperGroup):
    """A command group whose ``--help`` line shows no ``<bool>``."""

    def get_help_option(self, ctx: Any) -> Any:
        return _help_without_type(super().get_help_option(ctx))


def _hide_flag_types_of(callback: Callable[..., Any]) -> None:
    # (the evaluated signature is kept on the function: typer reads ``__signature__`` where there
    # is one, and would otherwise evaluate the annotations, and make their options, afresh)
    signature = inspect.signature(callback, eval_str=True)
    for parameter in signature.parameters.values():
        if get_origin(parameter.annotation) is not Annotated:
            continue
        kind, *extras = get_args(parameter.annotation)
        for info in extras:
            if isinstance(info, OptionInfo) and info.metavar is None and _is_bool(kind):
                info.metavar = ""
    callback.__signature__ = signature  # type: ignore[attr-defined]


def _is_bool(kind: Any) -> bool:
    """``bool`` or ``Optional[bool]``."""
    return kind is bool or (get_origin(kind) in (Union, UnionType) and set(get_args(kind)) == {bool, type(None)})


def fail(message: str) -> None:
    """One ``error:`` line on stderr (the message is text, never markup: names can hold ``[``)."""
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)


def note(message: str) -> None:
    err.print(f"[yellow]note:[/yellow] {escape(message)}", highlight=False, soft_wrap=True)


def refuse(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """One ``error:`` line, then exit with ``code`` (2: the user's input or options)."""
    fail(message)
    raise typer.Exit(code)


def check_choice(option: str, value: str, allowed: tuple[str, ...]) -> str:
    """An engine-level choice (saliency model, executor) in the schema's one-line wording."""
    if value not in allowed:
        refuse(f"{option}: must be one of {', '.join(allowed)} (got {value!r})")
    return value


def one_of(choices: tuple[str, ...]) -> str:
    """The type column of an option that takes one of ``choices``, as typer shows the options the
    schema declares with their choices: ``[a|b|c]``."""
    return "[" + "|".join(choices) + "]"


def choice_option(name: str, choices: tuple[str, ...], help: str) -> Any:
    """An option taking one of ``choices`` that the schema does not declare (an engine-level choice:
    saliency model, executor, table, log format): ``--help`` shows its choices, and a value outside
    them is refused as it is parsed, in the one-line wording of every refusal, by every command
    that takes the option (two that took any ``--saliency`` ended in a traceback)."""

    def checked(value: str | None) -> str | None:
        return value if value is None else check_choice(name, value, choices)

    return typer.Option(name, help=help, metavar=one_of(choices), callback=checked)


def saliency_option() -> Any:
    """``--saliency``, the same in every command: its choices and what each is from the registry
    (written once, there; typer shows each command's default beside it)."""
    from focuspress.engine.saliency import SALIENCY_CHOICES, SALIENCY_SUMMARIES

    each = ", ".join(f"{name} ({SALIENCY_SUMMARIES[name]})" for name in SALIENCY_CHOICES)
    return choice_option("--saliency", SALIENCY_CHOICES, f"Importance map: {each}.")


def kb(n: int) -> str:
    return f"{n / 1000:.1f} KB" if n < 1_000_000 else f"{n / 1e6:.2f} MB"
