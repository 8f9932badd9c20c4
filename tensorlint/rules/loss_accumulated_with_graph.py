"""TL110: a loss that was backpropagated is summed or appended with its autograd graph."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.base import Rule
from tensorlint.rules.fixes import call_method
from tensorlint.semantics.training import LOOPS, scan

# A binding of the loss that leaves no graph: `loss = loss.item()`, `loss = float(loss)`.
_DETACHING_METHODS = frozenset({"item", "detach", "tolist", "numpy", "cpu"})
_DETACHING_FUNCTIONS = frozenset({"float", "int", "round"})


def _operand_names(expr: cst.BaseExpression) -> list[cst.Name]:
    """Names that are direct arithmetic operands of `expr` (`loss`, `loss * n`, `-loss`)."""
    if isinstance(expr, cst.Name):
        return [expr]
    if isinstance(expr, cst.BinaryOperation):
        return _operand_names(expr.left) + _operand_names(expr.right)
    if isinstance(expr, cst.UnaryOperation) and not isinstance(expr.operator, cst.Not):
        return _operand_names(expr.expression)
    return []


class LossAccumulatedWithGraph(Rule):
    """## What it does
    Flags `total += loss`, `total = total + loss` and `losses.append(loss)` inside a loop
    when `loss` is a name on which the same loop calls `loss.backward()` (also
    `scaler.scale(loss).backward()`, `accelerator.backward(loss)`,
    `self.manual_backward(loss)`), and `loss` is never turned into a number first
    (`loss = loss.item()`, `float(loss)`, `loss.detach()`). Arithmetic on the loss counts
    too (`total += loss * batch_size`).

    Not flagged: `total += loss.item()`, `loss.detach()`, `loss.data`; an accumulator on
    which `backward()` is called later (summing losses to backpropagate them together is
    what that code means); accumulation under `no_grad`.

    ## Why is this bad?
    `loss` is a tensor attached to the autograd graph of its step. Adding it to a running
    total (or keeping it in a list) keeps every step's graph reachable from the total, so
    memory grows with every iteration until the loop ends or the process runs out of
    memory; the PyTorch FAQ ("My model reports cuda runtime error(2): out of memory")
    names exactly this line. It also keeps the loss on the GPU, and printing or logging
    it forces a synchronisation each time.

    ## Example
    ```python
    running_loss = 0.0
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        running_loss += loss
    ```

    ## Use instead
    ```python
        running_loss += loss.item()
    ```

    ## Fix safety
    When the accumulated value is the loss name itself, the fix appends `.detach()`
    (`running_loss += loss.detach()`), which drops the graph and keeps the value a
    tensor. It is unsafe: the total no longer requires grad (its `repr` changes and a
    later `total.backward()` would fail). `.item()` is usually the better change, but it
    turns the total into a Python float, which code after the loop may not expect.
    """

    code = "TL110"
    name = "loss-accumulated-with-graph"
    summary = "Backpropagated loss summed/appended with its autograd graph; use `loss.item()`"
    fix_applicability = Applicability.UNSAFE

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self._loops: list[cst.CSTNode] = []
        self._functions: list[cst.CSTNode] = []

    def visit_Module(self, node: cst.Module) -> None:
        self._functions = [node]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.append(node)
        self._loops.append(None)  # loops outside do not contain this body's run

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.pop()
        self._loops.pop()

    def visit_For(self, node: cst.For) -> None:
        self._loops.append(node)

    def leave_For(self, node: cst.For) -> None:
        self._loops.pop()

    def visit_While(self, node: cst.While) -> None:
        self._loops.append(node)

    def leave_While(self, node: cst.While) -> None:
        self._loops.pop()

    # -- accumulation sites ----------------------------------------------------------------
    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.operator, (cst.AddAssign, cst.SubtractAssign)) and isinstance(node.target, (cst.Name, cst.Attribute)):
            self._check(node, node.target, node.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        # `total = total + loss`
        if len(node.targets) != 1 or not isinstance(node.value, cst.BinaryOperation):
            return
        target = node.targets[0].target
        if not isinstance(target, (cst.Name, cst.Attribute)) or not isinstance(node.value.operator, cst.Add):
            return
        text = self.ctx.code_for(target)
        left, right = node.value.left, node.value.right
        if isinstance(left, (cst.Name, cst.Attribute)) and self.ctx.code_for(left) == text:
            self._check(node, target, right)
        elif isinstance(right, (cst.Name, cst.Attribute)) and self.ctx.code_for(right) == text:
            self._check(node, target, left)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "append" and len(node.args) == 1):
            return
        if not isinstance(func.value, (cst.Name, cst.Attribute)) or node.args[0].keyword or node.args[0].star:
            return
        self._check(node, func.value, node.args[0].value)

    def _check(self, site: cst.CSTNode, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        loop = self._loops[-1] if self._loops else None
        if loop is None or self.ctx.grad.grad_disabled():
            return
        names = _operand_names(value)
        if not names:
            return
        events = scan(self.ctx, loop).events
        backward_names = {
            e.receiver.value for e in events if e.kind == "backward" and isinstance(e.receiver, cst.Name)
        }
        loss = next((n for n in names if n.value in backward_names), None)
        if loss is None:
            return
        if not self._keeps_graph(loss.value):
            return
        target_text = self.ctx.code_for(target)
        if self._backpropagated(target_text):
            return
        verb = "appended to" if isinstance(site, cst.Call) else "added to"
        fix = None
        if value is loss:
            fix = self.replace(loss, call_method(cst.Name(loss.value), "detach"), f"Use `{loss.value}.detach()`")
        self.report(
            site,
            f"`{loss.value}` is backpropagated in this loop and {verb} `{target_text}` with its autograd graph, "
            f"which keeps every step's graph alive; use `{loss.value}.item()` (or `.detach()`)",
            fix,
        )

    def _keeps_graph(self, name: str) -> bool:
        bindings = self.ctx.scopes.lookup(name)
        if not bindings:
            return False
        for binding in bindings:
            value = binding.value
            if binding.kind != "assign" or value is None:
                continue
            if isinstance(value, cst.Call):
                func = value.func
                if isinstance(func, cst.Attribute) and func.attr.value in _DETACHING_METHODS:
                    return False
                if isinstance(func, cst.Name) and func.value in _DETACHING_FUNCTIONS:
                    return False
            if isinstance(value, cst.Attribute) and value.attr.value == "data":
                return False
        return True

    def _backpropagated(self, target_text: str) -> bool:
        """The accumulator is differentiated somewhere in the function (or module)."""
        scope = self._functions[-1]
        body = scope.body if isinstance(scope, cst.FunctionDef) else scope
        found = False
        root = body

        class Finder(cst.CSTVisitor):
            def visit_Call(inner, node: cst.Call) -> None:  # noqa: N805
                nonlocal found
                func = node.func
                if isinstance(func, cst.Attribute) and func.attr.value in ("backward", "manual_backward", "grad"):
                    if target_text in self.ctx.code_for(node):
                        found = True

        root.visit(Finder())
        return found
