"""TL203: `log(softmax(x))` / `log(sigmoid(x))` instead of the fused, stable functions."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.base import Rule
from tensorlint.rules.fixes import keep_parentheses, unparenthesize_for_argument
from tensorlint.semantics.calls import callee_name
from tensorlint.semantics.project import third_party
from tensorlint.semantics.dataflow import (
    argument,
    sibling_function,
    spell,
    unary_torch_call,
)
from tensorlint.semantics.values import PROBABILITY, SIGMOID, SOFTMAX, value_info

_LOG_SOFTMAX = {
    "torch.softmax": "torch.log_softmax",
    "torch.nn.functional.softmax": "torch.nn.functional.log_softmax",
    "torch.special.softmax": "torch.special.log_softmax",
}
LOGSIGMOID = "torch.nn.functional.logsigmoid"
# Callee names that make a probability: a file without any has nothing for this rule.
_ACTIVATION_NAMES = frozenset(
    {"softmax", "sigmoid", "expit", "log_softmax", "logsigmoid", "Softmax", "Sigmoid", "Softmax2d", "LogSoftmax", "LogSigmoid"}
)


class LogOfSoftmax(Rule):
    """## What it does
    Flags `torch.log` (or `.log()`) applied to a softmax or sigmoid output:
    `torch.log(F.softmax(x, dim))`, `F.softmax(x, dim).log()`,
    `torch.log(torch.softmax(x, d))`, `x.softmax(d).log()`, `torch.log(torch.sigmoid(x))`,
    `x.sigmoid().log()`. The probability is also followed through local names and
    re-bindings, shape-only methods and indexing, the values of `.topk(...)`,
    `.max(dim)` and `.sort()`, `exp(log_softmax(x))`, a helper function of the file
    that returns a softmax (`return F.softmax(...)`), a model whose output is one
    (an `nn.Sequential` ending in `nn.Softmax`, a `forward` that returns one), and
    what the project index knows about names imported from other files.
    `torch.log(probs + eps)` and `torch.log(probs.clamp(min=eps))` are not flagged,
    nor is a value one of whose possible origins is unknown.

    ## Why is this bad?
    Softmax and sigmoid underflow to exactly 0 for strongly negative inputs, and
    `log(0)` is `-inf`; the gradient through the pair is also less accurate.
    `log_softmax` and `logsigmoid` compute the same function in one stable step
    (log-sum-exp trick) and never produce `-inf` for finite inputs.

    ## Example
    ```python
    log_probs = torch.log(F.softmax(logits, dim=-1))
    log_p = torch.log(torch.sigmoid(score))
    ```

    ## Use instead
    ```python
    log_probs = F.log_softmax(logits, dim=-1)
    log_p = F.logsigmoid(score)
    ```

    ## Fix safety
    The fix is safe: `log_softmax` and `logsigmoid` compute the same values (they
    differ only where the two-step version rounded to `-inf` or lost precision) with
    the same shape, dtype and device. It is only offered when the softmax/sigmoid is
    inline, when the replacement can be named through the file's existing imports
    (`F.log_softmax` next to `F.softmax`, `torch.log_softmax` next to
    `torch.softmax`, `x.log_softmax(d)` for `x.softmax(d)`, `F.logsigmoid` or
    `torch.nn.functional.logsigmoid` for a sigmoid), and, for softmax, when `dim` is
    given: `dim` and `dtype` are kept as written. A softmax without `dim` (implicit,
    deprecated) or an `nn.Softmax`/`nn.Sigmoid` module call is reported without a fix.
    """

    code = "TL203"
    name = "log-of-softmax"
    summary = "`log` of a `softmax`/`sigmoid` output; use `log_softmax`/`logsigmoid`"
    fix_applicability = Applicability.SAFE

    def __init__(self, *args) -> None:
        super().__init__(*args)
        # `log` calls are only worth the file-wide value analysis when the file applies a
        # softmax or sigmoid somewhere; until one is seen they wait here.
        self._activation_seen = False
        self._waiting: list = []

    def visit_Call(self, node: cst.Call) -> None:
        if not self._activation_seen and callee_name(node.func) in _ACTIVATION_NAMES:
            self._activation_seen = True

    def leave_Call(self, node: cst.Call) -> None:
        # after the arguments: the inline softmax of `log(softmax(x))` has been seen by then
        found = unary_torch_call(self.ctx, node, "log")
        if found is None:
            return
        operand, _ = found
        if not isinstance(operand, (cst.Name, cst.Call, cst.Subscript, cst.Attribute, cst.IfExp)):
            return
        if self._activation_seen:
            self._check(node, operand)
        else:
            self._waiting.append((node, operand))

    def leave_Module(self, node: cst.Module) -> None:
        if self._activation_seen or (self._waiting and self._imports_from_project()):
            for call, operand in self._waiting:
                self._check(call, operand)
        self._waiting = []

    def _imports_from_project(self) -> bool:
        """The file imports names that may be the project's own (a helper of another
        file may return the probability): anything but well-known libraries."""
        for bindings in self.ctx.scopes.module_scope.bindings.values():
            for binding in bindings:
                if binding.kind == "import" and binding.qualname:
                    if binding.qualname.split(".", 1)[0] not in third_party()["library_packages"]:
                        return True
        return False

    def _check(self, node: cst.Call, operand: cst.BaseExpression) -> None:
        value = value_info(self.ctx, operand)
        if value is None or value.kind != PROBABILITY:
            return
        inline = value.direct is operand
        via = ""
        if not inline:
            text = self.ctx.code_for(operand).strip()
            text = text if len(text) <= 40 else text[:37] + "..."
            via = f" (through `{text}`, from {value.origin})" if value.origin else f" (through `{text}`)"
        if value.activation == SIGMOID:
            message = f"`log` of a sigmoid output{via} underflows to -inf; use `F.logsigmoid`"
        elif value.activation == SOFTMAX:
            message = f"`log` of a softmax output{via} underflows to -inf; use `log_softmax`"
        else:
            message = f"`log` of a probability{via} underflows to -inf; use `log_softmax`/`logsigmoid`"
        fix = None
        if inline and value.activation is not None and value.form is not None:
            fix = self._fix(node, operand, value.activation, value.form)  # type: ignore[arg-type]
        self.report(node, message, fix)

    def _fix(self, node: cst.Call, inner: cst.Call, kind: str, form: str):
        if kind == SIGMOID:
            if form == "function":
                if len(inner.args) != 1 or inner.args[0].star:
                    return None
                first = inner.args[0]
                if first.keyword is not None and first.keyword.value != "input":
                    return None
                x = first.value
            elif form == "method" and not inner.args:
                x = inner.func.value  # type: ignore[attr-defined]
            else:
                return None
            func = spell(self.ctx, LOGSIGMOID)
            if func is None:
                return None
            new = cst.Call(func=func, args=[cst.Arg(unparenthesize_for_argument(x))])
            return self.replace(node, keep_parentheses(node, new), "Replace with `logsigmoid`")
        # softmax: keep the arguments, rename the function
        dim = argument(inner, 1 if form == "function" else 0, "dim")
        if dim is None or (isinstance(dim.value, cst.Name) and dim.value.value == "None"):
            return None
        if form == "function":
            qualname = self.ctx.qualified_name(inner.func)
            target = _LOG_SOFTMAX.get(qualname or "")
            if target is None:
                return None
            func = sibling_function(self.ctx, inner.func, qualname, target.rsplit(".", 1)[-1])  # type: ignore[arg-type]
            if func is None:
                return None
            new = inner.with_changes(func=func)
        elif form == "method":
            new = inner.with_changes(func=inner.func.with_changes(attr=cst.Name("log_softmax")))
        else:
            return None
        return self.replace(node, keep_parentheses(node, new), "Replace with `log_softmax`")
