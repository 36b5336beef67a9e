"""Command-line entry point. Each command lives in a small module of this package that parses
options and calls one library function; this file only wires them together.

User errors (`GaitbenchError`) are printed as one red line on stderr with exit status 1; no
traceback for a user error.
"""

from __future__ import annotations

import importlib
import sys

import typer

from gaitbench import __version__
from gaitbench.cli._app import app, print_error
from gaitbench.errors import GaitbenchError

# One module per command group; each registers its commands on `app` at import.
COMMAND_MODULES = (
    "data",  # prep, info, export
    "synth",  # synth
    "models",  # models, complexity, convert
    "train",  # train
    "evaluate",  # evaluate
    "report",  # report
    "compare",  # compare
    "demo",  # demo
)

for _name in COMMAND_MODULES:
    try:
        importlib.import_module(f"gaitbench.cli.{_name}")
    except ModuleNotFoundError as exc:  # a command module not written yet
        if exc.name != f"gaitbench.cli.{_name}":
            raise


def _version(value: bool) -> None:
    if value:
        print(f"gaitbench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """gaitbench: from raw silhouettes to a paper-ready results table."""


def main() -> None:
    try:
        app(standalone_mode=True)
    except GaitbenchError as exc:
        print_error(str(exc))
        sys.exit(1)


if __name__ == "__main__":
    main()
