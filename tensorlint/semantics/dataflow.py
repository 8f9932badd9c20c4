"""Which value a local name or `self.<attr>` holds, and how to spell a torch name here.

Everything is read from the bindings that the ScopeTracker has already recorded during
the single traversal; nothing here walks the file again. The one exception is
`self.<attr>`: the assignments to it live in other methods of the class, so the class
body is scanned once, lazily (only when a rule asks), and the answer is cached.

All answers are conservative: a name with a binding that is not a plain assignment
(a parameter, a loop target, an augmented assignment, ...) has no known value, and
a name whose assignments disagree has no single constructor.

What a value *is* (a probability, a log-probability), followed across re-bindings,
models, helpers and loss objects, is semantics/values.py's question; the loss helpers
at the end of this file ask it.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import libcst as cst

from tensorlint.semantics.calls import UNKNOWN, call_argument, callee_name

from tensorlint.semantics.modules import self_parameter
from tensorlint.semantics.scopes import BUILTIN_NAMES, Scope

_MAX_HOPS = 4


def _value_scope(ctx) -> Scope | None:
    """The scope whose locals we may read: the innermost function, lambda or module."""
    stack = ctx.scopes.stack
    if not stack or stack[-1].kind == "class":
        return None
    return stack[-1]


def local_values(ctx, name: cst.Name) -> list[cst.BaseExpression] | None:
    """The right-hand sides of every assignment to `name` seen so far in the current
    function (or module body), or None if any binding is not a plain assignment, or
    the name is not local."""
    scope = _value_scope(ctx)
    if scope is None:
        return None
    bindings = scope.bindings.get(name.value)
    if not bindings or name.value in scope.globals:
        return None
    values = []
    for binding in bindings:
        if binding.kind != "assign" or binding.value is None:
            return None
        values.append(binding.value)
    return values


def value_origins(ctx, expr: cst.BaseExpression) -> list[cst.BaseExpression] | None:
    """`expr` itself, or, for a local name, the expressions it was assigned from,
    following `a = b` copies. None when any of them is unknown."""
    pending = [(expr, 0)]
    found: list[cst.BaseExpression] = []
    while pending:
        node, hops = pending.pop()
        if isinstance(node, cst.Name):
            if hops >= _MAX_HOPS:
                return None
            values = local_values(ctx, node)
            if values is None:
                return None
            pending.extend((value, hops + 1) for value in values)
        else:
            found.append(node)
    return found


def _record_target(target: cst.BaseExpression, value, self_name: str, into: dict[str, list]) -> None:
    if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
        if target.value.value == self_name:
            into.setdefault(target.attr.value, []).append(value)
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            _record_target(element.value, None, self_name, into)  # unpacking: value unknown
    elif isinstance(target, cst.StarredElement):
        _record_target(target.value, None, self_name, into)


def _scan_block(body, self_name: str, into: dict[str, list]) -> None:
    """Statement-level walk: attribute targets can only appear in statements (never in
    a walrus or comprehension), so expressions need not be descended into."""
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    single = len(small.targets) == 1
                    for target in small.targets:
                        _record_target(target.target, small.value if single else None, self_name, into)
                elif isinstance(small, cst.AnnAssign) and small.value is not None:
                    _record_target(small.target, small.value, self_name, into)
                elif isinstance(small, cst.AugAssign):
                    _record_target(small.target, None, self_name, into)
            continue
        if isinstance(statement, cst.ClassDef):
            continue  # a nested class's `self` is another object
        if isinstance(statement, cst.For):
            _record_target(statement.target, None, self_name, into)
        elif isinstance(statement, cst.With):
            for item in statement.items:
                if item.asname is not None:
                    _record_target(item.asname.name, None, self_name, into)
        for block in _child_blocks(statement):
            _scan_block(block, self_name, into)


def _child_blocks(statement: cst.BaseCompoundStatement):
    body = getattr(statement, "body", None)
    if isinstance(body, cst.IndentedBlock):
        yield body.body
    elif isinstance(body, cst.SimpleStatementSuite):
        yield [cst.SimpleStatementLine(body=body.body)]
    if isinstance(statement, (cst.Try, cst.TryStar)):
        for handler in statement.handlers:
            yield from _child_blocks(handler)
        for extra in (statement.orelse, statement.finalbody):
            if extra is not None:
                yield from _child_blocks(extra)
    elif isinstance(statement, (cst.If, cst.For, cst.While)):
        orelse = statement.orelse
        if orelse is not None:
            if isinstance(orelse, cst.If):
                yield [orelse]
            else:
                yield from _child_blocks(orelse)
    elif isinstance(statement, cst.Match):
        for case in statement.cases:
            yield from _child_blocks(case)


_SELF_ATTRS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _self_attribute_values(ctx, cls: cst.ClassDef) -> dict[str, list]:
    """`self.<attr>` -> every value assigned to it in the class's methods (None for
    an unknowable one), computed once per class and file."""
    cache = _SELF_ATTRS.setdefault(ctx, {})
    found = cache.get(cls)
    if found is None:
        found = {}
        for statement in cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ():
            if isinstance(statement, cst.FunctionDef):
                self_name = self_parameter(statement)
                if self_name is not None:
                    _scan_block([statement], self_name, found)
        cache[cls] = found
    return found


self_attribute_values = _self_attribute_values  # the public name


def spell(ctx, qualname: str) -> cst.BaseExpression | None:
    """An expression that names `qualname` at this point using the file's existing
    imports (`F.logsigmoid` when `F` is torch.nn.functional, `torch.nn.functional.
    logsigmoid` when only `import torch` is there), or None if no import reaches it.
    The shortest spelling wins."""
    best: tuple[int, str, str] | None = None
    seen: set[str] = set()
    for scope in reversed(ctx.scopes.stack):
        for name, bindings in scope.bindings.items():
            if name in seen:
                continue
            seen.add(name)
            if not any(b.kind in ("import", "assign") for b in bindings):
                continue
            resolved = ctx.qualified_name(cst.Name(name))
            if resolved is None:
                continue
            if resolved == qualname:
                rest = ""
            elif qualname.startswith(resolved + "."):
                rest = qualname[len(resolved) + 1 :]
            else:
                continue
            candidate = (rest.count(".") + (1 if rest else 0), name, rest)
            if best is None or candidate < best:
                best = candidate
    if best is None:
        return None
    _, name, rest = best
    expr: cst.BaseExpression = cst.Name(name)
    for part in rest.split(".") if rest else ():
        expr = cst.Attribute(value=expr, attr=cst.Name(part))
    return expr


def sibling_function(ctx, func: cst.BaseExpression, qualname: str, new_name: str) -> cst.BaseExpression | None:
    """The function `new_name` from the module that `func` (which resolves to
    `qualname`) comes from, spelled like `func` when that is an attribute
    (`F.softmax` -> `F.log_softmax`), else via the file's imports."""
    module = qualname.rsplit(".", 1)[0]
    if isinstance(func, cst.Attribute):
        return func.with_changes(attr=cst.Name(new_name))
    return spell(ctx, f"{module}.{new_name}")


