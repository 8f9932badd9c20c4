"""`tensorlint check --add-noqa`: suppress every current finding with a `# noqa: CODE` on
the line that the suppression is read from (the finding's `noqa_row`).

A comment goes at the end of the physical line, before its line break, merged into an
existing `# noqa: ...` when there is one. A line that ends inside a string that goes on
to the next line, or with a backslash continuation, cannot take a comment: such a finding
is left as it is and reported. The file is written only if it still compiles whenever it
compiled before.
"""

from __future__ import annotations

import io
import re
import sys
import tokenize
from collections import defaultdict
from pathlib import Path

from tensorlint.noqa import _LINE_NOQA, UNUSED_NOQA_CODE, code_run, comments
from tensorlint.source import DecodeError, decode, encode, line_starts

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_NEVER = {UNUSED_NOQA_CODE, "TL000"}  # a broken file, or a directive about directives


def _rows_ending_inside_tokens(text: str) -> set[int] | None:
    """Rows whose end lies inside a token that goes on (a triple-quoted string, an
    f-string's pieces); None when the text cannot be tokenized."""
    rows: set[int] = set()
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.start[0] != token.end[0] and token.type not in (tokenize.NL, tokenize.NEWLINE):
                rows.update(range(token.start[0], token.end[0]))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    return rows


def _compiles(text: str, path: str) -> bool:
    try:
        compile(text, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def add_noqa_to_text(text: str, codes_by_row: dict[int, list[str]]) -> tuple[str, int, dict[int, str]]:
    """The text with `# noqa: CODES` added on each row; how many rows got one; and the
    rows left alone, each with why."""
    blocked = _rows_ending_inside_tokens(text)
    if blocked is None:
        return text, 0, {row: "the file cannot be tokenized" for row in codes_by_row}
    by_row, _ = comments(text)
    starts = line_starts(text)
    skipped: dict[int, str] = {}
    edits: list[tuple[int, int, str]] = []
    for row, codes in sorted(codes_by_row.items()):
        if row < 1 or row > len(starts):
            skipped[row] = "the line is not in the file"
            continue
        begin = starts[row - 1]
        brk = _LINE_BREAK.search(text, begin)
        end = brk.start() if brk else len(text)
        line = text[begin:end]
        if row in blocked:
            skipped[row] = "the line ends inside a string that goes on to the next line"
            continue
        comment = by_row.get(row)
        if comment is None and line.rstrip(" \t\f").endswith("\\"):
            skipped[row] = "the line ends with a backslash continuation"
            continue
        if comment is not None:
            at = line.rfind(comment)
            match = _LINE_NOQA.search(comment)
            if match is not None and at >= 0:
                if not match.group("codes"):
                    continue  # a bare `# noqa` already suppresses everything
                present = {c.lower() for c in re.split(r"[\s,]+", match.group("codes")) if c}
                new = [c for c in codes if c.lower() not in present]
                run = code_run(match)
                if new and run:
                    # after the last code, before an explanation (`# noqa: F401, TL001 - why`)
                    where = begin + at + run[-1][2]
                    edits.append((where, where, ", " + ", ".join(new)))
                elif new:
                    skipped[row] = "its `# noqa:` comment lists no codes tensorlint can extend"
                continue
        stripped = len(line.rstrip(" \t"))
        edits.append((begin + stripped, end, f"  # noqa: {', '.join(codes)}"))
    for start, stop, content in sorted(edits, reverse=True):
        text = text[:start] + content + text[stop:]
    return text, len(edits), skipped


def add_noqa(results, ignored_for) -> int:
    """Add the directives for `results` (a check run's FileResults); `ignored_for(path)`
    gives the codes per-file-ignores drop there. Exit status as ruff: 0, or 2 when a file
    could not be read or written."""
    added = 0
    failed = False
    for result in results:
        if result.internal_error or result.path == "-":
            failed = failed or bool(result.internal_error)
            continue
        ignored = ignored_for(result.path)
        rows: dict[int, set[str]] = defaultdict(set)
        in_cells = 0
        for d in result.diagnostics:
            if d.code in _NEVER or d.code in ignored or d.noqa_row is None:
                continue
            if getattr(d, "cell", None) is not None:
                in_cells += 1  # a notebook cell: its JSON is not edited here
                continue
            rows[d.noqa_row].add(d.code)
        if in_cells:
            print(f"tensorlint: warning: {result.path}: --add-noqa does not edit notebooks; "
                  f"{in_cells} finding{'s' * (in_cells != 1)} stay{'s' * (in_cells == 1)}", file=sys.stderr)
        if not rows:
            continue
        path = Path(result.path)
        try:
            data = path.read_bytes()
            text, encoding = decode(data)
        except (OSError, DecodeError) as exc:
            print(f"tensorlint: error: {result.path}: cannot read: {exc}", file=sys.stderr)
            failed = True
            continue
        new, count, skipped = add_noqa_to_text(text, {row: sorted(codes) for row, codes in rows.items()})
        for row, why in sorted(skipped.items()):
            print(f"tensorlint: warning: {result.path}:{row}: no noqa added ({why}); the finding stays",
                  file=sys.stderr)
        if not count or new == text:
            continue
        if _compiles(text, result.path) and not _compiles(new, result.path):
            print(f"tensorlint: warning: {result.path}: adding noqa comments would break the file; it was left alone",
                  file=sys.stderr)
            continue
        try:
            path.write_bytes(encode(new, encoding))
        except (OSError, UnicodeError) as exc:
            print(f"tensorlint: error: {result.path}: cannot write: {exc}", file=sys.stderr)
            failed = True
            continue
        added += count
    print(f"Added {added} noqa directive{'s' * (added != 1)}.", file=sys.stderr)
    return 2 if failed else 0
