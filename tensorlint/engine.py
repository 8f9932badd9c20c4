"""Lint one file's text: one parse, one traversal for all rules, positions only on demand."""

from __future__ import annotations

import bisect
import re
import sys
import threading
import warnings
from collections import defaultdict
from dataclasses import dataclass

import libcst as cst
from libcst.metadata.position_provider import PositionProvidingCodegenState

from tensorlint.diagnostics import (  # noqa: F401 - syntax_error and the codes are re-exported
    SYNTAX_ERROR_CODE,
    SYNTAX_ERROR_NAME,
    Diagnostic,
    Edit,
    Fix,
    Location,
    Severity,
    syntax_error,
)
from tensorlint.gc_pause import collection_paused
from tensorlint.noqa import Suppressions, apply_noqa
from tensorlint.positions import node_positions
from tensorlint.rules import all_rules
from tensorlint.rules.base import Rule
from tensorlint.semantics.context import FileContext
from tensorlint.semantics.project import ProjectIndex, ProjectView
from tensorlint.settings import LintSettings  # noqa: F401 - re-exported
from tensorlint.source import line_starts
from tensorlint.walk import Walker

# Generated code nests deeply (`a + a + ... + a`, long method chains); the walk and the
# inference recurse once per level. Python 3.11 runs Python-to-Python calls without C
# stack, so a higher limit is safe.
_RECURSION_LIMIT = 20_000
# CPython's compiler recurses in C under the Python recursion limit (times a factor):
# it is asked under the interpreter's default limit, which is both what `python file.py`
# allows and safe for the C stack (under 20,000 a long `a + a + ...` overflows it).
_PYTHON_DEFAULT_RECURSION_LIMIT = min(sys.getrecursionlimit(), 1000)  # CPython's default
if sys.getrecursionlimit() < _RECURSION_LIMIT:
    sys.setrecursionlimit(_RECURSION_LIMIT)
# Files that never mention torch hold no tensor code; they are not even parsed.
_TORCH_MENTION = "torch"


class _Dispatch:
    """Per node class, the handlers to call: semantic trackers first on the way in and
    last on the way out, so rules always see the state of the node they look at.
    A tracker may list the node classes it cares about in `node_types`."""

    def __init__(self, ctx: FileContext, rules: list[Rule]) -> None:
        self._trackers = ctx.trackers
        self._visit: dict[str, list] = defaultdict(list)
        self._leave: dict[str, list] = defaultdict(list)
        for rule in rules:
            for attr in dir(type(rule)):
                if attr.startswith("visit_"):
                    self._visit[attr[6:]].append(getattr(rule, attr))
                elif attr.startswith("leave_"):
                    self._leave[attr[6:]].append(getattr(rule, attr))

    def _interested(self, tracker, cls: type) -> bool:
        types = getattr(tracker, "node_types", None)
        return types is None or cls in types

    def enter_for(self, cls: type) -> tuple:
        trackers = [t.enter for t in self._trackers if self._interested(t, cls)]
        return tuple(trackers + self._visit.get(cls.__name__, []))

    def leave_for(self, cls: type) -> tuple:
        trackers = [t.leave for t in reversed(self._trackers) if self._interested(t, cls)]
        return tuple(self._leave.get(cls.__name__, []) + trackers)


