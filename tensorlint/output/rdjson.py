"""reviewdog's rdjson (Reviewdog Diagnostic Format, `DiagnosticResult`): findings with
their code, severity, range (end exclusive) and fixes as suggestions. Columns are counted
in UTF-8 bytes, as the format says (tensorlint counts characters elsewhere)."""

import json

from tensorlint.output import DOCS_URL, display_path
from tensorlint.source import split_lines

_SEVERITY = {"error": "ERROR", "warning": "WARNING", "info": "INFO"}


class _Columns:
    """Character columns to UTF-8 byte columns, reading each file once."""

    def __init__(self) -> None:
        self._lines: dict[str, list[str] | None] = {}

    def lines(self, path: str) -> list[str] | None:
        if path not in self._lines:
            try:
                with open(path, encoding="utf-8", errors="replace", newline="") as handle:
                    self._lines[path] = split_lines(handle.read())
            except OSError:
                self._lines[path] = None
        return self._lines[path]

    def position(self, d, location) -> dict:
        column = location.column
        lines = None if getattr(d, "cell", None) is not None or d.filename == "-" else self.lines(d.filename)
        if lines is not None and 0 < location.row <= len(lines):
            line = lines[location.row - 1]
            if not line.isascii():
                column = len(line[: column - 1].encode("utf-8")) + 1 + max(0, column - 1 - len(line))
        return {"line": location.row, "column": column}


def _range(columns: _Columns, d, start, end) -> dict:
    return {"start": columns.position(d, start), "end": columns.position(d, end)}


def _record(columns: _Columns, d) -> dict:
    record = {
        # rows of a notebook finding count in its cell: the message says which
        "message": d.message if getattr(d, "cell", None) is None else f"cell {d.cell}: {d.message}",
        "location": {"path": display_path(d.filename), "range": _range(columns, d, d.location, d.end_location)},
        "severity": _SEVERITY[d.severity.value],
        "code": {"value": d.code, "url": DOCS_URL.format(name=d.name)},
    }
    if d.fix is not None and d.fix.edits:
        record["suggestions"] = [
            {"range": _range(columns, d, e.location, e.end_location), "text": e.content} for e in d.fix.edits
        ]
    return record


def render(diagnostics, **_) -> str:
    columns = _Columns()
    document = {
        "source": {"name": "tensorlint", "url": "https://github.com/tensorlint/tensorlint"},
        "severity": "WARNING",
        "diagnostics": [_record(columns, d) for d in diagnostics],
    }
    return json.dumps(document, indent=2) + "\n"
