"""Which runtime guards enclose the node being visited, recorded during the single traversal.

A guard is a condition known to hold (or an exception known to have been raised) where
the guarded code runs:
- the body of `if test:` / `while test:` (the test is true) and its `else:` / `elif`
  branches (every earlier test is false);
- the rest of a block after `if test: return` (or `raise`/`continue`/`break`) with no
  `else`: the test is false there;
- the body of a `try:` and each of its `except` handlers (with the exception types);
- the branches of a conditional expression `a if test else b`: those are not tracked
  during the traversal (their branches can be any expression), they are found when a
  rule asks about a particular node (`guards_of(node)`).

Rules ask what the guards say:
- `training_guard()`: does some enclosing condition test a module's mode
  (`self.training`, `module.training`, `not self.training`, `self.training or ...`)? The
  code is then mode-aware: the author decided what happens in each mode;
- `compat_fallback()`: is this an old-version fallback: an `except` handler catching the
  errors a missing or changed API raises (`AttributeError`, `ImportError`, `TypeError`,
  ...), or a branch of a version or feature check (`hasattr(torch, ...)`,
  `torch.__version__`, `TORCH_VERSION >= ...`)?

The tracker also keeps the statement being visited and its enclosing compound
statements, function and class, which `semantics/intent.py` reads comments and names
from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from tensorlint.walk import children_of

# What a guard is made of.
IF = "if"  # body of `if test:` (holds=True) or its else/elif branch (holds=False)
WHILE = "while"
AFTER_EXIT = "after-exit"  # rest of the block after `if test: return` (holds=False)
TRY = "try"  # body of a `try:`
EXCEPT = "except"  # an `except` handler; `test` is its exception type (None for bare)
TERNARY = "ternary"  # a branch of `a if test else b`
DEF = "def"  # a function or class boundary (not a condition)

# Exceptions that a missing, renamed or re-signed API raises: an `except` for them
# around a call is the "new API, else the old one" idiom.
FALLBACK_EXCEPTIONS = frozenset(
    {
        "AttributeError", "ImportError", "ModuleNotFoundError", "TypeError", "NameError", "RuntimeError",
        "NotImplementedError", "Exception", "BaseException",
    }
)
# Text of a condition that checks the torch version or whether an API exists:
# `hasattr(torch, ...)` (or `nn`, `F`), `torch.__version__`, an identifier naming both
# torch and a version (`TORCH_VERSION`, `is_torch_version`, `pytorch_version`), or a
# torch version flag (`TORCH_GE_2_4`, `_TORCH_GREATER_EQUAL_2_0`, `IS_TORCH_2`). Other
# versions (`state_dict["version"]`, a checkpoint's format) do not count.
_COMPAT_TEST = re.compile(
    r"\bhasattr\s*\(\s*(?:torch|nn|F|th|functional|amp)\b"
    r"|\btorch\.__version__|\b\w*torch\w*version|\b\w*version\w*torch"
    r"|\b\w*torch_?(?:ge|gt|le|lt|greater|less|newer|older|before|after|at_least)?_?\d"
    r"|\b\w*torch\w*_(?:ge|gt|le|lt|greater|less|newer|older|before|after|at_least)(?:_|\b)",
    re.IGNORECASE,
)
_EXITS = (cst.Return, cst.Raise, cst.Continue, cst.Break)


@dataclass(frozen=True, eq=False)
class Guard:
    kind: str
    test: cst.BaseExpression | None
    holds: bool  # the truth value of `test` where the guarded code runs
    node: cst.CSTNode  # the If/While/Try/ExceptHandler/IfExp/FunctionDef/ClassDef
    owner: cst.CSTNode | None = None  # for an `except` handler: its `try` statement


def mentions_training(expr: cst.BaseExpression | None) -> bool:
    """`expr` reads a mode flag: `<anything>.training`, or a plain name `training` /
    `is_training` (a mode passed in as an argument)."""
    if expr is None:
        return False
    if isinstance(expr, cst.Attribute):
        if expr.attr.value == "training":
            return True
        return mentions_training(expr.value)
    if isinstance(expr, cst.Name):
        return expr.value in ("training", "is_training")
    if isinstance(expr, cst.UnaryOperation):
        return mentions_training(expr.expression)
    if isinstance(expr, cst.BooleanOperation):
        return mentions_training(expr.left) or mentions_training(expr.right)
    if isinstance(expr, cst.Comparison):
        return mentions_training(expr.left) or any(mentions_training(c.comparator) for c in expr.comparisons)
    if isinstance(expr, cst.Call):
        return mentions_training(expr.func) or any(mentions_training(a.value) for a in expr.args)
    return False


def implied_training(test: cst.BaseExpression, holds: bool) -> bool | None:
    """What `test` having the value `holds` says about `<x>.training`: True (training
    mode), False (eval mode) or None (nothing certain)."""
    if isinstance(test, cst.Attribute) and test.attr.value == "training":
        return holds
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return implied_training(test.expression, not holds)
    if isinstance(test, cst.BooleanOperation):
        both = isinstance(test.operator, cst.And) if holds else isinstance(test.operator, cst.Or)
        if both:  # `a and b` true, or `a or b` false: each side has that value
            left = implied_training(test.left, holds)
            return left if left is not None else implied_training(test.right, holds)
    return None


def is_compat_test(test: cst.BaseExpression | None) -> bool:
    """A version or feature check: `hasattr(torch, "amp")`, `torch.__version__ >= "2"`,
    `TORCH_VERSION < (1, 9)`, `is_torch_version(">=", "2.0")`, `TORCH_GE_2_4`."""
    if test is None:
        return False
    return bool(_COMPAT_TEST.search(cst.Module(body=[]).code_for_node(test)))


def handler_catches_fallback(handler: cst.ExceptHandler | cst.ExceptStarHandler) -> bool:
    """A bare `except:`, or one whose types include an error a missing API raises."""
    kind = handler.type
    if kind is None:
        return True
    names = kind.elements if isinstance(kind, cst.Tuple) else [kind]
    for element in names:
        value = element.value if isinstance(element, cst.Element) else element
        last = value.attr.value if isinstance(value, cst.Attribute) else getattr(value, "value", None)
        if last in FALLBACK_EXCEPTIONS:
            return True
    return False


def _contains(root: cst.CSTNode, target: cst.CSTNode, budget: list[int]) -> bool:
    if root is target:
        return True
    budget[0] -= 1
    if budget[0] < 0:
        return False
    return any(_contains(child, target, budget) for child in children_of(root))


def _exits(body: cst.BaseSuite) -> bool:
    """The block always leaves: its last statement is return/raise/continue/break."""
    if isinstance(body, cst.SimpleStatementSuite):
        return bool(body.body) and isinstance(body.body[-1], _EXITS)
    if not body.body:
        return False
    last = body.body[-1]
    return isinstance(last, cst.SimpleStatementLine) and bool(last.body) and isinstance(last.body[-1], _EXITS)


class GuardTracker:
    # The only node classes enter/leave act on.
    node_types = frozenset(
        {
            cst.If, cst.Else, cst.While, cst.Try, cst.TryStar, cst.ExceptHandler, cst.ExceptStarHandler,
            cst.IndentedBlock, cst.SimpleStatementSuite, cst.FunctionDef, cst.ClassDef, cst.IfExp,
            cst.SimpleStatementLine, cst.For, cst.With, cst.Match, cst.Module,
        }
    )

    def __init__(self) -> None:
        self.stack: list[Guard] = []
        self.statement: cst.SimpleStatementLine | None = None
        self.compounds: list[cst.BaseCompoundStatement] = []  # enclosing compound statements, innermost last
        self.blocks: list[cst.CSTNode] = []  # enclosing Module/IndentedBlock nodes, innermost last
        self._pending: dict[cst.CSTNode, Guard] = {}  # block or branch -> the guard it starts
        self._marks: dict[cst.CSTNode, int] = {}  # node -> stack depth to restore on leave
        self._ternaries: list[cst.IfExp] = []
        self._elifs: set[cst.If] = set()

    # -- queries -------------------------------------------------------------------
    def guards(self, node: cst.CSTNode | None = None, cross_functions: bool = False) -> list[Guard]:
        """The guards around the point being visited, innermost last; with `node`, also the
        branches of enclosing conditional expressions that contain it. Without
        `cross_functions`, only those inside the innermost function or class."""
        found: list[Guard] = []
        for guard in reversed(self.stack):
            if guard.kind == DEF:
                if not cross_functions:
                    break
                continue
            found.append(guard)
        found.reverse()
        if node is not None:
            for ternary in self._ternaries:
                budget = [2000]
                if _contains(ternary.body, node, budget):
                    found.append(Guard(TERNARY, ternary.test, True, ternary))
                elif _contains(ternary.orelse, node, budget):
                    found.append(Guard(TERNARY, ternary.test, False, ternary))
        return found

    def training_guard(self, node: cst.CSTNode | None = None) -> Guard | None:
        """The innermost enclosing condition (in this function) that tests a mode flag."""
        for guard in reversed(self.guards(node)):
            if guard.kind in (IF, WHILE, AFTER_EXIT, TERNARY) and mentions_training(guard.test):
                return guard
        return None

    def implied_training(self, node: cst.CSTNode | None = None) -> bool | None:
        """True when the guards prove `self.training` (or another module's) is on here,
        False when they prove it is off, None when they say nothing certain."""
        for guard in reversed(self.guards(node)):
            if guard.test is not None and guard.kind != EXCEPT:
                implied = implied_training(guard.test, guard.holds)
                if implied is not None:
                    return implied
        return None

    def except_handlers(self) -> list[tuple[cst.CSTNode, cst.ExceptHandler | cst.ExceptStarHandler]]:
        """(try statement, handler) for every `except` handler around this point,
        enclosing functions included, innermost last."""
        return [(g.owner, g.node) for g in self.stack if g.kind == EXCEPT]  # type: ignore[misc]

    def compat_fallback(self, node: cst.CSTNode | None = None) -> Guard | None:
        """The innermost guard that makes this point old-version compatibility code: an
        `except` handler for the errors a missing API raises, or either branch of a
        version or feature check (enclosing functions included)."""
        for guard in reversed(self.guards(node, cross_functions=True)):
            if guard.kind == EXCEPT and handler_catches_fallback(guard.node):  # type: ignore[arg-type]
                return guard
            if guard.kind in (IF, WHILE, AFTER_EXIT, TERNARY) and is_compat_test(guard.test):
                return guard
        return None

    def next_statement(self) -> cst.BaseStatement | None:
        """The statement after the one being visited, in the same block."""
        statement = self.statement
        if statement is None or not self.blocks:
            return None
        body = self.blocks[-1].body  # type: ignore[attr-defined]
        for index, candidate in enumerate(body):
            if candidate is statement:
                return body[index + 1] if index + 1 < len(body) else None
        return None

    def enclosing_definitions(self) -> list[cst.FunctionDef | cst.ClassDef]:
        """Functions and classes around this point, innermost last."""
        return [c for c in self.compounds if isinstance(c, (cst.FunctionDef, cst.ClassDef))]

    # -- traversal -------------------------------------------------------------------
    def _push(self, node: cst.CSTNode, guard: Guard) -> None:
        self._marks.setdefault(node, len(self.stack))
        self.stack.append(guard)

    def enter(self, node: cst.CSTNode) -> None:
        pending = self._pending.pop(node, None) if self._pending else None
        if pending is not None:
            self._push(node, pending)
        cls = type(node)
        if cls is cst.SimpleStatementLine:
            self.statement = node  # type: ignore[assignment]
            return
        if cls is cst.IndentedBlock or cls is cst.SimpleStatementSuite:
            self._marks.setdefault(node, len(self.stack))  # after-exit guards end with the block
            if cls is cst.IndentedBlock:
                self.blocks.append(node)
            return
        if cls is cst.Module:
            self.blocks.append(node)
            return
        if cls is cst.IfExp:
            self._ternaries.append(node)  # type: ignore[arg-type]
            return
        if cls is cst.Else:
            return
        self.compounds.append(node)  # type: ignore[arg-type]
        if cls is cst.If:
            self._pending[node.body] = Guard(IF, node.test, True, node)  # type: ignore[attr-defined]
            orelse = node.orelse  # type: ignore[attr-defined]
            if orelse is not None:
                self._pending[orelse] = Guard(IF, node.test, False, node)  # type: ignore[attr-defined]
                if isinstance(orelse, cst.If):
                    self._elifs.add(orelse)
        elif cls is cst.While:
            self._pending[node.body] = Guard(WHILE, node.test, True, node)  # type: ignore[attr-defined]
        elif cls is cst.Try or cls is cst.TryStar:
            self._pending[node.body] = Guard(TRY, None, True, node)  # type: ignore[attr-defined]
            for handler in node.handlers:  # type: ignore[attr-defined]
                self._pending[handler] = Guard(EXCEPT, handler.type, True, handler, owner=node)
        elif cls is cst.FunctionDef or cls is cst.ClassDef:
            self._push(node, Guard(DEF, None, True, node))

    def leave(self, node: cst.CSTNode) -> None:
        cls = type(node)
        if cls is cst.SimpleStatementLine:
            self.statement = None
        elif cls is cst.IfExp:
            if self._ternaries and self._ternaries[-1] is node:
                self._ternaries.pop()
            return
        elif cls is cst.Module:
            return
        elif cls is cst.IndentedBlock:
            if self.blocks and self.blocks[-1] is node:
                self.blocks.pop()
        elif cls is not cst.IndentedBlock and cls is not cst.SimpleStatementSuite and cls is not cst.Else:
            if self.compounds and self.compounds[-1] is node:
                self.compounds.pop()
        mark = self._marks.pop(node, None) if self._marks else None
        if mark is not None:
            del self.stack[mark:]
        if cls is cst.If:
            if node in self._elifs:
                self._elifs.discard(node)  # type: ignore[arg-type]
            elif node.orelse is None and _exits(node.body):  # type: ignore[attr-defined]
                # `if test: return` -- the rest of the enclosing block runs when test is false
                self.stack.append(Guard(AFTER_EXIT, node.test, False, node))  # type: ignore[attr-defined]
