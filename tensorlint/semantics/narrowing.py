"""Narrowing by type guards: is the name `x` at this node a tensor because of a guard?

`fact(name, root)` walks from the Name node up to the enclosing function and reads the
guards that must hold there:
- the test of an enclosing `if`/`elif`/`else`, `while` body, conditional expression
  (`a if test else b`), the left side of `and`/`or`, and the `if` clauses of a
  comprehension, for its element;
- earlier statements of the same block: `if test: return` (or `raise`, `continue`,
  `break`) with no fall-through, whose test is then false, and `assert test`.

Guards that decide: `isinstance(x, torch.Tensor)` (also a tuple of types),
`torch.is_tensor(x)`, `type(x) is torch.Tensor` / `==`, combined with `not`, `and`, `or`.
Inside `if not isinstance(x, torch.Tensor):` x is NOT a tensor; in its `else`, or after
`if not isinstance(x, torch.Tensor): return ...`, it IS one. `isinstance(x, (list,
tuple))` true means not a tensor; `isinstance(x, nn.Parameter)` true means a tensor, but
false says nothing.

A guard counts only if `x` cannot have been re-bound between the guard and the use:
any binding of `x` (assignment, `for`/`with`/`except` target, walrus, `del`, import,
`global`) on a path in between, or anywhere in a loop that repeats the use after the
guard, drops the guard and every guard further out. Function, class and lambda bodies and
generator expressions (which run later) end the search. Answers are YES, NO or None
(no guard decides).

The index of a function (parents, and which names are guarded at all) is built once, on
the first query inside it; a name no guard mentions is answered without a walk.
"""

from __future__ import annotations

import libcst as cst

from tensorlint.semantics.scopes import target_names
from tensorlint.semantics.ternary import Ternary
from tensorlint.walk import children_of

TENSOR = "torch.Tensor"
# isinstance(x, T) true => tensor; false says nothing (a plain tensor is not a Parameter).
TENSOR_SUBTYPES = frozenset(
    {
        "torch.nn.Parameter", "torch.nn.Buffer", "torch.FloatTensor", "torch.LongTensor", "torch.DoubleTensor",
        "torch.IntTensor", "torch.BoolTensor", "torch.HalfTensor", "torch.ByteTensor", "torch.cuda.FloatTensor",
        "torch.nn.parameter.Parameter",
    }
)
# isinstance(x, T) true => not a tensor (no tensor is an instance of these).
NON_TENSOR_TYPES = frozenset(
    {
        "builtins.list", "builtins.tuple", "builtins.dict", "builtins.set", "builtins.frozenset", "builtins.int",
        "builtins.float", "builtins.complex", "builtins.bool", "builtins.str", "builtins.bytes",
        "builtins.bytearray", "builtins.range", "numpy.ndarray", "numpy.generic", "numpy.number",
    }
)
_EXITS = (cst.Return, cst.Raise, cst.Continue, cst.Break)
_SCOPE_BOUNDARIES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
_EAGER_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp)


children = children_of  # child nodes in lexical order, trivia left out (as the walker sees them)


def falls_through(statements) -> bool:
    """Can control run off the end of this statement list? (False only when provably not:
    it ends in `return`/`raise`/`continue`/`break`, or an `if` all of whose branches do.)"""
    if not statements:
        return True
    last = statements[-1]
    if isinstance(last, _EXITS):  # the small statements of a one-line suite
        return False
    if isinstance(last, cst.SimpleStatementLine):
        return not any(isinstance(small, _EXITS) for small in last.body)
    if isinstance(last, cst.If):
        if falls_through(_block(last.body)):
            return True
        orelse = last.orelse
        if orelse is None:
            return True
        if isinstance(orelse, cst.If):
            return falls_through([orelse])
        return falls_through(_block(orelse.body))
    if isinstance(last, cst.With):
        return falls_through(_block(last.body))
    return True


def _block(suite: cst.BaseSuite):
    return suite.body


class _Index:
    __slots__ = ("parents", "guarded")

    def __init__(self) -> None:
        self.parents: dict[int, cst.CSTNode] = {}
        self.guarded: set[str] = set()


