"""`# noqa` comments per line and `# tensorlint: noqa` per file, flake8/ruff style."""

from __future__ import annotations

import re

from tensorlint.diagnostics import Diagnostic

_LINE_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z0-9_\-]+(?:[\s,]+[A-Za-z0-9_\-]+)*))?", re.IGNORECASE)
_FILE_NOQA = re.compile(
    r"^[ \t]*#[ \t]*tensorlint[ \t]*:[ \t]*noqa(?:[ \t]*:[ \t]*(?P<codes>[A-Za-z0-9_\-]+(?:[ \t,]+[A-Za-z0-9_\-]+)*))?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_SPLIT = re.compile(r"[\s,]+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _codes(text: str | None) -> frozenset[str] | None:
    """None means "everything"; otherwise lower-cased codes and rule names."""
    if not text:
        return None
    return frozenset(c.lower() for c in _SPLIT.split(text.strip()) if c)


def _matches(codes: frozenset[str] | None, diagnostic: Diagnostic) -> bool:
    return codes is None or diagnostic.code.lower() in codes or diagnostic.name in codes


class Suppressions:
    def __init__(self, source: str) -> None:
        self._source = source
        self._lines: list[str] | None = None
        self._file: list[frozenset[str] | None] = [_codes(m.group("codes")) for m in _FILE_NOQA.finditer(source)]

    def _line(self, row: int) -> str:
        if self._lines is None:
            # the same line breaks as libcst and the positions (not str.splitlines, which
            # also breaks on form feeds and other separators)
            self._lines = _LINE_BREAK.split(self._source)
        return self._lines[row - 1] if 0 < row <= len(self._lines) else ""

    def suppressed(self, diagnostic: Diagnostic) -> bool:
        if any(_matches(codes, diagnostic) for codes in self._file):
            return True
        if diagnostic.noqa_row is None:
            return False
        line = self._line(diagnostic.noqa_row)
        if "noqa" not in line.lower():
            return False
        for match in _LINE_NOQA.finditer(line):
            if _matches(_codes(match.group("codes")), diagnostic):
                return True
        return False

    def filter(self, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
        return [d for d in diagnostics if not self.suppressed(d)]
