"""TL204: `torch.log(1 + x)` instead of `torch.log1p(x)`."""

from __future__ import annotations

import re

import libcst as cst

from tensorlint.diagnostics import Applicability, Severity
from tensorlint.rules.base import Rule
from tensorlint.rules.fixes import (
    call_method,
    keep_parentheses,
    parenthesize_for_attribute,
    unparenthesize_for_argument,
)
from tensorlint.semantics.dataflow import is_literal_one, sibling_function, spell, unary_torch_call, value_origins

# torch functions whose result holds whole numbers (indices, counts, rounded values).
_INTEGER_FUNCTIONS = frozenset(
    {
        "torch.randint", "torch.randint_like", "torch.bincount", "torch.argmax", "torch.argmin", "torch.argsort",
        "torch.count_nonzero", "torch.nonzero", "torch.searchsorted", "torch.bucketize", "torch.randperm",
        "torch.round", "torch.floor", "torch.ceil", "torch.trunc", "torch.numel", "torch.histc",
        "builtins.len", "builtins.int", "math.floor", "math.ceil", "math.trunc", "math.factorial",
    }
)
# Methods whose result holds whole numbers, whatever the receiver.
_INTEGER_METHODS = frozenset(
    {
        "long", "int", "short", "byte", "char", "bool", "argmax", "argmin", "argsort", "bincount",
        "count_nonzero", "nonzero", "floor", "ceil", "trunc", "numel", "nelement", "size", "dim",
    }
)
# Methods that keep whole numbers whole (conversions, reductions by sum, reshaping).
_INTEGER_PRESERVING_METHODS = frozenset(
    {
        "float", "double", "half", "bfloat16", "to", "type", "type_as", "sum", "cumsum", "abs", "item", "squeeze",
        "unsqueeze", "view", "reshape", "flatten", "t", "clone", "detach", "cpu", "cuda", "contiguous", "expand",
        "expand_as", "repeat", "max", "min", "clamp", "clamp_min", "clamp_max", "clip", "neg", "permute",
        "transpose", "flip", "roll", "index_select", "gather", "masked_select", "cummax", "cummin",
    }
)
# torch functions that put tensors together: whole numbers in, whole numbers out.
_JOINING_FUNCTIONS = frozenset(
    {"torch.stack", "torch.cat", "torch.concat", "torch.meshgrid", "torch.cartesian_prod", "torch.broadcast_tensors"}
)
_INTEGER_DTYPES = re.compile(r"\b(?:long|int|int8|int16|int32|int64|uint8|short|bool)\b")
# Names that hold counts, lengths, positions or indices (last word, or a leading `num_`/`n_`).
_INTEGER_NAME = re.compile(
    r"(?:^|_)(?:counts?|cnts?|freqs?|frequenc(?:y|ies)|lengths?|lens?|positions|indices|idx|idxs|steps?|epochs?|iters?"
    r"|iterations?|degrees?|deg|ranks|occurrences?|num)$|^(?:num|n)_",
    re.IGNORECASE,
)
_INTEGER_ARITHMETIC = (cst.Add, cst.Subtract, cst.Multiply, cst.FloorDivide, cst.Modulo)
_MAX_DEPTH = 8


def integer_valued(ctx, expr: cst.BaseExpression, depth: int = 0, _names: frozenset[str] = frozenset()) -> bool:
    """`expr` provably holds whole numbers (its dtype may still be floating point):
    counts (`bincount`, `(mask).sum()`), positions (`torch.arange(n)`), `.long()`,
    `.int()`, rounded values, lengths, and names that say so (`counts`, `num_tokens`).
    A name is judged by all of its assignments; one that refers back to the name
    (`n = n.float()`) is judged by the others."""
    if depth > _MAX_DEPTH:
        return False
    depth += 1
    if isinstance(expr, cst.Name) and expr.value in _names:
        return True  # a re-binding from itself: whole numbers stay whole if the others are
    if isinstance(expr, cst.Name) and not _INTEGER_NAME.search(expr.value):
        origins = value_origins(ctx, expr)
        names = _names | {expr.value}
        return bool(origins) and all(integer_valued(ctx, origin, depth, names) for origin in origins)
    return _integer_valued(ctx, expr, depth, _names)


