"""TL204: `torch.log(1 + x)` instead of `torch.log1p(x)`."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability, Severity
from tensorlint.rules.base import Rule
from tensorlint.rules.fixes import (
    call_method,
    keep_parentheses,
    parenthesize_for_attribute,
    unparenthesize_for_argument,
)
from tensorlint.semantics.dataflow import is_literal_one, sibling_function, unary_torch_call


class LogOnePlus(Rule):
    """## What it does
    Flags `torch.log(1 + x)` and `torch.log(x + 1)`, and the method form
    `(1 + x).log()` when `x` is provably a tensor. Only the literal `1` / `1.0` counts:
    `torch.log(2 + x)`, `math.log(1 + x)` and `np.log(1 + x)` are not flagged.
    (TorchFix TOR106.)

    ## Why is this bad?
    For small `x`, `1 + x` rounds to exactly 1 before the log is taken: in float32
    every `|x|` below about 6e-8 gives `log(1 + x) == 0`, and larger values keep only
    a few significant digits. `torch.log1p(x)` computes the same function without
    forming `1 + x` and is accurate to the last bit.

    ## Example
    ```python
    y = torch.log(1 + x)
    ```

    ## Use instead
    ```python
    y = torch.log1p(x)
    ```

    ## Fix safety
    The fix is safe: `log1p(x)` is mathematically identical to `log(1 + x)` and
    returns the same shape, dtype (integer and bool inputs are promoted the same way)
    and device; its values differ only in being more accurate. TorchFix reports this
    without a fix. Other arguments (`out=`) are kept.
    """

    code = "TL204"
    name = "log-one-plus"
    summary = "`log(1 + x)` loses precision for small `x`; use `torch.log1p(x)`"
    severity = Severity.INFO
    fix_applicability = Applicability.SAFE

    def visit_Call(self, node: cst.Call) -> None:
        found = unary_torch_call(self.ctx, node, "log")
        if found is None:
            return
        operand, form = found
        if not isinstance(operand, cst.BinaryOperation) or not isinstance(operand.operator, cst.Add):
            return
        if is_literal_one(operand.left):
            x = operand.right
        elif is_literal_one(operand.right):
            x = operand.left
        else:
            return
        if form == "method":
            if not self.ctx.is_tensor(operand):
                return
            new: cst.BaseExpression = call_method(parenthesize_for_attribute(x), "log1p")
        else:
            func = sibling_function(self.ctx, node.func, "torch.log", "log1p")
            if func is None:
                new = None
            else:
                value = unparenthesize_for_argument(x)
                args = [a.with_changes(value=value) if a.value is operand else a for a in node.args]
                new = node.with_changes(func=func, args=args)
        fix = self.replace(node, keep_parentheses(node, new), "Replace with `log1p`") if new is not None else None
        self.report(node, "`log(1 + x)` loses precision for small `x`; use `log1p(x)`", fix)

