"""TL109: `torch.no_grad()` (or another grad-mode context manager) written as a bare statement."""

from __future__ import annotations

import libcst as cst

from tensorlint.rules.base import Rule

_CONTEXT_MANAGERS = {
    "torch.no_grad": "torch.no_grad",
    "torch.enable_grad": "torch.enable_grad",
    "torch.inference_mode": "torch.inference_mode",
    "torch.autograd.no_grad": "torch.no_grad",
    "torch.autograd.enable_grad": "torch.enable_grad",
    "torch.autograd.inference_mode": "torch.inference_mode",
    "torch.autograd.grad_mode.no_grad": "torch.no_grad",
    "torch.autograd.grad_mode.enable_grad": "torch.enable_grad",
    "torch.autograd.grad_mode.inference_mode": "torch.inference_mode",
    "torch.autocast": "torch.autocast",
    "torch.amp.autocast": "torch.autocast",
    "torch.cuda.amp.autocast": "torch.cuda.amp.autocast",
    "torch.cpu.amp.autocast": "torch.cpu.amp.autocast",
}


class GradModeBareStatement(Rule):
    """## What it does
    Flags `torch.no_grad()`, `torch.enable_grad()`, `torch.inference_mode()` and
    `torch.autocast(...)` (also `torch.cuda.amp.autocast()`) written as an expression
    statement of their own, outside a `with` and not used as a decorator.

    `torch.set_grad_enabled(False)` is not flagged: called as a function it does switch
    autograd off for the thread.

    ## Why is this bad?
    These are context managers (and decorators). Calling one builds the object and throws
    it away; the grad mode is not changed. Code after the line keeps recording the
    autograd graph (wasting memory in evaluation), or keeps running without it, and nothing
    warns.

    ## Example
    ```python
    model.eval()
    torch.no_grad()
    preds = model(x)
    ```

    ## Use instead
    ```python
    model.eval()
    with torch.no_grad():
        preds = model(x)
    ```

    ## Fix safety
    There is no fix: which statements the block should cover is the author's decision
    (`torch.set_grad_enabled(False)` is another reading).
    """

    code = "TL109"
    name = "grad-mode-bare-statement"
    summary = "`torch.no_grad()`/`enable_grad()`/`inference_mode()` as a bare statement has no effect"

    def visit_Expr(self, node: cst.Expr) -> None:
        call = node.value
        if not isinstance(call, cst.Call):
            return
        func = call.func
        last = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
        if last not in ("no_grad", "enable_grad", "inference_mode", "autocast"):
            return
        spelled = _CONTEXT_MANAGERS.get(self.ctx.qualified_name(func) or "")
        if spelled is None:
            return
        text = self.ctx.code_for(call)
        self.report(
            node,
            f"`{text}` on its own line does nothing: `{spelled}` is a context manager; "
            f"use `with {text}:` around the code it should cover",
        )
