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
    def __init__(self, source: str, parsed: tuple[dict[int, str], set[int]] | None = None) -> None:
        self._comments, own_line = parsed or comments(source)
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


# --- unused and unknown suppressions (TL900), and adding suppressions (--add-noqa) ---

UNUSED_NOQA_CODE = "TL900"
UNUSED_NOQA_NAME = "unused-noqa"
_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")
# our codes are TL + three digits; a token that starts with TL and holds a digit is meant
# as one of ours (`TL00l`, `TL1O1`, `TL9999`); any other token (`E501`, `F401`, prose) belongs
# to another tool and is never judged
# a `noqa:` line that TL900 could judge (`noqa`, `NOQA` or `Noqa`): a code starting with TL and holding a digit, or a
# rule-name-like word; other files (`# noqa: F401`, a bare `# noqa`) are not even tokenized
_CANDIDATE_REST = re.compile(r"(?i)[ \t]*:[^\n]*?(?:\btl[0-9a-z]*[0-9]|[a-z0-9]-[a-z])")


def _candidate(source: str) -> bool:
    for word in ("noqa", "NOQA", "Noqa"):  # str.find: far faster than a case-insensitive regex scan
        at = source.find(word)
        while at >= 0:
            if _CANDIDATE_REST.match(source, at + 4):
                return True
            at = source.find(word, at + 4)
    return False
_CODE_LIKE = re.compile(r"^(?:[A-Za-z]{1,6}[0-9][A-Za-z0-9]*|[a-z][a-z0-9]*(?:-[a-z0-9]+)+)$")
_OURS = re.compile(r"^tl(?=[0-9a-z]*[0-9])[0-9a-z]{1,6}$", re.IGNORECASE)


def _known():
    from tensorlint.catalog import all_rules

    rules = all_rules()
    return {r.code.lower(): r for r in rules} | {r.name: r for r in rules}


def _line_directives(source: str, by_row: dict[int, str]):
    """Per row with a `# noqa: ...` comment: (row, comment column, match, codes with
    their columns in the line). Blanket `# noqa` (no codes) is never judged: it may be
    meant for any tool."""
    lines = split_lines(source)
    for row, comment in by_row.items():
        if "noqa" not in comment.lower():
            continue
        line = lines[row - 1] if row <= len(lines) else ""
        at = line.rfind(comment)
        if at < 0:
            continue
        if _FILE_NOQA.match(comment.strip()):
            match = _FILE_NOQA.match(comment.strip())
            offset = at + (len(comment) - len(comment.lstrip()))
        else:
            match = _LINE_NOQA.search(comment)
            offset = at
        if match is None or not match.group("codes"):
            continue
        codes = [(text, offset + a, offset + b) for text, a, b in code_run(match)]
        if codes:
            yield row, at, offset + match.start(), codes[-1][2], codes


def code_run(match) -> list[tuple[str, int, int]]:
    """The codes of a `# noqa: ...` match, with their spans in the matched text: the run
    of code-like words, which ends where an explanation starts (`# noqa: F401 - why`)."""
    start = match.start("codes")
    codes = []
    for m in _TOKEN.finditer(match.group("codes") or ""):
        if not _CODE_LIKE.match(m.group()):
            break
        codes.append((m.group(), start + m.start(), start + m.end()))
    return codes


