"""The ``nlp-service`` application: the typer app, conventional metavars in the help, the
``--version`` option and the two ways a command fails (a plain error, a missing extra)."""

from __future__ import annotations

import sys
from functools import partial
from typing import TYPE_CHECKING, Annotated

import click
import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup


class _Argument(TyperArgument):
    """An argument shown the way click shows one: its metavar (``FILE``, ``[TEXT]...``) in the
    usage line and the help, not typer's ``{input}`` and ``<path>``."""

    def _usage_display_name(self) -> str:
        name = self.metavar or self.name.upper()
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    def _rich_display_name(self) -> str:
        return (self.metavar or self.name.upper()) + ("..." if self.nargs != 1 else "")

    def display_type_rich(self, ctx: click.Context) -> str | None:
        return None


def _conventional(params: list[click.Parameter]) -> list[click.Parameter]:
    for param in params:
        if isinstance(param, TyperArgument) and not isinstance(param, _Argument):
            param.__class__ = _Argument
        elif isinstance(param, click.Option) and param.is_flag and param.metavar is None:
            param.metavar = ""  # a flag takes no value: no ``<bool>`` beside it
    return params


class _Command(TyperCommand):
    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return _conventional(super().get_params(ctx))  # the help option is made here


class _Group(TyperGroup):
    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        return _conventional(super().get_params(ctx))


# Boxes, colours and rich tracebacks for a person at a terminal; plain click-style help and
# errors when the output goes to a pipe, a file or a log.
_TERMINAL = sys.stdout.isatty() and sys.stderr.isatty()
app = typer.Typer(
    cls=_Group,
    add_completion=False,
    no_args_is_help=True,
    help="The comment brain for live-stream e-commerce rooms.",
    context_settings={"help_option_names": ["-h", "--help"]},  # on every command too
    rich_markup_mode="rich" if _TERMINAL else None,
    pretty_exceptions_enable=_TERMINAL,
)
command = partial(app.command, cls=_Command)

if TYPE_CHECKING:
    from rich.console import Console


class _StderrConsole:
    """rich's ``Console(stderr=True)``, made on first use: importing rich costs ~25 ms of
    CPU that a command which prints nothing (``score --quiet``) need not pay."""

    _console: Console | None = None

    def __getattr__(self, name: str) -> object:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=True)  # rich drops colour codes by itself when stderr is not a terminal
        return getattr(self._console, name)


err = _StderrConsole()


def _print_version(value: bool) -> None:
    if value:
        from nlp_service import __version__

        typer.echo(f"nlp-service {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """The comment brain for live-stream e-commerce rooms."""


def _fail(exc: Exception) -> None:
    from rich.markup import escape

    err.print(f"[red]error:[/red] {escape(str(exc))}")  # a message's [brackets] are text, not markup
    raise typer.Exit(2)


def _require(extra: str, *modules: str) -> None:
    """Serving installs what serving needs; training, archives, reports and Dask are extras
    (pyproject.toml). Say which one to install instead of a traceback."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        _fail(RuntimeError(f"this command needs {', '.join(missing)}: pip install 'nlp-service[{extra}]'"))

