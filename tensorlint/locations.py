"""Where tensorlint's own inputs are: the names of configuration files, and the rule
catalog's data.

Both the quick answer from the cache (`fast_path.py`, which may import only json and
os) and the full command line (`config.py`, `catalog.py`) need these, so they live here,
once, with no other imports.
"""

from __future__ import annotations

import json
import os

# In one folder the first of these that exists wins, as ruff prefers .ruff.toml >
# ruff.toml > pyproject.toml; a pyproject.toml counts only with a [tool.tensorlint] table.
CONFIG_NAMES = (".tensorlint.toml", "tensorlint.toml", "pyproject.toml")

CATALOG_FILE = "rule_catalog.json"
CATALOG_PATH = os.path.join(os.path.dirname(__file__), "data", CATALOG_FILE)

_entries: list[dict] | None = None


def catalog_entries() -> list[dict]:
    """The catalog as written by scripts/gen_docs.py: one dict a rule, sorted by code."""
    global _entries
    if _entries is None:
        # a plain read: importlib.resources costs more than the file (the package is never zipped)
        with open(CATALOG_PATH, encoding="utf-8") as handle:
            _entries = json.load(handle)
    return _entries


def default_codes() -> list[str]:
    """The codes of the rules that are on when nothing is configured, sorted."""
    return sorted(entry["code"] for entry in catalog_entries() if entry["default"])
