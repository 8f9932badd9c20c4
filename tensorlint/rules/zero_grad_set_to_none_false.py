"""TL404: `optimizer.zero_grad(set_to_none=False)`."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Severity
from tensorlint.rules.base import Rule
from tensorlint.semantics.optim import is_optimizer_class


class ZeroGradSetToNoneFalse(Rule):
    """## What it does
    Flags `optimizer.zero_grad(set_to_none=False)` (or a positional `False`) where
    `optimizer` is provably a `torch.optim` optimizer: a name assigned from a
    `torch.optim` class call or annotated with one, or `self.<attr>` assigned from one
    in `__init__` of an `nn.Module` class. Off by default.

    ## Why is this bad?
    Writing zeros into every `.grad` costs a kernel launch and memory traffic per
    parameter, and keeps gradient memory allocated between steps. With
    `set_to_none=True`, the default since PyTorch 2.0, the next backward pass simply
    allocates fresh gradients, and optimizers skip parameters whose grad is None.

    ## Example
    ```python
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer.zero_grad(set_to_none=False)
    ```

    ## Use instead
    ```python
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer.zero_grad()
    ```

    ## Fix safety
    There is no fix: code may rely on `.grad` being a zero tensor rather than None
    (reading it, accumulating into it in place, or logging its norm), which only its
    author can judge.
    """

    code = "TL404"
    name = "zero-grad-set-to-none-false"
    summary = "`optimizer.zero_grad(set_to_none=False)` is slower than the default"
    severity = Severity.INFO
    default_enabled = False

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "zero_grad") or len(node.args) != 1:
            return
        arg = node.args[0]
        if arg.star or (arg.keyword is not None and arg.keyword.value != "set_to_none"):
            return
        if not (isinstance(arg.value, cst.Name) and arg.value.value == "False"):
            return
        if not self._is_optimizer(func.value):
            return
        self.report(
            node,
            "`zero_grad(set_to_none=False)` writes zeros into every gradient; drop the argument "
            "(set_to_none=True is the default since PyTorch 2.0) unless the code needs zero tensors",
        )

    def _is_optimizer(self, expr: cst.BaseExpression) -> bool:
        if isinstance(expr, cst.Name):
            bindings = self.ctx.scopes.lookup(expr.value)
            if not bindings:
                return False
            for binding in bindings:
                if binding.annotation is not None and binding.kind in ("param", "assign"):
                    qualname = self.ctx.qualified_name(binding.annotation)
                elif binding.kind == "assign" and isinstance(binding.value, cst.Call):
                    qualname = self.ctx.qualified_name(binding.value.func)
                else:
                    return False
                if not is_optimizer_class(qualname):
                    return False
            return True
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name):
            method = self.ctx.module_method()
            if method is None or method.self_name != expr.value.value:
                return False
            return is_optimizer_class(self.ctx.modules.attributes(method.cls).get(expr.attr.value))
        return False