def _integer_valued(ctx, expr: cst.BaseExpression, depth: int, names: frozenset[str]) -> bool:
    def whole(sub: cst.BaseExpression) -> bool:
        return integer_valued(ctx, sub, depth, names)

    if isinstance(expr, cst.Integer):
        return True
    if isinstance(expr, cst.Comparison):
        return True  # booleans
    if isinstance(expr, cst.Name):
        return True  # named like a count (other names are followed by `integer_valued`)
    if isinstance(expr, cst.IfExp):
        return whole(expr.body) and whole(expr.orelse)
    if isinstance(expr, cst.Attribute):
        return expr.attr.value in ("ndim",) or bool(_INTEGER_NAME.search(expr.attr.value))
    if isinstance(expr, cst.Subscript):
        value = expr.value
        if isinstance(value, cst.Attribute) and value.attr.value == "shape":
            return True
        return whole(value)
    if isinstance(expr, cst.UnaryOperation):
        return isinstance(expr.operator, cst.Minus) and whole(expr.expression)
    if isinstance(expr, cst.BinaryOperation):
        return (
            isinstance(expr.operator, _INTEGER_ARITHMETIC)
            and whole(expr.left)
            and whole(expr.right)
        )
    if not isinstance(expr, cst.Call):
        return False
    func = expr.func
    qualname = ctx.qualified_name(func)
    if qualname is not None:
        if qualname == "torch.arange":
            # `arange(end)` counts 0, 1, 2, ...; with a start (and a step), those must be whole
            positional = [arg for arg in expr.args if arg.keyword is None]
            if any(arg.star for arg in positional) or any(arg.keyword.value in ("start", "step") for arg in expr.args if arg.keyword):
                return False
            return len(positional) == 1 or all(whole(arg.value) for i, arg in enumerate(positional) if i != 1)
        if qualname == "builtins.round":
            return len(expr.args) == 1
        if qualname in ("torch.sum", "torch.cumsum", "torch.abs", "torch.flatten") and expr.args:
            return whole(expr.args[0].value)
        if qualname in _JOINING_FUNCTIONS:
            # `torch.stack(torch.meshgrid(torch.arange(h), torch.arange(w)))`
            parts = []
            for arg in expr.args:
                if arg.keyword is not None:
                    continue
                if arg.star or not isinstance(arg.value, (cst.List, cst.Tuple)):
                    parts.append(arg.value)
                else:
                    parts.extend(element.value for element in arg.value.elements)
            return bool(parts) and not any(arg.star for arg in expr.args) and all(whole(part) for part in parts)
        return qualname in _INTEGER_FUNCTIONS
    if not isinstance(func, cst.Attribute):
        return False
    method = func.attr.value
    if method in _INTEGER_METHODS:
        return True
    if method == "round":
        return not expr.args
    if method in ("to", "type") and any(
        _INTEGER_DTYPES.search(cst.Module(body=[]).code_for_node(arg.value)) for arg in expr.args
    ):
        return True  # `.to(torch.long)`, `.type(torch.int64)`
    if method in _INTEGER_PRESERVING_METHODS:
        if method in ("clamp", "clamp_min", "clamp_max", "clip") and any(
            isinstance(arg.value, cst.Float) for arg in expr.args
        ):
            return False
        return whole(func.value)
    return False


def exp_argument(ctx, expr: cst.BaseExpression) -> cst.BaseExpression | None:
    """`y` when `expr` is `torch.exp(y)` or `y.exp()`."""
    if not isinstance(expr, cst.Call):
        return None
    found = unary_torch_call(ctx, expr, "exp")
    return found[0] if found is not None else None


