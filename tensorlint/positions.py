"""Line and column of reported nodes, without printing the whole module.

libcst's PositionProvider prints the entire module to count lines: about twice the cost
of parsing it, paid by every file with a finding. Only the top-level statements that
hold a reported node need printing. Where each of them starts comes from CPython's own
parser (`ast`, a tenth of libcst's parse), and every printed statement is compared with
the source at that line: on any disagreement the whole module is printed as before.
"""

from __future__ import annotations

import ast

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState

from tensorlint.source import line_starts
from tensorlint.walk import children_of

class _Computed:
    """What PositionProvidingCodegenState writes into: `_computed[node] = CodeRange`."""

    def __init__(self) -> None:
        self._computed: dict = {}


def node_positions(module: cst.Module, source: str, nodes) -> tuple[dict, bool]:
    """(positions, verified): the CodeRange of every node in the top-level statements that
    hold `nodes` (a superset of them), and whether those statements print back to exactly
    the source text there (fixes are computed against it only then)."""
    found = _statement_positions(module, source, set(nodes))
    if found is not None:
        return found, True
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return positions, module.code == source


def _statement_positions(module: cst.Module, source: str, targets: set) -> dict | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    jobs: list = []
    left = set(targets)
    if not _plan(module.body, tree.body, left, [], module.default_indent, jobs) or left:
        return None  # a target outside every statement (the module, a header comment)
    starts = line_starts(source)
    last = module.body[-1] if module.body else None
    out = _Computed()
    for statement, first, indents in jobs:
        state = PositionProvidingCodegenState(
            default_indent=module.default_indent, default_newline=module.default_newline, provider=out
        )
        state.line = first
        state.indent_tokens = list(indents)
        statement._codegen(state)
        text = "".join(state.tokens)
        offset = starts[first - 1] if 0 < first <= len(starts) else len(source)
        printed = source[offset : offset + len(text)]
        if printed != text and not (
            # the last statement of a file without a final newline prints one
            statement is last and not module.has_trailing_newline and not module.footer
            and printed + module.default_newline == text and offset + len(printed) == len(source)
        ):
            return None
    return out._computed


def _plan(body, ast_body, left: set, indents: list[str], default_indent: str, jobs: list) -> bool:
    """Appends (statement, first line, indentation) for the innermost statements of
    `body` that hold the targets in `left` (removing them); descends into class and
    function bodies, so that a finding in one method prints that method, not its
    class. False when libcst's and CPython's statements do not line up."""
    at = 0
    for statement in body:
        if not left:
            return True
        if at >= len(ast_body):
            return False
        node = ast_body[at]
        at += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        found = _take_found(statement, left)
        if not found:
            continue
        if (
            isinstance(statement, (cst.ClassDef, cst.FunctionDef))
            and isinstance(statement.body, cst.IndentedBlock)
            and isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and statement not in found
        ):
            inner_jobs: list = []
            inner = set(found)
            block = statement.body
            deeper = indents + [block.indent if block.indent is not None else default_indent]
            if _plan(block.body, node.body, inner, deeper, default_indent, inner_jobs) and not inner:
                jobs += inner_jobs
                continue
        line = node.lineno
        leading = len(statement.leading_lines)
        decorators = getattr(statement, "decorators", ())
        if decorators and getattr(node, "decorator_list", None):
            line = node.decorator_list[0].lineno
            leading += len(decorators[0].leading_lines)
        jobs.append((statement, line - leading, indents))
    return True


def _take_found(root: cst.CSTNode, left: set) -> set:
    """The targets under `root`, removed from `left`."""
    found = set()
    stack = [root]
    while stack and left:
        node = stack.pop()
        if node in left:
            left.discard(node)
            found.add(node)
        stack.extend(children_of(node))
    return found
