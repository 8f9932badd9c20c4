"""SARIF 2.1.0, as GitHub code scanning accepts it."""

import json
from pathlib import Path

from tensorlint import __version__
from tensorlint.output import DOCS_URL
from tensorlint.rules import all_rules

_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _uri(path: str, root: Path) -> str:
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(root.resolve()).as_posix()
    except ValueError:
        return resolved.as_uri()


def render(diagnostics, root: Path | None = None, **_) -> str:
    root = root or Path.cwd()
    rules = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.doc()},
            "help": {"text": rule.doc(), "markdown": rule.doc()},
            "helpUri": DOCS_URL.format(name=rule.name),
            "defaultConfiguration": {"level": _LEVEL[rule.severity.value]},
            "properties": {"tags": ["pytorch"]},
        }
        for rule in all_rules()
    ]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = [
        {
            "ruleId": d.code,
            "ruleIndex": index.get(d.code, 0),
            "level": _LEVEL[d.severity.value],
            "message": {"text": d.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _uri(d.filename, root)},
                        "region": {
                            "startLine": d.location.row,
                            "startColumn": d.location.column,
                            "endLine": d.end_location.row,
                            "endColumn": d.end_location.column,
                        },
                    }
                }
            ],
            **({"properties": {"cell": d.cell}} if d.cell is not None else {}),
        }
        for d in diagnostics
    ]
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "tensorlint",
                        "version": __version__,
                        "informationUri": "https://github.com/tensorlint/tensorlint",
                        "rules": rules,
                    }
                },
                # columns count characters (code points), not SARIF's default UTF-16 units
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"
