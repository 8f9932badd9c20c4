"""TL403: `x.clone().detach()` instead of `x.detach().clone()`."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability, Severity
from tensorlint.rules.base import Rule
from tensorlint.rules.fixes import call_method, keep_parentheses
from tensorlint.semantics.ternary import Ternary


class CloneDetachOrder(Rule):
    """## What it does
    Flags `x.clone().detach()` on anything not provably a non-tensor. Off by default.

    ## Why is this bad?
    `clone()` first records the copy in the autograd graph, and `detach()` then throws
    that record away: a wasted graph node and, for a tensor that requires grad, extra
    memory held until the graph is freed. `x.detach().clone()` gives the same tensor
    without it, and is what PyTorch's own copy-construct warning now recommends.

    ## Example
    ```python
    y = x.clone().detach()
    ```

    ## Use instead
    ```python
    y = x.detach().clone()
    ```

    ## Fix safety
    The fix swaps the two calls, keeping `clone()`'s arguments (such as
    `memory_format=`). The result has the same values, dtype, device, layout and
    `requires_grad=False`, so the fix is safe.
    """

    code = "TL403"
    name = "clone-detach-order"
    summary = "`x.clone().detach()`: detach first, then clone"
    severity = Severity.INFO
    default_enabled = False
    fix_applicability = Applicability.SAFE

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "detach") or node.args:
            return
        inner = func.value
        if not (
            isinstance(inner, cst.Call)
            and isinstance(inner.func, cst.Attribute)
            and inner.func.attr.value == "clone"
            and not any(arg.star for arg in inner.args)
        ):
            return
        receiver = inner.func.value
        if self.ctx.tensor_kind(receiver) is Ternary.NO:
            return
        new = keep_parentheses(node, call_method(call_method(receiver, "detach"), "clone", inner.args))
        self.report(
            node,
            "`.clone().detach()` records a needless copy in autograd; use `.detach().clone()`",
            self.replace(node, new, "Replace with `.detach().clone()`"),
        )