class LogOnePlus(Rule):
    """## What it does
    Flags `torch.log(1 + x)` and `torch.log(x + 1)`, and the method form
    `(1 + x).log()` when `x` is provably a tensor. Only the literal `1` / `1.0` counts:
    `torch.log(2 + x)`, `math.log(1 + x)` and `np.log(1 + x)` are not flagged.
    (TorchFix TOR106.)

    When `x` is an exponential (`torch.log(1 + torch.exp(y))`, `(1 + y.exp()).log()`),
    the expression is softplus, and the suggestion is `F.softplus(y)`:
    `log1p(exp(y))` would still overflow.

    `x` holding whole numbers is not flagged, as `1 + x` is then exact and `log1p`
    gains nothing: counts (`torch.bincount(...)`, `(mask).sum()`, `mask.sum()` of a
    comparison), positions (`torch.arange(n)` with integer arguments), `.long()`,
    `.int()`, `.to(torch.long)`, rounded values, `x.shape[0]`, and names that say so
    (`counts`, `token_counts`, `lengths`, `num_tokens`, `n_items`, `steps`), also through
    `.float()`, sums and local assignments.

    ## Why is this bad?
    For small `x`, `1 + x` rounds to exactly 1 before the log is taken: in float32
    every `|x|` below about 6e-8 gives `log(1 + x) == 0`, and larger values keep only
    a few significant digits. `torch.log1p(x)` computes the same function without
    forming `1 + x` and is accurate to the last bit. `log(1 + exp(y))` also overflows:
    `exp(y)` is `inf` for `y` above about 88 in float32, so the result is `inf`
    where softplus gives `y`.

    ## Example
    ```python
    y = torch.log(1 + x)
    z = torch.log(1 + torch.exp(w))
    ```

    ## Use instead
    ```python
    y = torch.log1p(x)
    z = F.softplus(w)
    ```

    ## Fix safety
    The `log1p` fix is safe: `log1p(x)` is mathematically identical to `log(1 + x)`
    and returns the same shape, dtype (integer and bool inputs are promoted the same
    way) and device; its values differ only in being more accurate. TorchFix reports
    this without a fix. Other arguments (`out=`) are kept.

    The `F.softplus` fix is unsafe: softplus raises on integer tensors, which
    `torch.exp` accepts, and it returns `y` itself above its threshold (20), where
    float64 would differ in the last digits. It is spelled with the file's imports
    (`F.softplus`, `torch.nn.functional.softplus`); with no import that reaches it,
    the finding has no fix.

    ## Default
    Off by default. On real training code (16 repositories, hand-checked) 3 of its 6
    findings were right: the others were `log(1 + x)` of whole numbers (counts,
    durations, relative positions built by helpers in other files), where `log1p`
    gains nothing and which the rule cannot always prove. Turn it on for numerical
    code with `--extend-select TL204`.
    """

    code = "TL204"
    name = "log-one-plus"
    summary = "`log(1 + x)` loses precision for small `x`; use `torch.log1p(x)`"
    severity = Severity.INFO
    fix_applicability = Applicability.SAFE
    default_enabled = False  # precision on real training code below 90% (see ## Default)

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
        if integer_valued(self.ctx, x):
            return  # `1 + n` is exact for whole numbers: log1p gains nothing
        exponent = exp_argument(self.ctx, x)
        if exponent is not None:
            self._softplus(node, exponent)
            return
        if form == "method":
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

    def _softplus(self, node: cst.Call, exponent: cst.BaseExpression) -> None:
        """`log(1 + exp(y))` is softplus: `log1p(exp(y))` would still overflow for large `y`."""
        softplus = spell(self.ctx, "torch.nn.functional.softplus")
        fix = None
        if softplus is not None and not (isinstance(exponent, cst.StarredElement)):
            new = cst.Call(func=softplus, args=[cst.Arg(unparenthesize_for_argument(exponent))])
            fix = self.replace(node, keep_parentheses(node, new), "Replace with `F.softplus`", Applicability.UNSAFE)
        self.report(
            node,
            "`log(1 + exp(y))` overflows to `inf` for large `y` and loses precision for very negative `y`; "
            "use `F.softplus(y)`",
            fix,
        )