class Narrowing:
    def __init__(self, names) -> None:
        self._names = names  # NameResolver: qualified names of isinstance, torch.Tensor, ...
        self._indexes: dict[int, tuple[cst.CSTNode, _Index]] = {}
        self._bound: dict[int, frozenset[str]] = {}
        self._facts: dict[int, Ternary | None] = {}

    # -- the query -----------------------------------------------------------------------
    def fact(self, name: cst.Name, root: cst.CSTNode) -> Ternary | None:
        """YES/NO when a guard decides whether `name` is a tensor where it stands; else None.
        `root` is the innermost function (or the module) the node belongs to."""
        index = self._index(root)
        if name.value not in index.guarded:
            return None
        key = id(name)
        if key in self._facts:
            return self._facts[key]
        result = self._walk_up(name, index.parents)
        self._facts[key] = result
        return result

    def _walk_up(self, name_node: cst.Name, parents: dict[int, cst.CSTNode]) -> Ternary | None:
        name = name_node.value
        child: cst.CSTNode = name_node
        node = parents.get(id(child))
        while node is not None:
            if isinstance(node, _SCOPE_BOUNDARIES) or isinstance(node, (cst.GeneratorExp, cst.Match)):
                return None
            if isinstance(node, _EAGER_COMPREHENSIONS):
                if child is not getattr(node, "elt", None) and child is not getattr(node, "key", None) and (
                    child is not getattr(node, "value", None)
                ):
                    return None
                found, bound_here = self._comprehension_fact(node, name)
                if found is not None:
                    return found
                if bound_here:
                    return None
            elif isinstance(node, cst.IfExp):
                if child is node.body or child is node.orelse:
                    found = self.test_fact(node.test, child is node.body, name)
                    if found is not None:
                        return found
            elif isinstance(node, cst.BooleanOperation):
                if child is node.right:
                    found = self.test_fact(node.left, isinstance(node.operator, cst.And), name)
                    if found is not None:
                        return found
            elif isinstance(node, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
                if name in self._walrus_bound(child):
                    return None
                position = _position(node.body, child)
                for prev in reversed(node.body[:position]):
                    if self._rebinds(prev, name):
                        return None
            elif isinstance(node, (cst.IndentedBlock, cst.Module)):
                position = _position(node.body, child)
                for prev in reversed(node.body[:position]):
                    found, stop = self._statement_fact(prev, name)
                    if found is not None:
                        return found
                    if stop:
                        return None
            elif isinstance(node, cst.If):
                if child is node.body or child is node.orelse:
                    found = self.test_fact(node.test, child is node.body, name)
                    if found is not None:
                        return found
            elif isinstance(node, cst.While):
                if child is node.body:
                    found = self.test_fact(node.test, True, name)
                    if found is not None:
                        return found
                if self._rebinds(node.body, name):
                    return None  # re-bound on the way round the loop
            elif isinstance(node, cst.For):
                if child is node.body or child is node.orelse:
                    if name in set(target_names(node.target)) or self._rebinds(node.body, name):
                        return None
            elif isinstance(node, cst.ExceptHandler):
                if node.name is not None and name in set(target_names(node.name.name)):
                    return None
            elif isinstance(node, cst.Try | cst.TryStar):
                if child is not node.body:
                    # a handler, `else` or `finally`: the try body may have re-bound it
                    if self._rebinds(node.body, name):
                        return None
                    if child is node.finalbody and (
                        any(self._rebinds(h, name) for h in node.handlers)
                        or (node.orelse is not None and self._rebinds(node.orelse, name))
                    ):
                        return None
            elif isinstance(node, cst.With):
                if any(item.asname is not None and name in set(target_names(item.asname.name)) for item in node.items):
                    return None
            child, node = node, parents.get(id(node))
        return None

    def _statement_fact(self, statement: cst.CSTNode, name: str) -> tuple[Ternary | None, bool]:
        """What an earlier statement of the same block says about `name` afterwards:
        (fact, stop). stop: the statement may re-bind `name`, so nothing further out counts."""
        if isinstance(statement, cst.If):
            orelse = statement.orelse
            if not falls_through(_block(statement.body)):
                # `if test: return` [else: ...] -> afterwards the test was false
                rebinds = name in self._walrus_bound(statement.test) or (
                    orelse is not None and self._rebinds(orelse, name)
                )
                if rebinds:
                    return None, True
                return self.test_fact(statement.test, False, name), False
            if isinstance(orelse, cst.Else) and not falls_through(_block(orelse.body)):
                rebinds = name in self._walrus_bound(statement.test) or self._rebinds(statement.body, name)
                if rebinds:
                    return None, True
                return self.test_fact(statement.test, True, name), False
        elif isinstance(statement, cst.SimpleStatementLine):
            if self._rebinds(statement, name):
                return None, True
            for small in reversed(statement.body):
                if isinstance(small, cst.Assert):
                    found = self.test_fact(small.test, True, name)
                    if found is not None:
                        return found, False
            return None, False
        return None, self._rebinds(statement, name)

    def _comprehension_fact(self, node, name: str) -> tuple[Ternary | None, bool]:
        found = None
        bound_here = False
        comp = node.for_in
        while comp is not None:
            if name in set(target_names(comp.target)):
                found, bound_here = None, True
            for condition in comp.ifs:
                fact = self.test_fact(condition.test, True, name)
                if fact is not None:
                    found = fact
            comp = comp.inner_for_in
        return found, bound_here

    # -- what a test says ----------------------------------------------------------------
    def test_fact(self, test: cst.BaseExpression, truth: bool, name: str) -> Ternary | None:
        """Is `name` a tensor when `test` evaluates to `truth`? YES/NO, or None if it says nothing."""
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
            return self.test_fact(test.expression, not truth, name)
        if isinstance(test, cst.BooleanOperation):
            both = isinstance(test.operator, cst.And) == truth  # `a and b` true / `a or b` false
            if not both:
                return None
            left = self.test_fact(test.left, truth, name)
            right = self.test_fact(test.right, truth, name)
            if left is not None and right is not None and left is not right:
                return None  # contradictory: unreachable code, say nothing
            return left if left is not None else right
        if isinstance(test, cst.Call):
            return self._call_fact(test, truth, name)
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            return self._type_comparison_fact(test, truth, name)
        return None

    def _call_fact(self, call: cst.Call, truth: bool, name: str) -> Ternary | None:
        args = call.args
        if not args or any(arg.star or arg.keyword is not None for arg in args):
            return None
        subject = args[0].value
        if not (isinstance(subject, cst.Name) and subject.value == name):
            return None
        qualname = self._names.qualified_name(call.func)
        if qualname == "torch.is_tensor" and len(args) == 1:
            return Ternary.YES if truth else Ternary.NO
        if qualname != "builtins.isinstance" or len(args) != 2:
            return None
        types = args[1].value
        elements = [e.value for e in types.elements] if isinstance(types, cst.Tuple) else [types]
        if not elements or any(isinstance(e, cst.StarredElement) for e in elements):
            return None
        sorts = [self._type_sort(e) for e in elements]
        if truth:
            if all(s in ("tensor", "subtensor") for s in sorts):
                return Ternary.YES
            if all(s == "other-nontensor" for s in sorts):
                return Ternary.NO
            return None
        return Ternary.NO if "tensor" in sorts else None

    def _type_comparison_fact(self, test: cst.Comparison, truth: bool, name: str) -> Ternary | None:
        """`type(x) is torch.Tensor`, `type(x) == torch.Tensor`, `is not`, `!=`."""
        left = test.left
        target = test.comparisons[0]
        if not (
            isinstance(left, cst.Call)
            and len(left.args) == 1
            and not left.args[0].star
            and left.args[0].keyword is None
            and isinstance(left.args[0].value, cst.Name)
            and left.args[0].value.value == name
            and self._names.qualified_name(left.func) == "builtins.type"
        ):
            return None
        operator = target.operator
        if isinstance(operator, (cst.Is, cst.Equal)):
            holds = truth
        elif isinstance(operator, (cst.IsNot, cst.NotEqual)):
            holds = not truth
        else:
            return None
        if not holds:
            return None  # type(x) is not Tensor: may still be a subclass
        sort = self._type_sort(target.comparator)
        if sort in ("tensor", "subtensor"):
            return Ternary.YES
        if sort == "other-nontensor":
            return Ternary.NO
        return None

    def _type_sort(self, node: cst.BaseExpression) -> str:
        qualname = self._names.qualified_name(node)
        if qualname == TENSOR:
            return "tensor"
        if qualname in TENSOR_SUBTYPES:
            return "subtensor"
        if qualname in NON_TENSOR_TYPES:
            return "other-nontensor"
        return "unknown"

    # -- indexes ---------------------------------------------------------------------------
    def _index(self, root: cst.CSTNode) -> _Index:
        entry = self._indexes.get(id(root))
        if entry is not None and entry[0] is root:
            return entry[1]
        index = _Index()
        parents = index.parents
        guarded = index.guarded
        stack = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, cst.Call):
                _note_guarded(node, guarded)
            for child in children(node):
                parents[id(child)] = node
                if isinstance(child, cst.FunctionDef):
                    continue  # its own root
                stack.append(child)
        self._indexes[id(root)] = (root, index)
        return index

    def _bound_names(self, node: cst.CSTNode) -> frozenset[str]:
        """Names a statement (or block) may bind in the current scope."""
        key = id(node)
        found = self._bound.get(key)
        if found is None:
            names: set[str] = set()
            _collect_bound(node, names, self)
            found = self._bound[key] = frozenset(names)
        return found

    def _rebinds(self, node: cst.CSTNode, name: str) -> bool:
        bound = self._bound_names(node)
        return name in bound or "*" in bound

    def _walrus_bound(self, node: cst.CSTNode) -> set[str]:
        names: set[str] = set()
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, cst.NamedExpr) and isinstance(current.target, cst.Name):
                names.add(current.target.value)
            if isinstance(current, _SCOPE_BOUNDARIES):
                continue
            stack.extend(children(current))
        return names


