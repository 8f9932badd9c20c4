"""Name bindings per scope, recorded in source order during the single traversal.

Tracking bindings as the traversal goes costs nothing extra (no second pass and no
libcst ScopeProvider, which costs ~3.5x a parse). A name bound later in the same
function than the point being asked about is not seen; Python would raise
UnboundLocalError there anyway, except in loops, where we stay conservative because
every binding must agree before a rule may act.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field

import libcst as cst

BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass(eq=False)
class Binding:
    """One way a name got its value."""

    kind: str  # "import", "assign", "param", "def", "class", "other"
    node: cst.CSTNode | None = None  # the defining node (ClassDef, FunctionDef, Param...)
    qualname: str | None = None  # for imports
    value: cst.BaseExpression | None = None  # for plain assignments
    annotation: cst.BaseExpression | None = None  # for annotated params/assignments


@dataclass(eq=False)
class Scope:
    kind: str  # "module", "class", "function", "lambda"
    node: cst.CSTNode
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    globals: set[str] = field(default_factory=set)

    def bind(self, name: str, binding: Binding) -> None:
        if name in self.globals:
            return  # `global x; x = ...` binds the module's x, which we leave alone
        self.bindings.setdefault(name, []).append(binding)


def target_names(target: cst.BaseExpression):
    """Names bound by an assignment target: `a`, `a, b`, `[a, *b]`."""
    if isinstance(target, cst.Name):
        yield target.value
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from target_names(target.value)


def dotted_name(node: cst.BaseExpression) -> str | None:
    """`a.b.c` as a string, for import statements and attribute chains."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted_name(node.value)
        return None if head is None else f"{head}.{node.attr.value}"
    return None


def _function_params(params: cst.Parameters):
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        yield param
    if isinstance(params.star_arg, cst.Param):
        yield params.star_arg
    if params.star_kwarg is not None:
        yield params.star_kwarg


