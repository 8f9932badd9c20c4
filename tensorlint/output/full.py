"""The default, human format: each finding with its source line, a caret span and the fix hint.

Rendered by output/full_text.py, which the cache's quick answer (fast_path.py) shares.
"""

from __future__ import annotations

from tensorlint.output import display_path
from tensorlint.output.full_text import read_lines, render
from tensorlint.output.terminal import colours


def _source_lines(path: str, texts: dict[str, str], cell: int | None = None) -> list[str]:
    if cell is not None:  # a notebook: the lines of that cell
        from tensorlint.notebook import cell_lines

        return cell_lines(path, cell, texts.get(path))
    text = texts.get(path)
    if text is None:
        return read_lines(path)  # as fast_path.py reads them
    from tensorlint.source import split_lines

    return split_lines(text)


def print_full(console, diagnostics, texts: dict[str, str]) -> None:
    """`console`: output/terminal.py's Terminal (its stream, and whether it takes colour)."""
    diagnostics = list(diagnostics)
    lines_by_file: dict[tuple, list[str]] = {}

    def lines_of(index: int) -> list[str]:
        d = diagnostics[index]
        key = (d.filename, d.cell)
        lines = lines_by_file.get(key)
        if lines is None:
            lines = lines_by_file[key] = _source_lines(d.filename, texts, d.cell)
        return lines

    stream = console.file
    stream.write(render([(display_path(d.filename), d.to_dict()) for d in diagnostics], lines_of, colours(stream)))
