"""GitLab Code Quality (a subset of the Code Climate spec): a JSON array of issues.

GitLab reads `description`, `check_name`, `fingerprint`, `severity` (info, minor, major,
critical, blocker), `location.path` (relative to the repository) and `location.lines.begin`.
The fingerprint is stable across runs and line moves: it hashes the path, the code, the
message and how many identical findings came before it in the file (as ruff does).
"""

import hashlib
import json
import os
from collections import Counter
from pathlib import Path

_SEVERITY = {"error": "major", "warning": "minor", "info": "info"}


def _path(filename: str, root: Path) -> str:
    if filename == "-":
        return filename
    project = os.environ.get("CI_PROJECT_DIR")
    base = Path(project) if project else root
    resolved = Path(filename).resolve()
    try:
        return resolved.relative_to(base.resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def _in_cell(d) -> str:
    """Rows of a notebook finding count in its cell, not in the JSON file: say where."""
    return "" if d.cell is None else f" (cell {d.cell}, line {d.location.row})"


def render(diagnostics, root: Path | None = None, **_) -> str:
    root = root or Path.cwd()
    seen: Counter = Counter()
    issues = []
    for d in diagnostics:
        path = _path(d.filename, root)
        key = (path, d.code, d.message)
        occurrence = seen[key]
        seen[key] += 1
        digest = hashlib.md5(f"{path}\0{d.code}\0{d.message}\0{occurrence}".encode(), usedforsecurity=False)
        issues.append(
            {
                "type": "issue",
                "check_name": d.code,
                "description": f"{d.code} [{d.name}] {d.message}" + _in_cell(d),
                "categories": ["Bug Risk"],
                "fingerprint": digest.hexdigest(),
                "severity": _SEVERITY[d.severity.value],
                "location": {
                    "path": path,
                    "lines": {"begin": d.location.row, "end": d.end_location.row},
                },
            }
        )
    return json.dumps(issues, indent=2) + "\n"