def unused_noqa(source: str, diagnostics: list[Diagnostic], enabled: frozenset[str],
                by_row: dict[int, str] | None = None) -> list[Diagnostic]:
    """TL900 findings for `source`, whose findings before noqa are `diagnostics`.

    A code is *unknown* when it is meant as ours (`TL…` with a digit, or a misspelt rule
    name) but names no rule; it is *unused* when its rule is enabled and nothing on that
    line (or, for a file-wide `# tensorlint: noqa: …`, nothing in the file) was suppressed
    by it. Codes of rules that are not enabled are left alone, as ruff does not call them
    unused: another run (`--extend-select`) may need them. A directive that lists TL900
    itself is never judged."""
    from tensorlint.diagnostics import Applicability, Fix, Location, Severity
    from tensorlint.selection import closest_rule

    known = _known()
    lines = split_lines(source)
    out = []
    if by_row is None:
        by_row, _ = comments(source)
    for row, comment_at, start, end, codes in _line_directives(source, by_row):
        line = lines[row - 1]
        file_wide = bool(_FILE_NOQA.match(line[comment_at:].strip())) and not line[:comment_at].strip()
        lowered = [c.lower() for c, _, _ in codes]
        if UNUSED_NOQA_CODE.lower() in lowered or UNUSED_NOQA_NAME in lowered:
            continue
        here = [d for d in diagnostics if file_wide or d.noqa_row == row]
        unknown, unused = [], []
        for text, a, b in codes:
            rule = known.get(text.lower())
            if rule is not None:
                if rule.code in enabled and not file_wide and not any(d.code == rule.code for d in here):
                    unused.append((text, a, b))
                continue
            if _OURS.match(text) or ("-" in text.strip("-") and closest_rule(text) is not None):
                unknown.append((text, a, b))
        if not unknown and not unused:
            continue
        parts = []
        if unused:
            parts.append("unused: " + ", ".join(f"`{t}`" for t, _, _ in unused))
        if unknown:
            hints = []
            for t, _, _ in unknown:
                near = closest_rule(t)
                hints.append(f"`{t}`" + (f" (did you mean `{near.code if not '-' in t else near.name}`?)" if near else ""))
            parts.append("unknown: " + ", ".join(hints))
        message = f"Unused `noqa` directive ({'; '.join(parts)})"
        drop = {(a, b) for _, a, b in unknown + unused}
        edit = _removal(line, row, comment_at, start, end, codes, drop, len(lines))
        fix = None
        if edit is not None:
            what = f"Remove {'them' if len(drop) > 1 else 'it'}" if edit.content else "Remove the `noqa` directive"
            fix = Fix(Applicability.SAFE, what, (edit,))
        out.append(
            Diagnostic(
                code=UNUSED_NOQA_CODE, name=UNUSED_NOQA_NAME, message=message, severity=Severity.WARNING,
                location=Location(row, start + 1), end_location=Location(row, end + 1), fix=fix, noqa_row=row,
            )
        )
    return out


def _removal(line: str, row: int, comment_at: int, start: int, end: int, codes, drop, n_lines: int):
    """The edit that removes the dropped codes, or the whole directive when none is left.
    None when the comment goes on past the directive in a way that removal would garble."""
    from tensorlint.diagnostics import Edit, Location

    kept = [text for text, a, b in codes if (a, b) not in drop]
    codes_start, codes_end = codes[0][1], codes[-1][2]
    if kept:
        return Edit(", ".join(kept), Location(row, codes_start + 1), Location(row, codes_end + 1))
    rest = line[end:]
    if rest.strip():
        return None  # `# noqa: TL001 (why)`: the reason would be left dangling
    if not line[:comment_at].strip() and start == comment_at:
        # a comment line of its own: the line goes
        if row < n_lines:
            return Edit("", Location(row, 1), Location(row + 1, 1))
        return Edit("", Location(row, 1), Location(row, len(line) + 1))
    cut = len(line[:start].rstrip())
    return Edit("", Location(row, cut + 1), Location(row, len(line) + 1))


def apply_noqa(source: str, diagnostics: list[Diagnostic], enabled: frozenset[str]) -> list[Diagnostic]:
    """`diagnostics` less those `# noqa` suppresses; with TL900 enabled, plus its findings
    (which only a file-wide directive or a directive naming TL900 can suppress)."""
    if UNUSED_NOQA_CODE not in enabled or not _candidate(source):
        return Suppressions(source).filter(diagnostics) if diagnostics else []
    parsed = comments(source)  # tokenizing is the cost: once for both
    suppressions = Suppressions(source, parsed)
    kept = suppressions.filter(diagnostics)
    unused = [d for d in unused_noqa(source, diagnostics, enabled, parsed[0]) if not any(
        _matches(codes, d) for codes in suppressions._file)]
    return sorted(kept + unused, key=Diagnostic.sort_key)