def python_rejects(source: str, path: str = "<file>") -> Diagnostic | None:
    """What the running Python's own compiler says: None when it compiles the file, else
    a TL000 finding. This is the truth about validity (libcst accepts some code CPython
    rejects: a NUL byte, over 200 nested brackets), and its limits keep pathological
    nesting away from libcst's native parser, which can crash on it."""
    limit = sys.getrecursionlimit()
    try:
        try:
            sys.setrecursionlimit(_PYTHON_DEFAULT_RECURSION_LIMIT)
        except RecursionError:
            pass  # already deeper than that: keep the current limit
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning/DeprecationWarning are not ours to print
            compile(source, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        return syntax_error(f"SyntaxError: {exc.msg}", max(exc.lineno or 1, 1), max(exc.offset or 1, 1))
    except ValueError as exc:  # a NUL byte (Python 3.11)
        return syntax_error(f"SyntaxError: {exc}")
    except (RecursionError, MemoryError) as exc:
        detail = str(exc) or type(exc).__name__
        return syntax_error(f"file too complex: Python cannot compile it ({detail}); it was not checked")
    finally:
        sys.setrecursionlimit(limit)
    return None


# libcst checks every node's invariants as it is built (`CSTNode.__post_init__`), a
# fifth of its parse time; a tree parsed from text CPython has just compiled meets them
# by construction (libcst's own comment there suggests skipping it for parsing). Nodes
# that rules build for fixes are still checked: the check is off only during a parse.
_UNCHECKED = threading.Lock()
_parsing = 0
_checked_post_init = cst.CSTNode.__post_init__


def _unchecked_post_init(self) -> None:
    pass


def _parse_unchecked(source: str) -> cst.Module:
    global _parsing
    with _UNCHECKED:
        _parsing += 1
        cst.CSTNode.__post_init__ = _unchecked_post_init
    try:
        return cst.parse_module(source)
    finally:
        with _UNCHECKED:
            _parsing -= 1
            if not _parsing:
                cst.CSTNode.__post_init__ = _checked_post_init


def parse(source: str, path: str = "<file>") -> cst.Module | Diagnostic:
    rejected = python_rejects(source, path)
    if rejected is not None:
        return rejected
    try:
        return _parse_unchecked(source)
    except cst.ParserSyntaxError as exc:
        first = str(exc.message).strip().splitlines()[0] if exc.message else "invalid syntax"
        return syntax_error(f"SyntaxError: {first}", max(exc.raw_line, 1), exc.raw_column + 1)
    except (RecursionError, ValueError, MemoryError) as exc:  # libcst's native parser limits
        return syntax_error(f"file could not be parsed: {type(exc).__name__}: {exc}")


def lint_source(source: str, path: str, settings: LintSettings, project: ProjectView | None = None) -> list[Diagnostic]:
    """All findings for one file, after noqa; not yet filtered by per-file-ignores.
    `project` is the project index seen from this file; without one, only the file's
    own folder is consulted (a snippet has no project)."""
    with collection_paused():
        return _lint_source(source, path, settings, project)


def _lint_source(source: str, path: str, settings: LintSettings, project: ProjectView | None) -> list[Diagnostic]:
    if _TORCH_MENTION not in source:
        return []
    rules = [r for r in all_rules() if r.code in settings.enabled]
    if not rules:
        return []
    parsed = parse(source, path)
    if isinstance(parsed, Diagnostic):
        if SYNTAX_ERROR_CODE not in settings.enabled:
            return []
        return Suppressions(source).filter([parsed])
    module = parsed
    if project is None:
        project = ProjectView(ProjectIndex(None, extend_module_bases=settings.extend_module_bases), path, source)
    ctx = FileContext(path, module, settings.extend_module_bases, settings.target_torch_version, project)
    sink: list = []
    instances = [rule(ctx, settings.options_for(rule), sink) for rule in rules]
    dispatch = _Dispatch(ctx, instances)
    try:
        Walker(dispatch.enter_for, dispatch.leave_for).walk(module)
    except RecursionError:
        if SYNTAX_ERROR_CODE not in settings.enabled:
            return []
        return [syntax_error("file is nested too deeply to analyse (RecursionError); it was not checked")]
    if not sink:
        return apply_noqa(source, [], settings.enabled) if "noqa" in source else []
    return apply_noqa(source, _materialise(module, source, sink), settings.enabled)


def _materialise(module: cst.Module, source: str, sink: list) -> list[Diagnostic]:
    """Turn reports into diagnostics: positions, and fixes as text edits."""
    nodes = [report.node for _, report in sink]
    nodes += [old for _, report in sink if report.fix is not None for old, _ in report.fix.replacements]
    positions, printed_back = node_positions(module, source, nodes)
    # Edits are computed against positions, which are only right if the tree prints
    # back to the exact source there (libcst can drop trailing blank lines).
    fixes_trusted = printed_back and any(report.fix is not None for _, report in sink)
    starts = line_starts(source) if fixes_trusted else []
    fstrings = _fstring_spans(positions, starts) if fixes_trusted and "f" in source else []
    diagnostics = []
    for rule, report in sink:
        where = positions[report.node]
        fix = None
        if report.fix is not None and fixes_trusted:
            edit = _edit_for(module, source, report.fix.replacements, positions, starts)
            if edit is not None and _inside_any(edit, fstrings, starts):
                edit = None  # never edit inside an f-string: quotes and backslashes would need care
            if edit is not None:
                fix = Fix(report.fix.applicability, report.fix.message, (edit,))
        diagnostics.append(
            Diagnostic(
                code=rule.code,
                name=rule.name,
                message=report.message,
                severity=rule.severity,
                location=Location(where.start.line, where.start.column + 1),
                end_location=Location(where.end.line, where.end.column + 1),
                fix=fix,
                noqa_row=where.start.line,
            )
        )
    diagnostics.sort(key=Diagnostic.sort_key)
    return diagnostics


def _edit_for(module: cst.Module, source: str, replacements, positions, starts: list[int]) -> Edit | None:
    """The edit that replaces the reported nodes: each new node is printed on its own, in
    the indentation of the old node's line (multi-line replacements come out right), and
    spliced into the original text. The cost is the size of the nodes, not of the file.
    The edit spans the whole replaced node(s): nested fixes then overlap and wait for the
    next round instead of interleaving."""
    spans = []
    for old, new in replacements:
        where = positions[old]
        start = location_to_offset(starts, Location(where.start.line, where.start.column + 1))
        end = location_to_offset(starts, Location(where.end.line, where.end.column + 1))
        # the old node, printed the same way, must give back the original text exactly:
        # then the new one is printed in the right context
        indent = _context_indent(module, old, source[start:end], source, starts, where.start.line)
        if indent is None:
            return _edit_by_reprinting(module, source, replacements, positions, starts)
        spans.append((start, end, _print_syntactic(module, new, indent)))
    spans.sort()
    if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
        return _edit_by_reprinting(module, source, replacements, positions, starts)
    start, end = spans[0][0], spans[-1][1]
    pieces, at = [], start
    for s_start, s_end, text in spans:
        pieces += [source[at:s_start], text]
        at = s_end
    content = "".join(pieces)
    if content == source[start:end]:
        return None
    return Edit(content, offset_to_location(starts, start), offset_to_location(starts, end))


_INDENT_LOOKBACK = 200  # lines searched above a node for its block's indentation


def _context_indent(module: cst.Module, old: cst.CSTNode, text: str, source: str, starts: list[int], line: int):
    """The block indentation with which `old` prints back to `text`, its own source;
    None if there is none. Usually that is the indentation of the node's first line,
    but a node that starts on a continuation line of a longer statement (an element of
    a multi-line list) is printed by libcst relative to the statement's block: then it is
    the indentation of a line above (nearest first). Trying a few is far cheaper than
    reprinting the module."""
    own = _INDENT.match(source, starts[line - 1]).group()
    if _print_syntactic(module, old, own) == text:
        return own
    tried = {own}
    for above in range(line - 1, max(0, line - 1 - _INDENT_LOOKBACK), -1):
        candidate = _INDENT.match(source, starts[above - 1]).group()
        if candidate in tried or not own.startswith(candidate):
            continue
        following = source[starts[above - 1] + len(candidate) : starts[above - 1] + len(candidate) + 1]
        if following in ("", "\n", "\r", "#"):
            continue  # a blank or comment line says nothing about blocks
        tried.add(candidate)
        if _print_syntactic(module, old, candidate) == text:
            return candidate
        if not candidate:
            break
    return None


def _fstring_spans(positions, starts: list[int]) -> list[tuple[int, int]]:
    spans = []
    for node, where in positions.items():
        if isinstance(node, cst.FormattedString):
            spans.append((
                location_to_offset(starts, Location(where.start.line, where.start.column + 1)),
                location_to_offset(starts, Location(where.end.line, where.end.column + 1)),
            ))
    return spans


def _inside_any(edit: Edit, spans: list[tuple[int, int]], starts: list[int]) -> bool:
    start, end = location_to_offset(starts, edit.location), location_to_offset(starts, edit.end_location)
    return any(s < start and end < e for s, e in spans)


_INDENT = re.compile(r"[ \t\f]*")


class _Spans:
    def __init__(self) -> None:
        self._computed: dict = {}


def _print_syntactic(module: cst.Module, node: cst.CSTNode, indent: str) -> str:
    """`node` printed as PositionProvider counts it (without the whitespace it owns
    around it), with `indent` as the indentation of the enclosing block."""
    spans = _Spans()
    state = PositionProvidingCodegenState(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        provider=spans,
        indent_tokens=[indent] if indent else [],
    )
    node._codegen(state)
    text = "".join(state.tokens)
    where = spans._computed[node]
    starts = line_starts(text)
    return text[starts[where.start.line - 1] + where.start.column : starts[where.end.line - 1] + where.end.column]


def _edit_by_reprinting(module: cst.Module, source: str, replacements, positions, starts: list[int]) -> Edit | None:
    """The fallback (whole-module replace and print, linear per fix) for the rare node
    that does not print back to its own text on its own."""
    tree = module
    for old, new in replacements:
        tree = tree.deep_replace(old, new)
    fixed = tree.code
    if fixed == source:
        return None
    spans = [positions[old] for old, _ in replacements]
    start = min(location_to_offset(starts, Location(p.start.line, p.start.column + 1)) for p in spans)
    end = max(location_to_offset(starts, Location(p.end.line, p.end.column + 1)) for p in spans)
    new_end = end + len(fixed) - len(source)
    if fixed[:start] != source[:start] or fixed[new_end:] != source[end:]:
        return None  # the change leaked outside the nodes: do not trust it
    return Edit(fixed[start:new_end], offset_to_location(starts, start), offset_to_location(starts, end))


def offset_to_location(starts: list[int], offset: int) -> Location:
    row = bisect.bisect_right(starts, offset)
    return Location(row, offset - starts[row - 1] + 1)


def location_to_offset(starts: list[int], location: Location) -> int:
    return starts[location.row - 1] + location.column - 1
