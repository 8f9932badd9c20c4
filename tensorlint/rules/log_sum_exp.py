"""TL206: `torch.log(torch.sum(torch.exp(x), dim))` instead of `torch.logsumexp(x, dim)`."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.base import Rule
from tensorlint.rules.fixes import (
    call_method,
    keep_parentheses,
    parenthesize_for_attribute,
    unparenthesize_for_argument,
)
from tensorlint.semantics.calls import callee_name
from tensorlint.semantics.dataflow import argument, sibling_function, unary_torch_call, value_origins
from tensorlint.semantics.ternary import Ternary

_SUM_KEYWORDS = frozenset({"input", "dim", "axis", "keepdim"})


class LogSumExp(Rule):
    """## What it does
    Flags `torch.log(torch.sum(torch.exp(x), dim))` and its method spellings
    (`torch.exp(x).sum(dim).log()`, `x.exp().sum(dim).log()`, and mixtures), written
    as one expression. The all-method chain `x.exp().sum(dim).log()` is a tensor idiom
    (NumPy arrays and Python numbers have no `.exp()`), so it is flagged whatever `x`
    is, unless `x` is provably not a tensor. A sum without `dim` (or with `dim=None`)
    is not flagged, since `torch.logsumexp` requires a dim. (TorchFix TOR108.)

    ## Why is this bad?
    `exp` overflows to `inf` for inputs above about 88 in float32 (11 in float16), and
    the log of the sum then is `inf`; for very negative inputs every term underflows
    to 0 and the log is `-inf`. `torch.logsumexp` subtracts the maximum first and
    returns the exact result for any finite input.

    ## Example
    ```python
    lse = torch.log(torch.sum(torch.exp(scores), dim=-1))
    ```

    ## Use instead
    ```python
    lse = torch.logsumexp(scores, dim=-1)
    ```

    ## Fix safety
    The fix is safe: `logsumexp(x, dim, keepdim)` is mathematically identical, takes
    the same `dim` (int or tuple, also as `axis=`) and `keepdim`, and returns the same
    shape, dtype and device; values differ only where the three-step version
    overflowed, underflowed or lost precision. It is not offered when the sum passes
    `dtype=` or `out=`, nor for an all-method chain on a receiver that is not provably
    a tensor (the fix calls `x.logsumexp(...)`, which only tensors have). TorchFix
    reports this without a fix.
    """

    code = "TL206"
    name = "log-sum-exp"
    summary = "`log(sum(exp(x)))` overflows; use `torch.logsumexp(x, dim)`"
    fix_applicability = Applicability.SAFE

    def visit_Call(self, node: cst.Call) -> None:
        found = unary_torch_call(self.ctx, node, "log")
        if found is None:
            return
        total, log_form = found
        if not isinstance(total, cst.Call) or callee_name(total.func) != "sum":
            return
        sum_qualname = self.ctx.qualified_name(total.func)
        if sum_qualname == "torch.sum":
            sum_form = "function"
            first = argument(total, 0, "input")
            if first is None:
                return
            exp_call = first.value
            rest = [a for a in total.args if a is not first]
            dim = argument(total, 1, "dim")
        elif sum_qualname is None and isinstance(total.func, cst.Attribute):
            sum_form = "method"
            exp_call = total.func.value
            rest = list(total.args)
            dim = argument(total, 0, "dim")
        else:
            return
        if dim is None:
            dim = next((a for a in rest if a.keyword is not None and a.keyword.value == "axis"), None)
        if dim is None or (isinstance(dim.value, cst.Name) and dim.value.value == "None"):
            return
        if any(a.star or (a.keyword is not None and a.keyword.value not in _SUM_KEYWORDS) for a in rest):
            return  # dtype= / out= / **kwargs: not a plain reduction
        if not isinstance(exp_call, cst.Call):
            return
        found_exp = unary_torch_call(self.ctx, exp_call, "exp")
        if found_exp is None:
            return
        x, exp_form = found_exp
        forms = (log_form, sum_form, exp_form)
        if "function" not in forms and self.ctx.tensor_kind(x) is Ternary.NO:
            return  # `.exp().sum(dim).log()` with a dim is a tensor idiom; a provable non-tensor is not
        proven = "function" in forms or self.ctx.is_tensor(x)
        if self._max_shifted(x) or self._implements_logsumexp():
            return
        self.report(
            node,
            "`log(sum(exp(x)))` overflows for large `x`; use `torch.logsumexp(x, dim)`",
            self._fix(node, total, exp_call, x, rest, forms) if proven else None,
        )

    def _max_shifted(self, x: cst.BaseExpression) -> bool:
        """`exp(x - x.max(...))`, inline or through a local: the hand-written stable
        form, which cannot overflow."""
        origins = value_origins(self.ctx, x)
        if not origins:
            return False
        for origin in origins:
            if not (isinstance(origin, cst.BinaryOperation) and isinstance(origin.operator, cst.Subtract)):
                return False
            shifts = value_origins(self.ctx, origin.right)
            if not shifts or not all(_is_max(shift) for shift in shifts):
                return False
        return True

    def _implements_logsumexp(self) -> bool:
        """Inside a function named like logsumexp itself (a reference implementation
        or decomposition): replacing the body with a call to it would recurse."""
        scope = self.ctx.scopes.function_scope()
        node = scope.node if scope is not None else None
        return isinstance(node, cst.FunctionDef) and "logsumexp" in node.name.value.lower()

    def _fix(self, node, total, exp_call, x, rest, forms):
        func = None
        for call, form, qualname in zip((node, total, exp_call), forms, ("torch.log", "torch.sum", "torch.exp")):
            if form == "function":
                func = sibling_function(self.ctx, call.func, qualname, "logsumexp")
                if func is not None:
                    break
        if func is None and "function" in forms:
            return None
        if rest:
            head = cst.Arg(unparenthesize_for_argument(x), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            args = [head, *rest]
        else:
            args = [cst.Arg(unparenthesize_for_argument(x))]
        if func is not None:
            new: cst.BaseExpression = cst.Call(func=func, args=args)
        else:
            new = call_method(parenthesize_for_attribute(x), "logsumexp", rest)
        return self.replace(node, keep_parentheses(node, new), "Replace with `logsumexp`")


def _is_max(expr: cst.BaseExpression) -> bool:
    """`x.max(d, keepdim=True)[0]`, `.values`, `torch.amax(x, d)`, `max_fn(...)`:
    a call whose name mentions max, possibly indexed or `.values`/`.detach()`-ed."""
    while True:
        if isinstance(expr, cst.Subscript):
            expr = expr.value
        elif isinstance(expr, cst.Attribute) and expr.attr.value == "values":
            expr = expr.value
        elif isinstance(expr, cst.Call) and callee_name(expr.func) in ("detach", "unsqueeze"):
            expr = expr.func.value if isinstance(expr.func, cst.Attribute) else expr
            if not isinstance(expr, (cst.Call, cst.Subscript, cst.Attribute)):
                return False
        else:
            break
    return isinstance(expr, cst.Call) and "max" in (callee_name(expr.func) or "")
