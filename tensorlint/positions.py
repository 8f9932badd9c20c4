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
from tensorlint.walk import child_fields

_NOT_NODES = (str, int, bool, type(None), type(cst.MaybeSentinel.DEFAULT))


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
    needed = _holding_statements(module, targets)
    if needed is None:
        return None
    starts_at = _first_lines(module, source, needed)
    if starts_at is None:
        return None
    starts = line_starts(source)
    out = _Computed()
    for index in needed:
        statement = module.body[index]
        first = starts_at[index]
        state = PositionProvidingCodegenState(
            default_indent=module.default_indent, default_newline=module.default_newline, provider=out
        )
        state.line = first
        statement._codegen(state)
        text = "".join(state.tokens)
        offset = starts[first - 1] if first - 1 < len(starts) else len(source)
        printed = source[offset : offset + len(text)]
        if printed != text and not (
            # the last statement of a file without a final newline prints one
            index == len(module.body) - 1 and not module.has_trailing_newline and not module.footer
            and printed + module.default_newline == text and offset + len(printed) == len(source)
        ):
            return None
    return out._computed


def _holding_statements(module: cst.Module, targets: set) -> list[int] | None:
    """Indexes of the top-level statements that hold the targets; None if some target
    is not inside any statement (the module itself, a header comment)."""
    left = set(targets)
    needed = []
    for index, statement in enumerate(module.body):
        if not left:
            break
        if _take_found(statement, left):
            needed.append(index)
    return None if left else needed


def _take_found(root: cst.CSTNode, left: set) -> bool:
    """Removes from `left` the targets under `root`; whether there were any."""
    hit = False
    stack = [root]
    while stack:
        node = stack.pop()
        if node in left:
            left.discard(node)
            hit = True
            if not left:
                return True
        fields = child_fields(type(node))
        if fields is None:
            stack.extend(node.children)
            continue
        for name in fields:
            value = getattr(node, name)
            if isinstance(value, (tuple, list)):
                stack.extend(child for child in value if not isinstance(child, _NOT_NODES))
            elif not isinstance(value, _NOT_NODES):
                stack.append(value)
    return hit


def _first_lines(module: cst.Module, source: str, needed: list[int]) -> dict[int, int] | None:
    """The line where each needed statement's printed text begins (its leading blank and
    comment lines included), from the line CPython gives its first token."""
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    wanted = set(needed)
    out: dict[int, int] = {}
    at = 0  # next ast statement
    for index, statement in enumerate(module.body):
        if at >= len(body):
            return None
        if index in wanted:
            first = body[at]
            line = first.lineno
            leading = len(statement.leading_lines)
            decorators = getattr(statement, "decorators", ())
            if decorators:
                line = first.decorator_list[0].lineno
                leading += len(decorators[0].leading_lines)
            out[index] = line - leading
        at += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        if index >= needed[-1]:
            return out
    return None
