"""ruff's `json-lines`: one JSON object per finding per line (the `json` records)."""

import json

from tensorlint.output.json_format import as_record


def render(diagnostics, **_) -> str:
    return "".join(json.dumps(as_record(d)) + "\n" for d in diagnostics)
