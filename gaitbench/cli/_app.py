"""The Typer application object and the option aliases shared by several commands."""

from __future__ import annotations

import typer

from gaitbench.console import Console

app = typer.Typer(
    name="gaitbench",
    help="Benchmarking toolkit for silhouette-based gait recognition: "
    "synth / prep -> train -> evaluate -> report.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)

console = Console()
err_console = Console(stderr=True)


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
                err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
                raise typer.Exit(1) from None

        return app.command(*args, **kwargs)(wrapper)

    return decorate
