"""reviewdog's rdjson (Reviewdog Diagnostic Format, `DiagnosticResult`): findings with
their code, severity, range (end exclusive, 1-based columns) and fixes as suggestions."""

import json

from tensorlint.output import DOCS_URL, display_path

_SEVERITY = {"error": "ERROR", "warning": "WARNING", "info": "INFO"}


def _range(start, end) -> dict:
    return {"start": {"line": start.row, "column": start.column}, "end": {"line": end.row, "column": end.column}}


def _record(d) -> dict:
    record = {
        # rows of a notebook finding count in its cell: the message says which
        "message": d.message if d.cell is None else f"cell {d.cell}: {d.message}",
        "location": {"path": display_path(d.filename), "range": _range(d.location, d.end_location)},
        "severity": _SEVERITY[d.severity.value],
        "code": {"value": d.code, "url": DOCS_URL.format(name=d.name)},
    }
    if d.fix is not None and d.fix.edits:
        record["suggestions"] = [{"range": _range(e.location, e.end_location), "text": e.content} for e in d.fix.edits]
    return record


def render(diagnostics, **_) -> str:
    document = {
        "source": {"name": "tensorlint", "url": "https://github.com/tensorlint/tensorlint"},
        "severity": "WARNING",
        "diagnostics": [_record(d) for d in diagnostics],
    }
    return json.dumps(document, indent=2) + "\n"
