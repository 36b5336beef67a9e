"""The console every command prints through.

On a terminal it wraps at the terminal's width, as rich does. Anywhere else (a file, a pipe, a
test runner) it never wraps or truncates: a log holds each message, file names included, on one
line that can be grepped and pasted, whatever the path's length. Plain messages are soft-wrapped
everywhere, so a terminal folds a long line on screen without breaking it when copied.
"""

from __future__ import annotations

import rich.console
from rich.console import ConsoleDimensions
from rich.rule import Rule
from rich.text import Text

NOT_A_TERMINAL_WIDTH = (
    100_000  # wider than any line gaitbench prints; tables keep their natural width
)
RULE_WIDTH = 80  # a rule in a log: this wide, or as wide as its title needs


class Console(rich.console.Console):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("soft_wrap", True)
        super().__init__(**kwargs)

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if self.is_terminal:
            return size
        return ConsoleDimensions(NOT_A_TERMINAL_WIDTH, size.height)

    def rule(self, title: str = "", *, characters: str = "─", style="rule.line", align="center"):
        """A horizontal rule; off a terminal, as wide as its title needs instead of the console."""
        width = None
        if not self.is_terminal:
            title_width = Text.from_markup(title).cell_len if self._markup and title else len(title)
            width = max(RULE_WIDTH, title_width + 6)
        rule = Rule(title=title, characters=characters, style=style, align=align)
        self.print(rule, width=width, soft_wrap=False)
