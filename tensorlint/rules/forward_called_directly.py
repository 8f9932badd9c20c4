"""TL113: `model.forward(x)` / `self.net.forward(x)` called instead of the module."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.base import Rule
from tensorlint.semantics.training import constructions


class ForwardCalledDirectly(Rule):
    """## What it does
    Flags `m.forward(x)` where `m` is provably an `nn.Module` instance: a submodule
    assigned in the class's `__init__` (`self.net.forward(x)`), or a name (or `self.`
    attribute) every binding of which constructs a torch.nn layer or a module class of
    the project. Not flagged: `super().forward(x)`, `Base.forward(self, x)` (calling a
    parent class's implementation), `self.forward(x)`, and receivers that may be
    something else than a module.

    ## Why is this bad?
    `module(x)` runs `Module.__call__`, which runs the forward pre-hooks, `forward`, and
    the forward hooks (and the backward-hook bookkeeping). Calling `.forward` directly
    skips all of them: hooks registered by the user or by libraries (pruning,
    spectral/weight normalisation, quantization observers, activation checkpointing,
    FSDP, profilers, `torch.nn.utils.parametrize`) silently stop working for that call
    (dslinter W5516).

    ## Example
    ```python
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(4, 4)

        def forward(self, x):
            return self.body.forward(x)
    ```

    ## Use instead
    ```python
        def forward(self, x):
            return self.body(x)
    ```

    ## Fix safety
    The fix calls the module (`self.body(x)`). It is unsafe: the hooks now run, which
    can change the result when hooks are registered (that is the point, but it is a
    change in behaviour).
    """

    code = "TL113"
    name = "forward-called-directly"
    summary = "`module.forward(x)` called directly skips hooks; call `module(x)`"
    fix_applicability = Applicability.UNSAFE

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "forward":
            return
        receiver = func.value
        if not self._is_module_instance(receiver):
            return
        text = self.ctx.code_for(receiver)
        new = node.with_changes(func=receiver)
        self.report(
            node,
            f"`{text}.forward(...)` bypasses `{text}`'s hooks (`__call__` runs them); call `{text}(...)`",
            self.replace(node, new, f"Call `{text}(...)`"),
        )

    def _is_module_instance(self, receiver: cst.BaseExpression) -> bool:
        if isinstance(receiver, cst.Attribute) and isinstance(receiver.value, cst.Name):
            method = self.ctx.module_method()
            if method is not None and method.self_name == receiver.value.value:
                if receiver.attr.value in self.ctx.modules.submodules(method.cls):
                    return True
        elif not isinstance(receiver, cst.Name) or receiver.value == "self":
            return False
        calls = constructions(self.ctx, receiver)
        if not calls:
            return False
        return all(self.ctx.modules.constructed_module(call) is not None for call in calls)
