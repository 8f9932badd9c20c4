"""`# noqa` comments per line and `# tensorlint: noqa` per file, flake8/ruff style.

Only real comments count (found with `tokenize`), never text inside strings. This runs
only for files that have findings, so its cost does not matter.
"""

from __future__ import annotations

import io
import re
import tokenize

from tensorlint.diagnostics import Diagnostic
from tensorlint.source import split_lines

_CODES = r"[A-Za-z0-9_\-]+(?:[\s,]+[A-Za-z0-9_\-]+)*"
_LINE_NOQA = re.compile(rf"#\s*noqa(?::\s*(?P<codes>{_CODES}))?", re.IGNORECASE)
_FILE_NOQA = re.compile(rf"^#[ \t]*tensorlint[ \t]*:[ \t]*noqa(?:[ \t]*:[ \t]*(?P<codes>{_CODES}))?[ \t]*$", re.IGNORECASE)
_SPLIT = re.compile(r"[\s,]+")


def _codes(text: str | None) -> frozenset[str] | None:
    """None means "everything"; otherwise lower-cased codes and rule names."""
    if not text:
        return None
    return frozenset(c.lower() for c in _SPLIT.split(text.strip()) if c)


def _matches(codes: frozenset[str] | None, diagnostic: Diagnostic) -> bool:
    return codes is None or diagnostic.code.lower() in codes or diagnostic.name in codes


def comments(source: str) -> tuple[dict[int, str], set[int]]:
    """{row: comment text} and the rows where the comment stands on its own line."""
    by_row: dict[int, str] = {}
    own_line: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                row = token.start[0]
                by_row[row] = token.string
                if not token.line[: token.start[1]].strip():
                    own_line.add(row)
    except (tokenize.TokenError, SyntaxError, ValueError):
        # unparsable text (a TL000 file): fall back to reading lines
        for row, line in enumerate(split_lines(source), start=1):
            index = line.find("#")
            if index >= 0:
                by_row[row] = line[index:]
                if not line[:index].strip():
                    own_line.add(row)
    return by_row, own_line


class Suppressions:
    def __init__(self, source: str) -> None:
        self._comments, own_line = comments(source)
        self._file: list[frozenset[str] | None] = []
        for row in own_line:
            match = _FILE_NOQA.match(self._comments[row].strip())
            if match:
                self._file.append(_codes(match.group("codes")))

    def suppressed(self, diagnostic: Diagnostic) -> bool:
        if any(_matches(codes, diagnostic) for codes in self._file):
            return True
        comment = self._comments.get(diagnostic.noqa_row) if diagnostic.noqa_row else None
        if not comment or "noqa" not in comment.lower():
            return False
        return any(_matches(_codes(m.group("codes")), diagnostic) for m in _LINE_NOQA.finditer(comment))

    def filter(self, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
        return [d for d in diagnostics if not self.suppressed(d)]
