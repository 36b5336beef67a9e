"""The Typer application object and the option aliases shared by several commands."""

from __future__ import annotations

import click
import typer
from rich.markup import escape
from typer.core import TyperGroup

from gaitbench.console import Console


class _OneLineErrors(TyperGroup):
    """Usage errors (an unknown option, a value of the wrong type, a missing argument) as one
    line, ``error: ...``, with exit status 2 like Click's, instead of Typer's boxed panel."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # `gaitbench CMD` alone: its help
                raise
            where = getattr(exc, "ctx", None) or ctx
            hint = (
                f" (see `{where.command_path} --help`)" if isinstance(exc, click.UsageError) else ""
            )
            message = " ".join(exc.format_message().split())
            print_error(f"{message}{hint}")
            raise click.exceptions.Exit(exc.exit_code) from None


app = typer.Typer(
    cls=_OneLineErrors,
    name="gaitbench",
    help="Benchmarking toolkit for silhouette-based gait recognition: "
    "synth / prep -> train -> evaluate -> report.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

console = Console()
err_console = Console(stderr=True)


def print_error(message: str) -> None:
    """The one line every failing command ends with: ``error: MESSAGE`` on stderr."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)


def command(*args, **kwargs):
    """``@app.command`` that turns a `GaitbenchError` into one red line on stderr and exit 1.

    Every gaitbench command is registered through this, so Typer's test runner sees the same
    behaviour as the shell (exit code 1, message on stderr, no traceback).
    """
    import functools

    from gaitbench.errors import GaitbenchError

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*a, **kw):
            try:
                return fn(*a, **kw)
            except GaitbenchError as exc:
                print_error(str(exc))
                raise typer.Exit(1) from None

        return app.command(*args, **kwargs)(wrapper)

    return decorate
