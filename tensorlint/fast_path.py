"""`tensorlint check FILE.py ...` answered from the cache before the command line loads.

Editors on save and pre-commit on a small commit run the linter on a few files that
are usually unchanged and clean. The full command line (argparse, dataclasses, the
configuration and discovery machinery) costs several times Python's own start-up, so
the plainest case is answered here with the standard library's cheapest modules:
explicit `.py` files, no options, no tensorlint configuration at or above the working
folder, no TENSORLINT_OUTPUT_FORMAT, a cache entry for every file whose dependencies are
unchanged, and no findings. Anything else returns None and the full command line
runs; it then answers the same (tests/test_startup.py checks both agree).
"""

from __future__ import annotations

import json
import os
import sys

from tensorlint import __version__
from tensorlint.cache import CACHE_DIR_NAME, Stamps, content_key, entry_for, settings_key

_CONFIG_NAMES = (".tensorlint.toml", "tensorlint.toml", "pyproject.toml")  # as config.CONFIG_NAMES
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-16/32 text can hold `torch` without the bytes


def answer(argv: list[str]) -> int | None:
    """The exit code when the cache answers `argv` with no findings; None otherwise."""
    if len(argv) < 2 or argv[0] != "check" or os.environ.get("TENSORLINT_OUTPUT_FORMAT"):
        return None
    files = argv[1:]
    if any(not name.endswith(".py") or name.startswith("-") or not os.path.isfile(name) for name in files):
        return None
    cwd = os.getcwd()
    if _configured(cwd):
        return None
    entries = _entries(os.path.join(cwd, CACHE_DIR_NAME))
    if entries is None:
        return None
    stamps = Stamps()
    for name in files:
        try:
            with open(name, "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        if b"torch" not in data and not data.startswith(_WIDE_BOMS):
            continue  # never parsed, never a finding (see TL000's doc)
        entry = entry_for(entries, content_key(data))
        if entry is None or entry["diagnostics"]:
            return None
        if not all(stamps.unchanged(dep, recorded) for dep, recorded in entry.get("deps", {}).items()):
            return None
    _print_clean(sys.stdout)
    return 0


def _configured(cwd: str) -> bool:
    """A tensorlint configuration at or above the working folder (then the full path
    reads it): any .tensorlint.toml or tensorlint.toml, or a pyproject.toml that even
    mentions tensorlint."""
    folder = cwd
    while True:
        for name in _CONFIG_NAMES:
            path = os.path.join(folder, name)
            if os.path.isfile(path):
                if name != "pyproject.toml":
                    return True
                try:
                    with open(path, "rb") as handle:
                        if b"tensorlint" in handle.read():
                            return True
                except OSError:
                    return True
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent


def _entries(folder: str) -> dict | None:
    """The cache's entries for the default settings, as `tensorlint check` keys them."""
    from tensorlint.cache import read_signed

    with open(os.path.join(os.path.dirname(__file__), "data", "rule_catalog.json"), encoding="utf-8") as handle:
        enabled = sorted(rule["code"] for rule in json.load(handle) if rule["default"])
    key = settings_key(enabled, (), (), None)  # commands/check.py: no options, bases or target version
    entries = read_signed(os.path.join(folder, f"v{__version__}-{key}.json"), "entries")
    return entries if isinstance(entries, dict) else None


def _print_clean(stream) -> None:
    from tensorlint.output.terminal import Terminal

    Terminal(stream).print("All checks passed!", style="green")