# -- what produced a value -------------------------------------------------------------
SIGMOID = "sigmoid"  # the activations semantics/values.py names
SOFTMAX = "softmax"


def argument(call: cst.Call, position: int, keyword: str) -> cst.Arg | None:
    """The argument bound to a parameter, by position or keyword; None when absent or
    when `*args`/`**kwargs` make it unknowable."""
    found = call_argument(call, position, keyword)
    return None if found is UNKNOWN else found


def unary_torch_call(ctx, node: cst.Call, name: str) -> tuple[cst.BaseExpression, str] | None:
    """(x, form) for `torch.<name>(x)` (form "function") or `x.<name>()` (form
    "method") with nothing else passed. The method form is returned for any receiver
    that is not a resolvable dotted name (`math.log` / `np.log` never match); callers
    decide how much proof of a tensor they need."""
    func = node.func
    if isinstance(func, cst.Attribute):
        if func.attr.value != name:
            return None
    elif not (isinstance(func, cst.Name) and func.value == name):
        return None
    qualname = ctx.qualified_name(func)
    if qualname == f"torch.{name}":
        arg = argument(node, 0, "input")
        if arg is None or len(node.args) != 1:
            return None
        return arg.value, "function"
    if qualname is None and isinstance(func, cst.Attribute) and not node.args:
        return func.value, "method"
    return None


def is_literal_one(expr: cst.BaseExpression) -> bool:
    """The literal `1` or `1.0` (also `1.`, `1e0`), unparenthesised or not."""
    if isinstance(expr, cst.Integer):
        return expr.value == "1"
    if isinstance(expr, cst.Float):
        try:
            return float(expr.value) == 1.0
        except ValueError:
            return False
    return False


@dataclass(frozen=True)
class LossInput:
    """A loss call whose input provably holds a probability (a sigmoid/softmax output)."""

    arg: cst.Arg  # the input argument of the loss
    value: object  # values.Value: what the input holds and where it comes from
    consumer: str  # "function" (F.<loss>) or "module" (an nn.<Loss> object)
    helper: str | None = None  # `self.adversarial_loss` when the loss is called through a method

    @property
    def inline(self) -> bool:
        """The activation call is written as the loss's argument (of the loss itself)."""
        return self.helper is None and self.value.direct is self.arg.value

    @property
    def activation(self) -> str | None:
        return self.value.activation


_INPUT_SHAPES = (cst.Name, cst.Call, cst.Subscript, cst.Attribute, cst.IfExp)


