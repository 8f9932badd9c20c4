"""Per-file results keyed by content hash, tool version and effective settings.

One JSON file per (version, settings) holds every entry, so a warm run reads one file
instead of thousands. Writes are atomic (temp file + rename). Each file carries a
checksum of its payload: a file that tensorlint did not write whole (hand-edited,
truncated, of another shape) is ignored and rebuilt, never trusted.
"""

from __future__ import annotations

import json
import os
from stat import S_ISREG
from pathlib import Path

from tensorlint import __version__

try:  # hashlib's blake2b is this one; importing hashlib also loads OpenSSL (~3 ms a run)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python built without it
    from hashlib import blake2b

CACHE_DIR_NAME = ".tensorlint_cache"
_MAX_ENTRIES = 50_000


def content_key(data: bytes) -> str:
    return blake2b(data, digest_size=16).hexdigest()


class Stamps:
    """Whether dependency files still match the "hash:size:mtime_ns" stamps recorded
    when their dependents were checked (`ProjectIndex.digest` writes them). An
    unchanged size and mtime is trusted; otherwise the content is hashed. One per run:
    each file is looked at once."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], bool] = {}

    def unchanged(self, path: str, recorded: str) -> bool:
        key = (path, recorded)
        found = self._seen.get(key)
        if found is None:
            digest, _, stat_part = recorded.partition(":")
            try:
                stat = os.stat(path)
                found = stat_part == f"{stat.st_size}:{stat.st_mtime_ns}"
                if not found and digest and S_ISREG(stat.st_mode):  # never open a FIFO: it would block
                    with open(path, "rb") as handle:
                        found = content_key(handle.read()) == digest
            except OSError:
                found = False
            self._seen[key] = found
        return found


def settings_key(*parts) -> str:
    return blake2b(repr((__version__, *parts)).encode(), digest_size=12).hexdigest()


class Cache:
    def __init__(self, folder: Path | None, key: str) -> None:
        self.folder = folder
        self._file = folder / f"v{__version__}-{key}.json" if folder is not None else None
        self._old: dict[str, dict] = {}
        self._new: dict[str, dict] = {}
        self._facts_file = folder / f"facts-v{__version__}.json" if folder is not None else None
        self._facts: dict | None = None
        self._new_facts: dict = {}
        self.hits = 0
        if self._file is not None:
            entries = read_signed(self._file, "entries")
            if isinstance(entries, dict):
                self._old = entries  # each entry is checked when asked for (a warm run asks few)

    def get(self, key: str) -> dict | None:
        """{"diagnostics": [...], "deps": {path: content hash}} for a content key."""
        found = self._new.get(key)
        if found is None:
            found = entry_for(self._old, key)
            if found is not None:
                self._new[key] = found
        if found is not None:
            self.hits += 1
        return found

    def put(self, key: str, entry: dict) -> None:
        self._new[key] = entry

    def facts(self) -> dict:
        """Per-file facts of the project index (semantics/facts.py), by content hash."""
        if self._facts is None:
            self._facts = {}
            if self._facts_file is not None:
                loaded = read_signed(self._facts_file, "facts")
                if isinstance(loaded, dict):
                    self._facts = {k: v for k, v in loaded.items() if isinstance(k, str) and (v is None or isinstance(v, dict))}
        return self._facts

    def add_facts(self, facts: dict) -> None:
        for key, value in facts.items():
            if key not in self.facts():
                self._new_facts[key] = value

    def save(self) -> None:
        self._save_facts()
        if self._file is None or not self._new:
            return
        if all(self._old.get(key) is entry for key, entry in self._new.items()):
            return  # nothing new to remember: every entry used came from the file as it is
        entries = {k: v for k, v in self._old.items() if isinstance(k, str) and _valid_entry(v)}
        entries.update(self._new)
        if len(entries) > _MAX_ENTRIES:
            entries = dict(self._new)
        _atomic_write(self.folder, self._file, {"entries": entries})


    def _save_facts(self) -> None:
        if self._facts_file is None or not self._new_facts:
            return
        facts = dict(self.facts())
        facts.update(self._new_facts)
        if len(facts) > _MAX_ENTRIES:
            facts = dict(self._new_facts)
        _atomic_write(self.folder, self._facts_file, {"facts": facts})


def entry_for(entries: dict, key: str) -> dict | None:
    """The entry for a content key, if it has the shape tensorlint writes."""
    found = entries.get(key)
    return found if _valid_entry(found) else None


def _valid_entry(value) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("diagnostics"), list)
        and all(isinstance(d, dict) for d in value["diagnostics"])
        and isinstance(value.get("deps", {}), dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in value.get("deps", {}).items())
    )


# A cache file is `{"check":"<checksum of X>","<name>":X}`, X written last and verbatim.
def _checksum(text: str) -> str:
    return blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def signed(name: str, value) -> str:
    """The text of a cache file holding `value` under `name`, with its checksum."""
    body = json.dumps(value, separators=(",", ":"))
    return f'{{"check":"{_checksum(body)}","{name}":{body}}}'


def read_signed(path, name: str):
    """The payload of a cache file, or None if it is missing, unreadable, or not exactly
    what tensorlint wrote."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    head = '{"check":"'
    middle = f'","{name}":'
    checksum = text[len(head) : len(head) + 32]
    body_at = len(head) + 32 + len(middle)
    if not (text.startswith(head) and text.startswith(middle, len(head) + 32) and text.endswith("}")):
        return None
    body = text[body_at:-1]
    if _checksum(body) != checksum:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError, MemoryError):
        return None


def _atomic_write(folder: Path, target: Path, payload: dict) -> None:
    ((name, value),) = payload.items()
    try:
        text = signed(name, value)
    except (TypeError, ValueError, RecursionError):
        return  # nothing to remember that can be written
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _write_markers(folder)
        import tempfile  # only when writing: a run that the cache answers writes nothing

        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
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