class ScopeTracker:
    """Maintains the scope stack; the dispatcher calls ``enter``/``leave`` around rules.

    Assignment bindings are recorded on leave, after the right-hand side has been
    visited, matching Python's evaluation order.
    """

    # The only node classes enter/leave act on; the walker skips the rest.
    node_types = frozenset(
        {
            cst.Module, cst.ClassDef, cst.FunctionDef, cst.Lambda, cst.Global, cst.Nonlocal, cst.Import,
            cst.ImportFrom, cst.Assign, cst.AnnAssign, cst.NamedExpr, cst.AugAssign, cst.For, cst.CompFor,
            cst.WithItem, cst.ExceptHandler, cst.MatchAs,
        }
    )

    def __init__(self) -> None:
        self.stack: list[Scope] = []
        self.module_classes: dict[cst.ClassDef, bool] = {}
        self._class_of: dict[cst.FunctionDef, cst.ClassDef] = {}

    # -- queries ---------------------------------------------------------------
    @property
    def module_scope(self) -> Scope:
        return self.stack[0]

    def lookup(self, name: str) -> list[Binding] | None:
        """The bindings visible for `name` here, or None if it is not bound in the file."""
        innermost = True
        for scope in reversed(self.stack):
            if scope.kind == "class" and not innermost:
                innermost = False
                continue  # class bodies are not enclosing scopes for their methods
            innermost = False
            if name in scope.globals:
                return self.module_scope.bindings.get(name)
            found = scope.bindings.get(name)
            if found:
                return found
        return None

    def function_scope(self) -> Scope | None:
        for scope in reversed(self.stack):
            if scope.kind in ("function", "lambda"):
                return scope
        return None

    def enclosing_method(self) -> tuple[cst.ClassDef, cst.FunctionDef] | None:
        """(class, function) when the innermost function is defined directly in a class."""
        if len(self.stack) < 2:
            return None
        inner, outer = self.stack[-1], self.stack[-2]
        if inner.kind == "function" and outer.kind == "class":
            return outer.node, inner.node  # type: ignore[return-value]
        return None

    # -- recording ---------------------------------------------------------------
    def enter(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Module):
            self.stack.append(Scope("module", node))
        elif isinstance(node, cst.ClassDef):
            self.stack[-1].bind(node.name.value, Binding("class", node))
            self.stack.append(Scope("class", node))
        elif isinstance(node, cst.FunctionDef):
            self.stack[-1].bind(node.name.value, Binding("def", node))
            scope = Scope("function", node)
            for param in _function_params(node.params):
                scope.bind(
                    param.name.value,
                    Binding("param", param, annotation=param.annotation.annotation if param.annotation else None),
                )
            self.stack.append(scope)
        elif isinstance(node, cst.Lambda):
            scope = Scope("lambda", node)
            for param in _function_params(node.params):
                scope.bind(param.name.value, Binding("param", param))
            self.stack.append(scope)
        elif isinstance(node, (cst.Global, cst.Nonlocal)):
            scope = self.stack[-1]
            for item in node.names:
                if isinstance(node, cst.Global):
                    scope.globals.add(item.name.value)
                else:
                    scope.bind(item.name.value, Binding("other", node))
        elif isinstance(node, cst.Import):
            for alias in node.names:
                full = dotted_name(alias.name)
                if full is None:
                    continue
                if alias.asname is not None:
                    bound = alias.asname.name
                    if isinstance(bound, cst.Name):
                        self.stack[-1].bind(bound.value, Binding("import", node, qualname=full))
                else:
                    head = full.split(".")[0]
                    self.stack[-1].bind(head, Binding("import", node, qualname=head))
        elif isinstance(node, cst.ImportFrom):
            self._record_import_from(node)

    def leave(self, node: cst.CSTNode) -> None:
        if isinstance(node, (cst.ClassDef, cst.FunctionDef, cst.Lambda)):
            self.stack.pop()
        elif isinstance(node, cst.Assign):
            scope = self.stack[-1]
            single = len(node.targets) == 1
            for target in node.targets:
                if single and isinstance(target.target, cst.Name):
                    scope.bind(target.target.value, Binding("assign", node, value=node.value))
                else:
                    for name in target_names(target.target):
                        scope.bind(name, Binding("other", node))
        elif isinstance(node, cst.AnnAssign):
            if isinstance(node.target, cst.Name):
                self.stack[-1].bind(
                    node.target.value,
                    Binding("assign", node, value=node.value, annotation=node.annotation.annotation),
                )
        elif isinstance(node, cst.NamedExpr):
            if isinstance(node.target, cst.Name):
                self.stack[-1].bind(node.target.value, Binding("assign", node, value=node.value))
        elif isinstance(node, cst.AugAssign):
            if isinstance(node.target, cst.Name):
                self.stack[-1].bind(node.target.value, Binding("other", node))
        elif isinstance(node, (cst.For, cst.CompFor)):
            for name in target_names(node.target):
                self.stack[-1].bind(name, Binding("other", node))
        elif isinstance(node, cst.WithItem):
            if node.asname is not None:
                for name in target_names(node.asname.name):
                    self.stack[-1].bind(name, Binding("other", node))
        elif isinstance(node, cst.ExceptHandler):
            if node.name is not None and isinstance(node.name.name, cst.Name):
                self.stack[-1].bind(node.name.name.value, Binding("other", node))
        elif isinstance(node, cst.MatchAs):
            if node.name is not None:
                self.stack[-1].bind(node.name.value, Binding("other", node))

    def _record_import_from(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        module = dotted_name(node.module) if node.module is not None else ""
        if module is None:
            return
        prefix = "." * len(node.relative) + module
        for alias in node.names:
            name = alias.name.value if isinstance(alias.name, cst.Name) else dotted_name(alias.name)
            if name is None:
                continue
            full = f"{prefix}.{name}" if prefix and not prefix.endswith(".") else f"{prefix}{name}"
            bound = name
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                bound = alias.asname.name.value
            self.stack[-1].bind(bound, Binding("import", node, qualname=full))
