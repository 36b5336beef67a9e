"""The progress display every long step uses."""

from __future__ import annotations

from rich.progress import Progress


class Bar(Progress):
    """A rich progress display that clears itself when its step fails, so that a user error
    reads as one line instead of a half-drawn bar with the error under it."""

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            return super().__exit__(exc_type, exc, tb)
        self.live.transient = True  # on a terminal: erase the bar's lines
        quiet = self.console.quiet
        self.console.quiet = quiet or not self.console.is_terminal  # in a file: write nothing
        try:
            super().__exit__(exc_type, exc, tb)
        finally:
            self.console.quiet = quiet
