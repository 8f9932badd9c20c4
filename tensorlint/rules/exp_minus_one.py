"""TL205: `torch.exp(x) - 1` instead of `torch.expm1(x)`."""

from __future__ import annotations

import re

import libcst as cst

from tensorlint.diagnostics import Applicability, Severity
from tensorlint.rules.base import Rule
from tensorlint.rules.fixes import call_method, keep_parentheses, parenthesize_for_attribute
from tensorlint.semantics.dataflow import is_literal_one, sibling_function, unary_torch_call

# Methods and functions that round their input to a whole number.
_ROUNDING_METHODS = frozenset({"round", "long", "int", "short", "floor", "ceil", "trunc", "floor_", "ceil_", "round_"})
_ROUNDING_FUNCTIONS = frozenset(
    {"builtins.int", "builtins.round", "math.floor", "math.ceil", "math.trunc", "torch.round", "torch.floor", "torch.ceil", "torch.trunc"}
)
_INTEGER_DTYPE = re.compile(r"\b(?:long|int|int8|int16|int32|int64|uint8|short)\b")
# Value-keeping steps between the subtraction and the rounding: `(exp(x) - 1).clamp(min=0).round()`.
_PASS_THROUGH_METHODS = frozenset({"clamp", "clamp_", "clamp_min", "clamp_max", "clip", "squeeze", "view", "reshape", "flatten", "detach"})


class ExpMinusOne(Rule):
    """## What it does
    Flags `torch.exp(x) - 1`, and `x.exp() - 1` when `x` is provably a tensor. Only
    the literal `1` / `1.0` counts, and only when `exp(x)` is the whole left operand:
    `a * torch.exp(x) - 1`, `torch.exp(x) - 2` and `math.exp(x) - 1` are not flagged.
    (TorchFix TOR107.) Nor is a difference rounded to a whole number right away
    (`(torch.exp(x) - 1).round()`, `.long()`, `.int()`, `.floor()`, `.ceil()`,
    `.to(torch.long)`, `int(...)`, `round(...)`, `torch.round(...)`, also through
    `.clamp(...)` or a scale factor, or in the next statement: `y = torch.exp(x) - 1`
    then `y = y.round()`), e.g. turning a predicted `log1p` count back into a count:
    the digits `expm1` would keep are rounded away.

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

    ## Default
    Off by default. On real training code (16 repositories, hand-checked) none of its
    findings was a real precision problem: `exp(x) - 1` was rounded to whole numbers
    (durations) right after, sometimes in a later statement the rule cannot follow.
    Turn it on for numerical code with `--extend-select TL205`.
    """

    code = "TL205"
    name = "exp-minus-one"
    summary = "`exp(x) - 1` loses precision for small `x`; use `torch.expm1(x)`"
    severity = Severity.INFO
    fix_applicability = Applicability.SAFE
    default_enabled = False  # precision on real training code below 90% (see ## Default)

    def __init__(self, ctx, options, sink) -> None:
        super().__init__(ctx, options, sink)
        self._rounded: set[cst.CSTNode] = set()  # expressions rounded to whole numbers right away

    def visit_Call(self, node: cst.Call) -> None:
        """Note what a rounding call rounds; the traversal reaches it next."""
        rounded = self._rounding_input(node)
        while rounded is not None:
            self._rounded.add(rounded)
            rounded = self._pass_through_input(rounded)

    def _rounding_input(self, node: cst.Call) -> cst.BaseExpression | None:
        func = node.func
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in _ROUNDING_METHODS and not (method.startswith("round") and node.args):
                return func.value
            if method in ("to", "type") and node.args and all(
                _INTEGER_DTYPE.search(self.ctx.code_for(arg.value)) for arg in node.args[:1]
            ):
                return func.value  # `.to(torch.long)`, `.type(torch.int64)`
            if method not in ("round", "floor", "ceil", "trunc"):
                return None
        elif not isinstance(func, cst.Name) or func.value not in ("int", "round", "floor", "ceil", "trunc"):
            return None
        qualname = self.ctx.qualified_name(func)
        if qualname in _ROUNDING_FUNCTIONS and node.args and not node.args[0].star:
            if qualname in ("builtins.round", "torch.round") and len(node.args) > 1:
                return None  # round(x, 2): decimals kept
            return node.args[0].value
        return None

    def _pass_through_input(self, expr: cst.BaseExpression) -> cst.BaseExpression | None:
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, (cst.Multiply, cst.Divide)):
            # scaled before rounding: `((exp(x) - 1) * d_factor).round()`; only the
            # absolute error counts when rounding, and a scale keeps it far below 0.5
            if isinstance(expr.left, cst.BinaryOperation) and isinstance(expr.left.operator, cst.Subtract):
                return expr.left
            if isinstance(expr.right, cst.BinaryOperation) and isinstance(expr.right.operator, cst.Subtract) and isinstance(expr.operator, cst.Multiply):
                return expr.right
            return None
        if not isinstance(expr, cst.Call) or not isinstance(expr.func, cst.Attribute):
            return None
        if expr.func.attr.value not in _PASS_THROUGH_METHODS:
            return None
        qualname = self.ctx.qualified_name(expr.func)
        if qualname is None:
            return expr.func.value  # `t.clamp(min=0)`
        if qualname in ("torch.clamp", "torch.clip") and expr.args and not expr.args[0].star:
            return expr.args[0].value
        return None

    def _rounded_next(self, node: cst.BinaryOperation) -> bool:
        """`y = torch.exp(x) - 1` whose next statement is `y = y.round()` (or
        `torch.round(y)`, `y.long()`, ...): rounded right away, one statement later."""
        guards = self.ctx.guards
        statement = guards.statement
        if statement is None or len(statement.body) != 1:
            return False
        assign = statement.body[0]
        if not (
            isinstance(assign, cst.Assign)
            and len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name)
            and assign.value is node
        ):
            return False
        name = assign.targets[0].target.value
        following = guards.next_statement()
        if not isinstance(following, cst.SimpleStatementLine) or len(following.body) != 1:
            return False
        after = following.body[0]
        if not (
            isinstance(after, cst.Assign)
            and len(after.targets) == 1
            and isinstance(after.targets[0].target, cst.Name)
            and after.targets[0].target.value == name
            and isinstance(after.value, cst.Call)
        ):
            return False
        rounded = self._rounding_input(after.value)
        while rounded is not None:
            if isinstance(rounded, cst.Name) and rounded.value == name:
                return True
            rounded = self._pass_through_input(rounded)
        return False

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if not isinstance(node.operator, cst.Subtract) or not is_literal_one(node.right):
            return
        if node in self._rounded or self._rounded_next(node):
            return  # rounded to a whole number right away: the lost digits never count
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

