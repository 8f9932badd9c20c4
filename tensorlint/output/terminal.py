"""Summary and status lines, without importing rich unless a caller needs it.

rich costs about 30 ms to import, a third of a run that the cache answers. The lines
printed around findings ("All checks passed!", "Found 3 findings.") need at most one
colour, written here as rich would: only to a terminal (or with FORCE_COLOR), never
with NO_COLOR or TERM=dumb. The full format's snippets (output/full_text.py) follow the
same rule; `Terminal.rich` is there for the tables and the progress bar.
"""

from __future__ import annotations

import os
import sys

_STYLES = {"green": "32", "bold": "1", "bold red": "1;31", "bold yellow": "1;33", "red": "31", "yellow": "33"}


def colours(stream) -> bool:
    """Whether `stream` takes colour (the full format's snippets follow the same rule)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):
        return False


class Terminal:
    """`print(text, style=...)` for plain lines; `rich` for the full format."""

    def __init__(self, file=None, *, stderr: bool = False) -> None:
        self._file = file
        self._stderr = stderr
        self._rich = None

    @property
    def file(self):
        # looked up when used, as rich does: tests and callers may swap sys.stdout
        if self._file is not None:
            return self._file
        return sys.stderr if self._stderr else sys.stdout

    @property
    def rich(self):
        if self._rich is None:
            from rich.console import Console

            self._rich = Console(file=self._file, stderr=self._stderr, highlight=False, soft_wrap=True)
        return self._rich

    def print(self, text: str = "", style: str | None = None, markup: bool = True, highlight: bool = False,
              end: str = "\n") -> None:
        if markup and "[" in text:
            self.rich.print(text, style=style, end=end)  # rich markup: let rich read it
            return
        code = _STYLES.get(style) if style else None
        stream = self.file
        if code and colours(stream):
            stream.write(f"\x1b[{code}m{text}\x1b[0m{end}")
        else:
            stream.write(f"{text}{end}")
