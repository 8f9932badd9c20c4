"""Apply fixes as text edits, re-lint, repeat until stable; never write code that does not parse."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from tensorlint.diagnostics import Diagnostic, applicable  # noqa: F401 - re-exported
from tensorlint.engine import LintSettings, lint_source, location_to_offset, python_rejects
from tensorlint.source import line_starts

MAX_ROUNDS = 10


@dataclass
class FixOutcome:
    text: str
    applied: int  # findings fixed (at most the number reported)
    diagnostics: list[Diagnostic]  # what remains after fixing
    error: str | None = None  # a fix whose output did not parse; that fix was left out
    initial: list[Diagnostic] = field(default_factory=list)  # the findings before any fix


def apply_edits(text: str, diagnostics: list[Diagnostic], unsafe: bool) -> tuple[str, int]:
    """One round: every applicable fix whose edits do not overlap an earlier one."""
    starts = line_starts(text)
    chosen: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []
    count = 0
    for diagnostic in sorted(diagnostics, key=Diagnostic.sort_key):
        if not applicable(diagnostic, unsafe):
            continue
        spans = [
            (location_to_offset(starts, e.location), location_to_offset(starts, e.end_location), e.content)
            for e in diagnostic.fix.edits
        ]
        if any(not (end < s or start > e) for start, end, _ in spans for s, e in taken):
            continue  # overlapping fixes wait for the next round
        chosen += spans
        taken += [(start, end) for start, end, _ in spans]
        count += 1
    for start, end, content in sorted(chosen, reverse=True):
        text = text[:start] + content + text[end:]
    return text, count


def parses(text: str, filename: str) -> str | None:
    """None when both CPython's compile() and libcst accept the text; else the reason."""
    rejected = python_rejects(text, filename)
    if rejected is not None:
        return f"{rejected.message} (line {rejected.location.row})"
    try:
        cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        return f"SyntaxError: {exc.message}"
    except (ValueError, RecursionError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def fix_text(text: str, path: str, settings: LintSettings, unsafe: bool, diagnostics=None, project=None) -> FixOutcome:
    """`project` (a callable giving a fresh ProjectView for a text) lets each round see
    the rest of the project."""
    view = project or (lambda _text: None)
    if diagnostics is None:
        diagnostics = lint_source(text, path, settings, view(text))
    initial = diagnostics
    reported = len(diagnostics)
    applied = 0
    error = None
    for _ in range(MAX_ROUNDS):
        candidate, count = apply_edits(text, diagnostics, unsafe)
        if count == 0:
            break
        problem = parses(candidate, path)
        if problem is not None:
            error = f"a fix produced invalid code ({problem}); that fix was not applied"
            candidate, count = _valid_subset(text, diagnostics, unsafe, path)
            if count == 0:
                break
        text, applied = candidate, applied + count
        diagnostics = lint_source(text, path, settings, view(text))
    # Nested fixes land over several rounds; count findings, not rounds.
    return FixOutcome(text, min(applied, reported), diagnostics, error, initial)


_MAX_TRIALS = 64


def _valid_subset(text: str, diagnostics: list[Diagnostic], unsafe: bool, path: str) -> tuple[str, int]:
    """A round whose fixes together gave invalid code: keep, one by one, each fix that
    leaves the file valid, so one bad fix does not cost the file every other fix."""
    accepted: list[Diagnostic] = []
    candidates = [d for d in sorted(diagnostics, key=Diagnostic.sort_key) if applicable(d, unsafe)]
    for diagnostic in candidates[:_MAX_TRIALS]:
        trial, count = apply_edits(text, accepted + [diagnostic], unsafe)
        if count == len(accepted) + 1 and parses(trial, path) is None:
            accepted.append(diagnostic)
    if not accepted:
        return text, 0
    return apply_edits(text, accepted, unsafe)
