"""Apply fixes as text edits, re-lint, repeat until stable; never write code that does not parse."""

from __future__ import annotations

import ast
from dataclasses import dataclass

import libcst as cst

from tensorlint.diagnostics import Applicability, Diagnostic
from tensorlint.engine import LintSettings, lint_source, location_to_offset
from tensorlint.source import line_starts

MAX_ROUNDS = 10


@dataclass
class FixOutcome:
    text: str
    applied: int  # findings fixed (at most the number reported)
    diagnostics: list[Diagnostic]  # what remains after fixing
    error: str | None = None  # a round whose output did not parse; that round was discarded


def applicable(diagnostic: Diagnostic, unsafe: bool) -> bool:
    fix = diagnostic.fix
    if fix is None or not fix.edits:
        return False
    return fix.applicability is Applicability.SAFE or (unsafe and fix.applicability is Applicability.UNSAFE)


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
    """None when both libcst and CPython accept the text; else the reason."""
    try:
        ast.parse(text, filename=filename)
        cst.parse_module(text)
    except SyntaxError as exc:
        return f"SyntaxError: {exc.msg} (line {exc.lineno})"
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
    reported = len(diagnostics)
    applied = 0
    for _ in range(MAX_ROUNDS):
        candidate, count = apply_edits(text, diagnostics, unsafe)
        if count == 0:
            break
        problem = parses(candidate, path)
        if problem is not None:
            return FixOutcome(text, applied, diagnostics, f"a fix produced invalid code ({problem}); it was not applied")
        text, applied = candidate, applied + count
        diagnostics = lint_source(text, path, settings, view(text))
    # Nested fixes land over several rounds; count findings, not rounds.
    return FixOutcome(text, min(applied, reported), diagnostics)
