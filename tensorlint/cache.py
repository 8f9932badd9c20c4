"""Per-file results keyed by content hash, tool version and effective settings.

One JSON file per (version, settings) holds every entry, so a warm run reads one file
instead of thousands. Writes are atomic (temp file + rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from tensorlint import __version__

CACHE_DIR_NAME = ".tensorlint_cache"
_MAX_ENTRIES = 50_000


def content_key(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def settings_key(*parts) -> str:
    return hashlib.blake2b(repr((__version__, *parts)).encode(), digest_size=12).hexdigest()


class Cache:
    def __init__(self, folder: Path | None, key: str) -> None:
        self.folder = folder
        self._file = folder / f"v{__version__}-{key}.json" if folder is not None else None
        self._old: dict[str, list] = {}
        self._new: dict[str, list] = {}
        self.hits = 0
        if self._file is not None:
            try:
                self._old = json.loads(self._file.read_text(encoding="utf-8"))["entries"]
            except (OSError, ValueError, KeyError, TypeError):
                self._old = {}

    def get(self, key: str) -> list | None:
        found = self._new.get(key)
        if found is None:
            found = self._old.get(key)
            if found is not None:
                self._new[key] = found
        if found is not None:
            self.hits += 1
        return found

    def put(self, key: str, diagnostics: list) -> None:
        self._new[key] = diagnostics

    def save(self) -> None:
        if self._file is None or not self._new:
            return
        if set(self._new) <= set(self._old):
            return  # nothing new to remember
        entries = dict(self._old)
        entries.update(self._new)
        if len(entries) > _MAX_ENTRIES:
            entries = dict(self._new)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _write_markers(self.folder)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"entries": entries}, handle, separators=(",", ":"))
            os.replace(tmp, self._file)
        except OSError:
            pass  # a read-only tree must not fail the lint


def _write_markers(folder: Path) -> None:
    ignore = folder / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Automatically created by tensorlint.\n*\n", encoding="utf-8")
    tag = folder / "CACHEDIR.TAG"
    if not tag.exists():
        tag.write_text(
            "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by tensorlint.\n",
            encoding="utf-8",
        )
