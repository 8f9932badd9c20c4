"""A read-only, pre-order walk over a libcst tree.

`CSTNode.visit` rebuilds every node on the way (it is the transformer's machinery), which
costs about as much as parsing. Rules only read, so this walker reads each node's child
fields directly, in the lexical order libcst itself uses, and skips whitespace and
punctuation subtrees that no rule looks at.
"""

from __future__ import annotations

import functools
import inspect
import re

import libcst as cst

# Fields holding only trivia (whitespace, comments, brackets, separators).
_SKIP_FIELDS = frozenset(
    {
        "lpar", "rpar", "leading_lines", "lines_after_decorators", "header", "footer", "trailing_whitespace",
        "comma", "dot", "equal", "lbracket", "rbracket", "lbrace", "rbrace", "semicolon", "colon",
        "newline", "asynchronous", "star_tok",
    }
)
_FIELD_PATTERN = re.compile(r'visit_\w+\(\s*self,\s*"(\w+)"')
_NOT_NODES = frozenset({str, int, bool, type(None), type(cst.MaybeSentinel.DEFAULT)})


@functools.cache
def child_fields(cls: type) -> tuple[str, ...] | None:
    """The child fields of a node class in lexical order, trivia left out; None if unknown."""
    try:
        source = inspect.getsource(cls._visit_and_replace_children)
    except (OSError, TypeError, AttributeError):
        return None
    return tuple(
        name for name in _FIELD_PATTERN.findall(source) if name not in _SKIP_FIELDS and not name.startswith("whitespace")
    )


def children_of(node: cst.CSTNode) -> list[cst.CSTNode]:
    """A node's children in lexical order, trivia left out. `CSTNode.children` rebuilds
    them through a visitor on every access, which costs about as much as a parse when a
    scan uses it for every node."""
    fields = child_fields(node.__class__)
    if fields is None:
        return list(node.children)
    out: list[cst.CSTNode] = []
    for name in fields:
        value = getattr(node, name)
        kind = value.__class__
        if kind is tuple or kind is list:
            out.extend(child for child in value if child.__class__ not in _NOT_NODES)
        elif kind not in _NOT_NODES:
            out.append(value)
    return out


class Walker:
    """Calls `enter(node)` handlers before a node's children and `leave(node)` after."""

    def __init__(self, enter_for, leave_for) -> None:
        self._enter_for = enter_for  # cls -> tuple of callables
        self._leave_for = leave_for
        self._enter: dict[type, tuple] = {}
        self._leave: dict[type, tuple] = {}

    def walk(self, node: cst.CSTNode) -> None:
        cls = node.__class__
        enter = self._enter.get(cls)
        if enter is None:
            enter = self._enter[cls] = self._enter_for(cls)
            self._leave[cls] = self._leave_for(cls)
        for handler in enter:
            handler(node)
        fields = child_fields(cls)
        if fields is None:
            for child in node.children:
                self.walk(child)
        else:
            not_nodes = _NOT_NODES
            for name in fields:
                value = getattr(node, name)
                kind = value.__class__
                if kind is tuple or kind is list:
                    for child in value:
                        if child.__class__ not in not_nodes:
                            self.walk(child)
                elif kind not in not_nodes:
                    self.walk(value)
        for handler in self._leave[cls]:
            handler(node)
