"""TL106: `model.eval` / `model.train` / `optimizer.zero_grad` without the call."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.base import Rule

_METHODS = {
    "eval": "the model stays in its current mode",
    "train": "the model stays in its current mode",
    "zero_grad": "gradients keep accumulating across steps",
    "backward": "no gradients are computed",
    "step": "nothing is updated",
}


class ModeMethodNotCalled(Rule):
    """## What it does
    Flags `model.eval`, `model.train`, `optimizer.zero_grad` (and `loss.backward`,
    `optimizer.step`) written as a statement on their own, without the parentheses that
    call them. `self.eval` inside a module counts too.

    ## Why is this bad?
    A bare attribute access is a silent no-op: Python looks the bound method up and
    throws it away. `model.eval` leaves dropout and BatchNorm in training mode during
    validation; `optimizer.zero_grad` lets gradients accumulate across steps. Nothing
    raises, so the only symptom is wrong numbers.

    ## Example
    ```python
    model.eval
    with torch.no_grad():
        preds = model(x)
    ```

    ## Use instead
    ```python
    model.eval()
    with torch.no_grad():
        preds = model(x)
    ```

    ## Fix safety
    The fix adds `()`. It is unsafe because it changes what the program does: the call
    now actually runs (switches the mode, clears the gradients), which is what the line
    meant, but code after it may have come to rely on the old behaviour.
    """

    code = "TL106"
    name = "mode-method-not-called"
    summary = "`model.eval`/`model.train`/`optimizer.zero_grad` used without calling it"
    fix_applicability = Applicability.UNSAFE

    def visit_Expr(self, node: cst.Expr) -> None:
        value = node.value
        if type(value) is not cst.Attribute or value.lpar:
            return
        effect = _METHODS.get(value.attr.value)
        if effect is None:
            return
        receiver = value.value
        if not isinstance(receiver, (cst.Name, cst.Attribute, cst.Subscript, cst.Call)):
            return
        text = self.ctx.code_for(value)
        self.report(
            node,
            f"`{text}` is not called, so {effect}; write `{text}()`",
            self.replace(value, cst.Call(func=value), f"Call `{text}()`"),
        )