def loss_call_shape(ctx, node: cst.Call, function: str) -> str | None:
    """Cheap syntactic pre-check for `loss_on_activation`: "function" for a call of the
    loss `function` itself, "object" for a call of something that may be a loss object,
    None otherwise. Rules use it to decide whether the full question is worth asking."""
    arg = argument(node, 0, "input")
    if arg is None or not isinstance(arg.value, _INPUT_SHAPES):
        return None
    func = node.func
    if callee_name(func) == function.rsplit(".", 1)[-1]:
        return "function" if ctx.qualified_name(func) == function else None
    if _loss_helper(ctx, func, function) is not None:
        return "helper"
    return "object" if _maybe_object(ctx, func) else None


def _loss_helper(ctx, func: cst.BaseExpression, function: str) -> str | None:
    """`self.adversarial_loss` when the class has `def adversarial_loss(self, y_hat, y):
    return F.binary_cross_entropy(y_hat, y)`: a method whose whole body returns the loss
    `function` of its first parameter. The name of that parameter, else None."""
    if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
        return None
    method = ctx.scopes.enclosing_method()
    if method is None or func.value.value != self_parameter(method[1]):
        return None
    target = ctx.modules.methods(method[0]).get(func.attr.value)
    if target is None or self_parameter(target) is None or not isinstance(target.body, cst.IndentedBlock):
        return None
    statements = [
        s for s in target.body.body
        if not (isinstance(s, cst.SimpleStatementLine) and len(s.body) == 1 and isinstance(s.body[0], cst.Expr)
                and isinstance(s.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))
    ]
    if len(statements) != 1 or not isinstance(statements[0], cst.SimpleStatementLine) or len(statements[0].body) != 1:
        return None
    returned = statements[0].body[0]
    if not isinstance(returned, cst.Return) or not isinstance(returned.value, cst.Call):
        return None
    inner = returned.value
    params = (*target.params.posonly_params, *target.params.params)[1:]
    first = argument(inner, 0, "input")
    if not params or first is None or not isinstance(first.value, cst.Name) or first.value.value != params[0].name.value:
        return None
    if callee_name(inner.func) != function.rsplit(".", 1)[-1] or ctx.qualified_name(inner.func) != function:
        return None
    return params[0].name.value


def loss_on_activation(ctx, node: cst.Call, function: str, module: str, shape: str | None = None) -> LossInput | None:
    """`node` as a call of the loss `function` (qualified name) or of an instance of the
    loss class `module`, fed a probability (semantics/values.py follows names, models,
    helpers and module-level or `self.` loss objects); None otherwise. `shape` is what
    `loss_call_shape` said, when the caller already asked it (during the traversal)."""
    from tensorlint.semantics import values

    if shape is None:
        shape = loss_call_shape(ctx, node, function)
    if shape is None:
        return None
    arg = argument(node, 0, "input")
    helper = None
    if shape == "helper":
        parameter = _loss_helper(ctx, node.func, function)
        arg = argument(node, 0, parameter) if parameter else None
        if arg is None or not isinstance(arg.value, _INPUT_SHAPES):
            return None
        consumer = "function"
        helper = ctx.code_for(node.func)
    elif shape == "function":
        consumer = "function"
    elif values.module_class(ctx, node.func) == module:
        consumer = "module"
    else:
        return None
    found = values.value_info(ctx, arg.value)
    if found is None or found.kind != values.PROBABILITY:
        return None
    return LossInput(arg, found, consumer, helper)


def _maybe_object(ctx, func: cst.BaseExpression) -> bool:
    """Cheap pre-check: `func` may be an object built from a class (`nn.BCELoss()(...)`,
    a name bound by assignment or a parameter, `self.<attr>`), not a plain function."""
    if isinstance(func, cst.Call):
        return True
    if isinstance(func, cst.Name):
        bindings = ctx.scopes.lookup(func.value)
        if bindings is None:
            return func.value not in BUILTIN_NAMES  # e.g. a module-level name bound further down
        return any(b.kind in ("assign", "param") for b in bindings)
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
        bindings = ctx.scopes.lookup(func.value.value)  # `self.criterion`, also from a closure
        return bool(bindings) and any(b.kind == "param" for b in bindings)
    return False


def describe_origin(ctx, found: LossInput) -> str:
    """` (through `out`, from `Net.forward`)` for a message; empty for an inline activation."""
    if found.inline:
        return ""
    text = ctx.code_for(found.arg.value).strip()
    if len(text) > 40:
        text = text[:37] + "..."
    parts = [f"through `{text}`"]
    if found.helper:
        parts.append(f"passed to `{found.helper}`")
    if found.value.origin:
        parts.append(f"from {found.value.origin}")
    return f" ({', '.join(parts)})"
