"""Output formats. Each module renders the sorted diagnostics of one run."""

from __future__ import annotations

import os
from pathlib import Path

FORMATS = ("full", "concise", "json", "sarif", "github")
DOCS_URL = "https://github.com/tensorlint/tensorlint/blob/main/docs/rules.md#{name}"


def display_path(path: str) -> str:
    """Relative to the working directory when the file is below it, as ruff prints."""
    if path == "-" or not os.path.isabs(path):
        return path
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def absolute_path(path: str) -> str:
    return path if path == "-" else str(Path(path).resolve())
