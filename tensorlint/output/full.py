"""The default, human format: each finding with its source line, a caret span and the fix hint."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from tensorlint.diagnostics import Applicability
from tensorlint.output import display_path, printable, without_fix_hint
from tensorlint.source import split_lines

_SEVERITY_STYLE = {"error": "bold red", "warning": "bold yellow", "info": "bold blue"}


def _source_lines(path: str, texts: dict[str, str], cell: int | None = None) -> list[str]:
    if cell is not None:  # a notebook: the lines of that cell
        from tensorlint.notebook import cell_lines

        return cell_lines(path, cell, texts.get(path))
    text = texts.get(path)
    if text is None:
        try:
            with open(path, encoding="utf-8", errors="replace", newline="") as handle:
                text = handle.read()
        except OSError:
            text = ""
    return split_lines(text)


def print_full(console: Console, diagnostics, texts: dict[str, str]) -> None:
    lines_by_file: dict[tuple, list[str]] = {}
    for d in diagnostics:
        key = (d.filename, d.cell)
        lines = lines_by_file.get(key)
        if lines is None:
            lines = lines_by_file[key] = _source_lines(d.filename, texts, d.cell)
        header = Text()
        header.append(display_path(d.filename), style="bold")
        header.append(f":{d.position()}: ")
        header.append(d.code, style=_SEVERITY_STYLE[d.severity.value])
        header.append(f" [{d.name}] ", style="dim")
        # the fix's hint is on the `= help:` line: the message does not say it twice
        header.append(printable(without_fix_hint(d.message, d.fix.message if d.fix is not None else None)))
        console.print(header)
        row = d.location.row
        if 0 < row <= len(lines):
            gutter = len(str(row))
            raw = lines[row - 1]
            start = d.location.column - 1
            end = d.end_location.column - 1 if d.end_location.row == row else len(raw)
            # columns count characters; the terminal counts cells (tabs, wide characters);
            # control characters from the file are shown as escapes (`\x1b`), never sent raw
            line = printable(raw).expandtabs(4)
            lead = cell_len(printable(raw[:start]).expandtabs(4))
            width = max(1, cell_len(printable(raw[:end]).expandtabs(4)) - lead)
            console.print(Text(" " * gutter + " |", style="blue"))
            code_line = Text(f"{row} | ", style="blue")
            code_line.append(line)
            console.print(code_line)
            caret = Text(" " * gutter + " | ", style="blue")
            caret.append(" " * lead + "^" * width, style=_SEVERITY_STYLE[d.severity.value])
            console.print(caret)
        if d.fix is not None:
            hint = Text(" " * (len(str(row)) + 1) + "= help: ", style="cyan")
            hint.append(printable(d.fix.message))
            if d.fix.applicability is Applicability.UNSAFE:
                hint.append(" (unsafe fix: --unsafe-fixes)", style="dim")
            console.print(hint)
        console.print()