def _position(body, child) -> int:
    for index, item in enumerate(body):
        if item is child:
            return index
    return len(body)


def _note_guarded(call: cst.Call, guarded: set[str]) -> None:
    func = call.func
    if isinstance(func, cst.Name):
        callee = func.value
    elif isinstance(func, cst.Attribute):
        callee = func.attr.value
    else:
        return
    if callee not in ("isinstance", "is_tensor", "type") or not call.args:
        return
    first = call.args[0].value
    if isinstance(first, cst.Name):
        guarded.add(first.value)


def _collect_bound(node: cst.CSTNode, names: set[str], owner: Narrowing) -> None:
    if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        names.add(node.name.value)
        return
    if isinstance(node, cst.Lambda):
        return
    if isinstance(node, cst.AssignTarget):
        names.update(_target_names(node.target))
    elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
        names.update(_target_names(node.target))
    elif isinstance(node, cst.NamedExpr):
        names.update(_target_names(node.target))
    elif isinstance(node, (cst.For, cst.CompFor)):
        names.update(_target_names(node.target))
    elif isinstance(node, cst.AsName):
        names.update(_target_names(node.name))
    elif isinstance(node, cst.Del):
        names.update(_target_names(node.target))
    elif isinstance(node, (cst.Global, cst.Nonlocal)):
        names.update(item.name.value for item in node.names)
    elif isinstance(node, cst.Import):
        for alias in node.names:
            if alias.asname is None:
                head = alias.name
                while isinstance(head, cst.Attribute):
                    head = head.value
                if isinstance(head, cst.Name):
                    names.add(head.value)
    elif isinstance(node, cst.ImportFrom):
        if isinstance(node.names, cst.ImportStar):
            names.add("*")  # anything
        else:
            for alias in node.names:
                if alias.asname is None and isinstance(alias.name, cst.Name):
                    names.add(alias.name.value)
    elif isinstance(node, (cst.MatchAs, cst.MatchStar)):
        if node.name is not None:
            names.add(node.name.value)
    elif isinstance(node, cst.MatchMapping) and node.rest is not None:
        names.add(node.rest.value)
    statement_like = isinstance(node, (cst.BaseStatement, cst.BaseSuite))
    for child in children(node):
        if statement_like and isinstance(child, (cst.BaseStatement, cst.BaseSuite)):
            names.update(owner._bound_names(child))  # cached per statement
        else:
            _collect_bound(child, names, owner)


def _target_names(target: cst.BaseExpression) -> set[str]:
    """Every Name a target (or `del` target) binds; attributes and subscripts bind none."""
    names: set[str] = set()
    stack = [target]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name):
            names.add(node.value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            stack.extend(element.value for element in node.elements)
        elif isinstance(node, cst.StarredElement):
            stack.append(node.value)
    return names
