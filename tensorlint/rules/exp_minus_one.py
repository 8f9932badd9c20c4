"""TL205: `torch.exp(x) - 1` instead of `torch.expm1(x)`."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability, Severity
from tensorlint.rules.base import Rule
from tensorlint.rules.fixes import call_method, keep_parentheses, parenthesize_for_attribute
from tensorlint.semantics.dataflow import is_literal_one, sibling_function, unary_torch_call


class ExpMinusOne(Rule):
    """## What it does
    Flags `torch.exp(x) - 1`, and `x.exp() - 1` when `x` is provably a tensor. Only
    the literal `1` / `1.0` counts, and only when `exp(x)` is the whole left operand:
    `a * torch.exp(x) - 1`, `torch.exp(x) - 2` and `math.exp(x) - 1` are not flagged.
    (TorchFix TOR107.)

    ## Why is this bad?
    For small `x`, `exp(x)` is close to 1 and the subtraction cancels almost every
    significant digit: in float32, `torch.exp(x) - 1` is exactly 0 for every `|x|`
    below about 6e-8, and only a few digits are right well above that.
    `torch.expm1(x)` computes the same function accurately.

    ## Example
    ```python
    y = torch.exp(x) - 1
    ```

    ## Use instead
    ```python
    y = torch.expm1(x)
    ```

    ## Fix safety
    The fix is safe: `expm1(x)` is mathematically identical to `exp(x) - 1` and
    returns the same shape, dtype and device; its values differ only in being more
    accurate. It is offered only when `exp` is given nothing but `x` (with `out=`,
    the buffer would receive a different value). TorchFix reports this without a fix.
    """

    code = "TL205"
    name = "exp-minus-one"
    summary = "`exp(x) - 1` loses precision for small `x`; use `torch.expm1(x)`"
    severity = Severity.INFO
    fix_applicability = Applicability.SAFE

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if not isinstance(node.operator, cst.Subtract) or not is_literal_one(node.right):
            return
        left = node.left
        if not isinstance(left, cst.Call):
            return
        found = unary_torch_call(self.ctx, left, "exp")
        if found is None:
            return
        x, form = found
        if form == "method":
            if not self.ctx.is_tensor(x):
                return
            new: cst.BaseExpression = call_method(parenthesize_for_attribute(x), "expm1")
        else:
            func = sibling_function(self.ctx, left.func, "torch.exp", "expm1")
            new = left.with_changes(func=func) if func is not None else None
        fix = self.replace(node, keep_parentheses(node, new), "Replace with `expm1`") if new is not None else None
        self.report(node, "`exp(x) - 1` loses precision for small `x`; use `expm1(x)`", fix)

