"""TL111: `zero_grad()` missing from a training loop, or placed between `backward()` and `step()`."""

from __future__ import annotations

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.training import (
    body_mentions,
    constructed_class,
    is_optimizer,
    local_function,
    receiver_text,
    scan,
)

_GRAD_WORDS = ("zero_grad", ".grad", "reset_grad", "clear_grad")


class ZeroGradPlacement(Rule):
    """## What it does
    Flags two mistakes in a `for`/`while` loop that trains with a torch optimizer:
    - **zero_grad between backward and step**: `loss.backward()`, then
      `optimizer.zero_grad()` (or `model.zero_grad()` on the model whose
      `model.parameters()` the optimizer was built with), then `optimizer.step()`, with
      no backward (and no call of a helper of the file that may run one) in between;
    - **zero_grad missing**: the loop calls `backward()` and `optimizer.step()` on every
      iteration, and nothing in the function clears gradients: no `zero_grad()` on any
      object (`model.zero_grad()` counts), no `p.grad = None` or `p.grad.zero_()`, and no
      call of a helper of the file that mentions gradients (`self.reset_grad()`).
    The optimizer must provably be a `torch.optim` optimizer (built in the function,
    the module or the class, or annotated as one).

    Not flagged: a `step()` under any condition (`if (i + 1) % accum == 0:` is gradient
    accumulation), `step(closure)` (LBFGS clears gradients in the closure), a
    `zero_grad()` anywhere else in the function (before the loop or in an outer loop),
    optimizers the linter cannot identify.

    ## Why is this bad?
    `backward()` adds to `.grad`; it does not overwrite it. Without `zero_grad()`, every
    step uses the sum of all gradients so far, so the effective learning rate grows and
    training diverges or stalls. With `zero_grad()` between `backward()` and `step()`,
    the gradients just computed are erased before the optimizer sees them: `step()` does
    nothing (or only applies weight decay and momentum), and the model does not learn.

    ## Example
    ```python
    for x, y in loader:
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
    ```

    ## Use instead
    ```python
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
    ```

    ## Fix safety
    There is no fix: moving statements changes the loop's meaning in ways the author
    must check (gradient accumulation, several optimizers).
    """

    code = "TL111"
    name = "zero-grad-placement"
    summary = "`zero_grad()` missing from a training loop, or placed between `backward()` and `step()`"

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self._scopes: list[cst.CSTNode] = []

    def visit_Module(self, node: cst.Module) -> None:
        self._scopes = [node]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._scopes.append(node)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._scopes.pop()

    def leave_For(self, node: cst.For) -> None:
        self._check(node)

    def leave_While(self, node: cst.While) -> None:
        self._check(node)

    def _check(self, loop) -> None:
        events = [e for e in scan(self.ctx, loop).events if e.loop is loop]
        if not any(e.kind == "backward" for e in events):
            return
        steps = [
            e for e in events
            if e.kind == "step" and not e.conditional and (e.scaled or not e.node.args) and is_optimizer(self.ctx, e.receiver)
        ]
        if not steps:
            return
        if self._between(loop, events, steps):
            return
        self._missing(loop, events, steps)

    def _between(self, loop, events, steps) -> bool:
        module = self.ctx.module
        all_events = scan(self.ctx, loop).events
        calls = scan(self.ctx, loop).calls
        for step in steps:
            name = receiver_text(module, step.receiver)
            owners = {name, self._model_of(step.receiver)} - {None}
            zeros = [
                e for e in events
                if e.kind == "zero" and not e.conditional and e.index < step.index
                and receiver_text(module, e.receiver) in owners
            ]
            if not zeros:
                continue
            zero = zeros[-1]
            if not any(e.kind == "backward" and not e.conditional and e.index < zero.index for e in events):
                continue
            if any(e.kind == "backward" and zero.index < e.index < step.index for e in all_events):
                continue
            if any(zero.index < c.index < step.index and self._may_backward(c.node) for c in calls):
                continue
            self.report(
                zero.node,
                f"`{self.ctx.code_for(zero.node)}` runs after `backward()` and before `{name}.step()`, "
                "so it erases the gradients the step should use; call it before the forward pass",
            )
            return True
        return False

    def _model_of(self, optimizer: cst.BaseExpression) -> str | None:
        """`model` for an optimizer built as `SGD(model.parameters(), ...)`."""
        found = constructed_class(self.ctx, optimizer)
        if found is None or not found[1].args:
            return None
        first = found[1].args[0].value
        if (
            isinstance(first, cst.Call) and isinstance(first.func, cst.Attribute)
            and first.func.attr.value == "parameters" and not first.args
        ):
            return receiver_text(self.ctx.module, first.func.value)
        return None

    def _may_backward(self, call: cst.Call) -> bool:
        func = call.func
        last = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if "backward" in last or "closure" in last:
            return True
        local = local_function(self.ctx, func)
        return local is not None and body_mentions(self.ctx, local, ("backward",))

    def _missing(self, loop, events, steps) -> None:
        if not any(e.kind == "backward" and not e.conditional for e in events):
            return
        scope = self._scopes[-1]
        text = self.ctx.code_for(scope)
        if any(word in text for word in _GRAD_WORDS):
            return
        for call in scan(self.ctx, loop).calls:
            func = call.node.func
            last = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
            if "grad" in last.lower():
                return
            local = local_function(self.ctx, func)
            if local is not None and body_mentions(self.ctx, local, _GRAD_WORDS):
                return
        step = steps[0]
        name = receiver_text(self.ctx.module, step.receiver)
        self.report(
            step.node,
            f"this loop calls `backward()` and `{name}.step()` but never clears gradients, so each step "
            f"uses the sum of all gradients so far; call `{name}.zero_grad()` once per iteration",
        )
