"""The default ("full") format, written without rich: shared by the full command line
(output/full.py) and the cache's quick answer (fast_path.py), so the two cannot differ.

Each finding is its header line (`path:row:col: CODE [name] message`), the source line
with a caret span under the reported range, and the fix's `= help:` line. The bytes are
those rich wrote for this layout (tests/test_startup.py compares them with rich's, plain
and coloured): tabs in the header expanded to 8 cells, source tabs to 4, control
characters from the file shown as escapes, no wrapping or cropping at the terminal's
width. Colour follows the summary lines' rule (output/terminal.py): only to a terminal or
with FORCE_COLOR, never with NO_COLOR or TERM=dumb. Cheap to import: no rich (only its
cell-width table, and only for a non-ASCII line), no re, no pathlib, no dataclasses.

A finding here is the cache's form of a Diagnostic (`Diagnostic.to_dict()`): a dict
with code, name, message, severity, location, end_location, fix and cell.
"""

from __future__ import annotations

from tensorlint.output import printable, without_fix_hint

# rich's SGR codes for the styles the full format used: the severity's colour wins over
# the blue of the snippet's gutter (rich's Style.combine), dim on cyan is "2;36"
_SEVERITY = {"error": "1;31", "warning": "1;33", "info": "1;34"}
_BOLD, _DIM, _BLUE, _CYAN, _DIM_CYAN = "1", "2", "34", "36", "2;36"


def read_lines(path: str) -> list[str]:
    """The lines of a checked file as the snippets show them: read as UTF-8 (undecodable
    bytes replaced), split at \\r\\n, \\r and \\n as positions count rows (source.split_lines)."""
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as handle:
            text = handle.read()
    except OSError:
        text = ""
    return split_lines(text)


def split_lines(text: str) -> list[str]:
    """source.split_lines without re: the same rows (\\r\\n is one break, then \\r, then \\n)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def cells(text: str) -> int:
    """The terminal cells `text` takes, as rich counts them (wide characters 2, combining 0)."""
    if text.isascii():
        return len(text)  # printable ASCII: one cell each (control characters are escaped before)
    from rich.cells import cell_len  # its table only: rich's console is never loaded here

    return cell_len(text)


def _line(parts: list[tuple[str, str | None]], colour: bool) -> str:
    if not colour:
        return "".join(text for text, _ in parts) + "\n"
    return "".join(f"\x1b[{sgr}m{text}\x1b[0m" if sgr else text for text, sgr in parts if text) + "\n"


def _expand_tabs(parts: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """Tabs to the next multiple of 8 cells across the whole line, as rich's Text did
    (which also ends a coloured run after each tab)."""
    if not any("\t" in text for text, _ in parts):
        return parts
    out = []
    position = 0
    for text, sgr in parts:
        *tabbed, last = text.split("\t")
        for piece in tabbed:
            position += cells(piece)
            pad = 8 - position % 8
            out.append((piece + " " * pad, sgr))
            position += pad
        out.append((last, sgr))
        position += cells(last)
    return out


def render(findings, lines_of, colour: bool) -> str:
    """The full format of `findings`: (shown path, cache-form finding) pairs in report
    order; `lines_of(index)` gives the source lines of the i-th finding's file (or cell)."""
    out = []
    for index, (shown, d) in enumerate(findings):
        severity = _SEVERITY[d["severity"]]
        fix = d["fix"]
        (row, column), (end_row, end_column) = d["location"], d["end_location"]
        # the fix's hint is on the `= help:` line: the message does not say it twice
        message = without_fix_hint(d["message"], fix["message"] if fix is not None else None)
        out.append(_line(_expand_tabs([
            (printable(shown), _BOLD), (f":{_position(d)}: ", None), (d["code"], severity),
            (f" [{d['name']}] ", _DIM), (printable(message), None),
        ]), colour))
        lines = lines_of(index)
        gutter = " " * len(str(row))
        if 0 < row <= len(lines):
            raw = lines[row - 1]
            start = column - 1
            end = end_column - 1 if end_row == row else len(raw)
            # columns count characters; the terminal counts cells (tabs, wide characters);
            # control characters from the file are shown as escapes (`\x1b`), never sent raw
            line = printable(raw).expandtabs(4)
            lead = cells(printable(raw[:start]).expandtabs(4))
            width = max(1, cells(printable(raw[:end]).expandtabs(4)) - lead)
            out.append(_line([(gutter + " |", _BLUE)], colour))
            out.append(_line([(f"{row} | {line}", _BLUE)], colour))
            out.append(_line([(gutter + " | ", _BLUE), (" " * lead + "^" * width, severity)], colour))
        if fix is not None:
            hint = [(f"{gutter} = help: {printable(fix['message'])}", _CYAN)]
            if fix["applicability"] == "unsafe":
                hint.append((" (unsafe fix: --unsafe-fixes)", _DIM_CYAN))
            out.append(_line(_expand_tabs(hint), colour))
        out.append("\n")
    return "".join(out)


def _position(d) -> str:
    """`row:column`, or `cell N:row:column` in a notebook (Diagnostic.position)."""
    where = f"{d['location'][0]}:{d['location'][1]}"
    return where if d.get("cell") is None else f"cell {d['cell']}:{where}"
