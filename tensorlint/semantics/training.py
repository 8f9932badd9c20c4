"""Training-loop facts shared by the loop rules (TL110-TL115): what a `for`/`while` loop
does, in source order, and which names provably hold an optimizer or an LR scheduler.

A loop's *events* are the calls and assignments of its body that matter to a training
step (`backward`, `optimizer.step`, `zero_grad`, `scheduler.step`, `p.grad = None`),
each with the innermost loop it sits in and whether an `if`/`try`/`match` lies between
that loop and it. Nested function and class definitions and lambdas are not entered:
their code does not run where it is written.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from tensorlint.semantics.optim import is_optimizer_class
from tensorlint.walk import children_of

LOOPS = (cst.For, cst.While)
_SKIP = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
_CONDITIONAL = (cst.If, cst.Try, cst.TryStar, cst.Match, cst.IfExp, cst.BooleanOperation)
BACKWARD_METHODS = frozenset({"backward", "manual_backward"})
_ZERO_METHODS = frozenset({"zero_grad", "zero_grad_", "clear_grad", "reset_grad"})

_SCHEDULER_FACTORIES = frozenset(
    f"transformers.{name}"
    for name in (
        "get_linear_schedule_with_warmup", "get_cosine_schedule_with_warmup", "get_constant_schedule",
        "get_constant_schedule_with_warmup", "get_polynomial_decay_schedule_with_warmup",
        "get_cosine_with_hard_restarts_schedule_with_warmup", "get_inverse_sqrt_schedule",
    )
)


@dataclass(eq=False)
class Event:
    kind: str  # "backward", "step", "zero", "call"
    node: cst.CSTNode  # the call (or the assignment to `.grad`)
    receiver: cst.BaseExpression | None  # `optimizer` in `optimizer.step()`, the loss of a backward
    loop: cst.CSTNode  # innermost enclosing loop
    conditional: bool  # an if/try/match between `loop` and the event
    index: int  # source order
    scaled: bool = False  # `scaler.step(optimizer)`: `receiver` is the optimizer argument


def receiver_text(module: cst.Module, node: cst.BaseExpression | None) -> str | None:
    if node is None or not isinstance(node, (cst.Name, cst.Attribute)):
        return None
    return module.code_for_node(node)


def backward_loss(call: cst.Call, qualname: str | None = None) -> cst.BaseExpression | None:
    """The tensor a backward call differentiates: `loss` in `loss.backward()`,
    `scaler.scale(loss).backward()`, `accelerator.backward(loss)`, `self.manual_backward(loss)`,
    `torch.autograd.backward(loss)`."""
    func = call.func
    if not isinstance(func, cst.Attribute):
        return None
    receiver = func.value
    positional = [a for a in call.args if a.keyword is None]
    if any(a.star for a in positional):
        return None
    if func.attr.value == "backward" and not positional:
        # `loss.backward()`, `scaler.scale(loss).backward()`
        if isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute) and receiver.func.attr.value == "scale" and receiver.args:
            return receiver.args[0].value
        return receiver
    if positional and (func.attr.value == "manual_backward" or _names_a_helper(receiver)):
        # `accelerator.backward(loss)`, `self.manual_backward(loss)`, `torch.autograd.backward(loss)`
        return positional[0].value
    return None


_HELPER_WORDS = ("accelerator", "fabric", "engine", "trainer", "autograd", "self", "model", "amp")


def _names_a_helper(receiver: cst.BaseExpression) -> bool:
    last = receiver.attr.value if isinstance(receiver, cst.Attribute) else receiver.value if isinstance(receiver, cst.Name) else ""
    return any(word in last.lower() for word in _HELPER_WORDS)


def _is_backward(call: cst.Call) -> bool:
    func = call.func
    return isinstance(func, cst.Attribute) and func.attr.value in BACKWARD_METHODS


def _zero_call(call: cst.Call) -> bool:
    func = call.func
    if not isinstance(func, cst.Attribute):
        return isinstance(func, cst.Name) and func.value in _ZERO_METHODS
    if func.attr.value in _ZERO_METHODS:
        return True
    # `p.grad.zero_()`, `p.grad.data.zero_()`, `p.grad.detach_()`, `p.grad.fill_(0)`
    if func.attr.value in ("zero_", "detach_", "fill_", "requires_grad_"):
        return "grad" in _attribute_names(func.value)
    return False


def _attribute_names(node: cst.BaseExpression) -> set[str]:
    names: set[str] = set()
    while isinstance(node, cst.Attribute):
        names.add(node.attr.value)
        node = node.value
    return names


def _grad_assignment(node: cst.CSTNode) -> bool:
    """`p.grad = None` / `p.grad = torch.zeros_like(p)`."""
    if isinstance(node, cst.Assign):
        return any(isinstance(t.target, cst.Attribute) and t.target.attr.value == "grad" for t in node.targets)
    if isinstance(node, cst.AugAssign):
        return isinstance(node.target, cst.Attribute) and node.target.attr.value == "grad"
    return False


class LoopScan:
    """The events of one loop, nested loops included (each event names its innermost loop)."""

    def __init__(self, loop: cst.For | cst.While) -> None:
        self.loop = loop
        self.events: list[Event] = []
        self.calls: list[Event] = []  # every call, in order (kind "call" unless classified)
        self._walk_suite(loop.body, loop, False)
        if loop.orelse is not None:
            self._walk_suite(loop.orelse.body, loop, True)

    def _add(self, kind: str, node, receiver, loop, conditional) -> Event:
        event = Event(kind, node, receiver, loop, conditional, len(self.calls) + len(self.events))
        if kind == "call":
            self.calls.append(event)
        else:
            self.events.append(event)
        return event

    def _walk_suite(self, suite, loop, conditional) -> None:
        self._walk(suite, loop, conditional)

    def _walk(self, node: cst.CSTNode, loop, conditional: bool) -> None:
        if isinstance(node, _SKIP):
            return
        if isinstance(node, LOOPS) and node is not loop:
            # the header runs in the outer loop; the body in the inner one
            if isinstance(node, cst.For):
                self._walk(node.iter, loop, conditional)
            else:
                self._walk(node.test, loop, conditional)
            self._walk(node.body, node, False)
            if node.orelse is not None:
                self._walk(node.orelse, node, True)
            return
        if _grad_assignment(node):
            self._add("zero", node, None, loop, conditional)
        if isinstance(node, cst.If):
            self._walk(node.test, loop, conditional)
            self._walk(node.body, loop, True)
            if node.orelse is not None:
                self._walk(node.orelse, loop, True)
            return
        if isinstance(node, _CONDITIONAL) and not isinstance(node, cst.If):
            for child in children_of(node):
                self._walk(child, loop, True)
            return
        if isinstance(node, cst.Call):
            # arguments are evaluated before the call
            for child in children_of(node):
                self._walk(child, loop, conditional)
            self._classify(node, loop, conditional)
            return
        for child in children_of(node):
            self._walk(child, loop, conditional)

    def _classify(self, call: cst.Call, loop, conditional) -> None:
        func = call.func
        if _is_backward(call):
            self._add("backward", call, backward_loss(call), loop, conditional)
        elif _zero_call(call):
            receiver = func.value if isinstance(func, cst.Attribute) else None
            self._add("zero", call, receiver, loop, conditional)
        elif isinstance(func, cst.Attribute) and func.attr.value == "step":
            positional = [a for a in call.args if a.keyword is None]
            owner = func.value.attr.value if isinstance(func.value, cst.Attribute) else getattr(func.value, "value", "")
            if (
                isinstance(owner, str) and "scaler" in owner.lower() and len(positional) >= 1
                and not positional[0].star and isinstance(positional[0].value, (cst.Name, cst.Attribute))
            ):
                self._add("step", call, positional[0].value, loop, conditional).scaled = True
            else:
                self._add("step", call, func.value, loop, conditional)
        self._add("call", call, func.value if isinstance(func, cst.Attribute) else None, loop, conditional)


def scan(ctx, loop: cst.For | cst.While) -> LoopScan:
    cache = getattr(ctx, "_loop_scans", None)
    if cache is None:
        cache = ctx._loop_scans = {}
    found = cache.get(id(loop))
    if found is None or found.loop is not loop:
        found = cache[id(loop)] = LoopScan(loop)
    return found


# -- what a name holds ---------------------------------------------------------------------


def constructions(ctx, expr: cst.BaseExpression) -> list[cst.Call] | None:
    """The calls every binding of `expr` comes from: a local/module name whose every
    binding is `name = Call(...)`, or `self.attr` whose every assignment in the enclosing
    class is one. None when any binding is something else."""
    if isinstance(expr, cst.Name):
        bindings = ctx.scopes.lookup(expr.value)
        if not bindings:
            return None
        calls = []
        for binding in bindings:
            if binding.kind == "assign" and isinstance(binding.value, cst.Call):
                calls.append(binding.value)
            else:
                return None
        return calls
    if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
        found = ctx.scopes.enclosing_method()
        cls = None
        self_name = None
        if found is not None:
            cls, func = found
            params = func.params.params
            self_name = params[0].name.value if params else None
        else:
            # inside a nested function or loop of a method: find the class on the stack
            for scope in reversed(ctx.scopes.stack):
                if scope.kind == "class":
                    cls = scope.node
                    break
            self_name = "self"
        if cls is None or expr.value.value != self_name:
            return None
        values = _self_assignments(cls, expr.attr.value)
        if not values or not all(isinstance(v, cst.Call) for v in values):
            return None
        return values  # type: ignore[return-value]
    return None


def _self_assignments(cls: cst.ClassDef, attr: str) -> list[cst.BaseExpression | None]:
    found: list = []

    class Finder(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                for t in _flat_targets(target.target):
                    if isinstance(t, cst.Attribute) and t.attr.value == attr and isinstance(t.value, cst.Name) and t.value.value == "self":
                        found.append(node.value if len(node.targets) == 1 and t is target.target else None)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            t = node.target
            if isinstance(t, cst.Attribute) and t.attr.value == attr and isinstance(t.value, cst.Name) and t.value.value == "self":
                found.append(node.value)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            t = node.target
            if isinstance(t, cst.Attribute) and t.attr.value == attr:
                found.append(None)

    cls.body.visit(Finder())
    return found


def _flat_targets(target):
    if isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _flat_targets(element.value)
    else:
        yield target


def constructed_class(ctx, expr: cst.BaseExpression) -> tuple[str, cst.Call] | None:
    """(qualified class name, one construction) when every binding of `expr` constructs
    the same qualified name."""
    calls = constructions(ctx, expr)
    if not calls:
        return None
    names = {ctx.qualified_name(call.func) for call in calls}
    if len(names) != 1:
        return None
    name = names.pop()
    return (name, calls[0]) if name else None


def is_optimizer(ctx, expr: cst.BaseExpression) -> bool:
    if isinstance(expr, cst.Name):
        bindings = ctx.scopes.lookup(expr.value)
        if bindings and all(b.kind == "param" and b.annotation is not None for b in bindings):
            return all(is_optimizer_class(ctx.qualified_name(b.annotation)) for b in bindings)
    found = constructed_class(ctx, expr)
    return found is not None and is_optimizer_class(found[0])


def scheduler_of(ctx, expr: cst.BaseExpression) -> cst.BaseExpression | None | bool:
    """For a provable LR scheduler: the optimizer expression it was built with (first
    argument), or True when that is not a plain name. False when `expr` is not provably
    a scheduler (ReduceLROnPlateau, whose `step` takes a metric, does not count)."""
    found = constructed_class(ctx, expr)
    if found is None:
        return False
    name, call = found
    if name.startswith("torch.optim.lr_scheduler."):
        last = name.rsplit(".", 1)[-1]
        if not last[:1].isupper() or last == "ReduceLROnPlateau":
            return False
    elif name not in _SCHEDULER_FACTORIES and not (
        name.startswith("transformers.optimization.") and name.rsplit(".", 1)[-1] in {n.split(".")[-1] for n in _SCHEDULER_FACTORIES}
    ):
        return False
    first = call.args[0] if call.args else None
    if first is not None and (first.keyword is None or first.keyword.value == "optimizer") and not first.star:
        if isinstance(first.value, (cst.Name, cst.Attribute)):
            return first.value
    return True


def local_function(ctx, func: cst.BaseExpression) -> cst.FunctionDef | None:
    """The function or method of this file a call of `func` runs: a module-level `def`
    (also a nested one visible by scope), or `self.method` of the enclosing class."""
    if isinstance(func, cst.Name):
        bindings = ctx.scopes.lookup(func.value)
        if bindings and len(bindings) == 1 and bindings[0].kind == "def":
            return bindings[0].node
        if bindings is None:
            # a module-level function defined further down the file
            defs = [
                s for s in ctx.module.body
                if isinstance(s, cst.FunctionDef) and s.name.value == func.value
            ]
            return defs[0] if len(defs) == 1 else None
        return None
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
        for scope in reversed(ctx.scopes.stack):
            if scope.kind == "class":
                for statement in scope.node.body.body:
                    if isinstance(statement, cst.FunctionDef) and statement.name.value == func.attr.value:
                        return statement
                return None
    return None


def body_mentions(ctx, func: cst.FunctionDef, words: tuple[str, ...]) -> bool:
    text = ctx.module.code_for_node(func.body)
    return any(word in text for word in words)
