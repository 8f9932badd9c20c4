"""TL114: `optimizer.step()` in a loop that never computes gradients."""

from __future__ import annotations

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.training import body_mentions, constructions, is_optimizer, local_function, receiver_text, scan

# Modules whose functions never run a backward pass.
_SAFE_MODULES = ("builtins.", "numpy.", "math.", "time.", "logging.", "random.", "os.", "json.", "sys.", "tqdm.")
# Methods that never run one either, whatever their receiver.
_SAFE_METHODS = frozenset(
    {
        "step", "zero_grad", "item", "append", "extend", "format", "log", "info", "debug", "warning", "set_description",
        "set_postfix", "to", "cuda", "cpu", "float", "long", "half", "size", "view", "reshape", "mean", "sum", "detach",
        "numpy", "tolist", "add_scalar", "write", "flush", "keys", "values", "items", "get", "eval", "train",
        "parameters", "named_parameters", "state_dict", "unsqueeze", "squeeze", "permute", "transpose", "argmax",
        "max", "min", "eq", "clone", "join", "split", "strip", "pop", "close", "copy_", "fill_", "zero_", "mul_",
        "add_", "data_ptr", "type", "contiguous", "float_", "clamp", "clamp_", "abs", "exp", "log_softmax", "softmax",
    }
)


class StepWithoutBackward(Rule):
    """## What it does
    Flags `optimizer.step()` (a provable `torch.optim` optimizer, called without a
    closure on every iteration) in a loop that never computes gradients: no
    `backward()` of any kind (`loss.backward()`, `scaler.scale(loss).backward()`,
    `accelerator.backward(loss)`, `self.manual_backward(loss)`), no assignment to a
    `.grad`, and no call that could run one. Every other call of the loop must be
    provably harmless (torch, builtins, numpy, logging, tensor methods, calling a model
    or loss object, or a function of the file that mentions neither `backward` nor
    `grad`); one unknown helper call is enough to keep the rule silent.

    ## Why is this bad?
    `step()` updates the parameters from their `.grad`. Without a backward pass in the
    loop the gradients are stale (from before the loop) or `None`, so the step either
    repeats the same update or does nothing, and the model does not learn. The usual
    cause is a deleted or mis-indented `loss.backward()`.

    ## Example
    ```python
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
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
    There is no fix: which loss to differentiate is the author's decision.
    """

    code = "TL114"
    name = "step-without-backward"
    summary = "`optimizer.step()` in a loop that never calls `backward()`"

    def leave_For(self, node: cst.For) -> None:
        self._check(node)

    def leave_While(self, node: cst.While) -> None:
        self._check(node)

    def _check(self, loop) -> None:
        found = scan(self.ctx, loop)
        if any(e.kind == "backward" or (e.kind == "zero" and not isinstance(e.node, cst.Call)) for e in found.events):
            return
        steps = [
            e for e in found.events
            if e.kind == "step" and e.loop is loop and not e.conditional and not e.node.args and not e.scaled
            and is_optimizer(self.ctx, e.receiver)
        ]
        if not steps:
            return
        if not all(self._harmless(c.node) for c in found.calls):
            return
        step = steps[0]
        name = receiver_text(self.ctx.module, step.receiver)
        self.report(
            step.node,
            f"`{name}.step()` runs in a loop that never calls `backward()`, so it uses stale or missing "
            "gradients; call `loss.backward()` before the step",
        )

    def _harmless(self, call: cst.Call) -> bool:
        func = call.func
        qualname = self.ctx.qualified_name(func) if isinstance(func, (cst.Name, cst.Attribute)) else None
        if qualname is not None:
            if qualname.startswith(_SAFE_MODULES):
                return True
            if qualname.startswith("torch.") and not qualname.startswith("torch.autograd"):
                return True
        if isinstance(func, cst.Attribute):
            name = func.attr.value
            if name in _SAFE_METHODS:
                return True
            if "backward" in name or "grad" in name or "closure" in name:
                return False
        local = local_function(self.ctx, func)
        if local is not None:
            return not body_mentions(self.ctx, local, ("backward", "grad"))
        if isinstance(func, (cst.Name, cst.Attribute)):
            calls = constructions(self.ctx, func)
            if calls and all(self._builds_module(c) for c in calls):
                return True  # `model(x)`, `criterion(out, y)`: a forward pass
        return False

    def _builds_module(self, call: cst.Call) -> bool:
        if self.ctx.modules.constructed_module(call) is not None:
            return True
        qualname = self.ctx.qualified_name(call.func)
        return bool(qualname and qualname.startswith("torch.nn.") and qualname.rsplit(".", 1)[-1][:1].isupper())
