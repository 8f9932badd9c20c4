"""TL105: `.backward()` inside a `no_grad`/`inference_mode` block."""

from __future__ import annotations

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.ternary import Ternary

_BACKWARD_FUNCTIONS = frozenset({"torch.autograd.backward"})


class BackwardUnderNoGrad(Rule):
    """## What it does
    Flags `loss.backward()` (and `torch.autograd.backward(...)`) where autograd is
    provably off: inside `with torch.no_grad():`, `with torch.inference_mode():`,
    `with torch.set_grad_enabled(False):`, or in a function decorated with
    `@torch.no_grad()` / `@torch.inference_mode()`. A nested
    `with torch.enable_grad():` (or `inference_mode(False)`) switches autograd back on
    and is not flagged; neither is a `set_grad_enabled(flag)` with a computed flag.

    ## Why is this bad?
    Under `no_grad` no autograd graph is recorded, so a loss computed in the block has
    no `grad_fn` and `backward()` raises "element 0 of tensors does not require grad
    and does not have a grad_fn". Under `inference_mode` the tensors are inference
    tensors and cannot take part in autograd at all. Code like this usually means the
    training step was pasted into an evaluation block, or the block is wider than
    intended.

    ## Example
    ```python
    with torch.no_grad():
        loss = criterion(model(x), y)
        loss.backward()
    ```

    ## Use instead
    ```python
    loss = criterion(model(x), y)
    loss.backward()
    with torch.no_grad():
        metrics.update(model(x_val))
    ```

    ## Fix safety
    There is no fix: where the block should end is the author's decision.
    """

    code = "TL105"
    name = "backward-under-no-grad"
    summary = "`.backward()` called where autograd is disabled (`no_grad`/`inference_mode`)"

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "backward":
            return
        if not self.ctx.grad.grad_disabled():
            return
        qualname = self.ctx.qualified_name(func)
        if qualname is not None:
            # `torch.autograd.backward(...)` / `torch.Tensor.backward(t)`; anything else that
            # resolves (a class or module function named `backward`) is not a tensor
            if qualname not in _BACKWARD_FUNCTIONS and not qualname.startswith("torch.Tensor."):
                return
        elif self.ctx.tensor_kind(func.value) is Ternary.NO:
            return
        self._report(node)

    def _report(self, node: cst.Call) -> None:
        label = self.ctx.grad.grad_label() or "torch.no_grad()"
        self.report(
            node,
            f"`backward()` runs under `{label}`, where no autograd graph is recorded; "
            "move it out of the block (or wrap the training step in `torch.enable_grad()`)",
        )
