"""ruff-compatible JSON: a list of finding objects with absolute filenames and 1-based positions."""

import json

from tensorlint.output import DOCS_URL, absolute_path


def as_record(d) -> dict:
    return {
        "cell": d.cell,
        "code": d.code,
        "end_location": {"column": d.end_location.column, "row": d.end_location.row},
        "filename": absolute_path(d.filename),
        "fix": d.fix.to_dict() if d.fix else None,
        "location": {"column": d.location.column, "row": d.location.row},
        "message": d.message,
        "name": d.name,
        "noqa_row": d.noqa_row,
        "severity": d.severity.value,
        "url": DOCS_URL.format(name=d.name),
    }


def render(diagnostics, **_) -> str:
    return json.dumps([as_record(d) for d in diagnostics], indent=2) + "\n"
