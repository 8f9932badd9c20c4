"""TL004: `x.to(device)`, `x.cuda()`, `x.float()`... on a tensor with the result discarded."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.base import Rule
from tensorlint.semantics.ternary import Ternary

# Out-of-place tensor methods people expect to act in place (module.to()/.cuda()/.float()
# do act in place, tensor ones never do). The in-place twin, where there is one.
_METHODS = {
    "to": None, "cuda": None, "cpu": None, "float": None, "double": None, "half": None, "bfloat16": None,
    "int": None, "long": None, "bool": None, "byte": None, "char": None, "short": None, "type": None,
    "detach": "detach_", "contiguous": None, "pin_memory": None,
    "squeeze": "squeeze_", "unsqueeze": "unsqueeze_", "clamp": "clamp_", "clip": "clip_",
    "transpose": "transpose_", "t": "t_", "view": None, "reshape": None, "permute": None, "flatten": None,
}


class TensorResultDiscarded(Rule):
    """## What it does
    Flags a statement that calls an out-of-place tensor method and throws its result
    away: `x.to(device)`, `x.cuda()`, `x.cpu()`, `x.float()` (and the other dtype
    conversions), `x.type(dtype)`, `x.detach()`, `x.contiguous()`, `x.squeeze()`,
    `x.unsqueeze(0)`, `x.clamp(0, 1)`, `x.view(...)`, `x.reshape(...)`, ...

    Only receivers that are provably tensors are flagged (a `torch.Tensor`
    annotation, a torch function's result, a parameter or buffer assigned in the class,
    ...). `model.to(device)`, `model.cuda()` and `model.float()` on an `nn.Module` move
    the module in place and are correct; a receiver that may be a module is never
    flagged.

    ## Why is this bad?
    Tensor methods like these return a new tensor and leave the receiver unchanged,
    unlike the same-named `nn.Module` methods. The line does nothing: the tensor stays on
    the CPU, keeps its dtype or its shape, and the mismatch surfaces later as a device or
    dtype error, or not at all.

    ## Example
    ```python
    x = torch.randn(8, 3)
    x.to(device)
    x.clamp(0, 1)
    ```

    ## Use instead
    ```python
    x = torch.randn(8, 3)
    x = x.to(device)
    x.clamp_(0, 1)
    ```

    ## Fix safety
    When the receiver is a plain local name, the fix rebinds it (`x = x.to(device)`).
    It is unsafe: the line starts to have an effect, which is what it meant, but code
    after it now sees the converted tensor. Attributes (`self.w.cuda()`) get no fix:
    rebinding a parameter would replace it by a plain tensor.
    """

    code = "TL004"
    name = "tensor-result-discarded"
    summary = "Out-of-place tensor method (`.to()`, `.cuda()`, `.float()`...) with its result discarded"
    fix_applicability = Applicability.UNSAFE

    def visit_Expr(self, node: cst.Expr) -> None:
        call = node.value
        if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute):
            return
        method = call.func.attr.value
        if method not in _METHODS:
            return
        if method == "type" and not call.args:
            return  # `x.type()` returns the type string: pointless but harmless
        receiver = call.func.value
        if self.ctx.tensor_kind(receiver) is not Ternary.YES:
            return
        twin = _METHODS[method]
        text = self.ctx.code_for(receiver)
        if isinstance(receiver, (cst.Name, cst.Attribute)):
            hint = f"`{text} = {self.ctx.code_for(call)}`"
            if twin:
                hint += f" or the in-place `{text}.{twin}(...)`"
        else:
            hint = "its result (assign it, or return it)"
        fix = None
        if isinstance(receiver, cst.Name):
            new = cst.Assign(targets=[cst.AssignTarget(target=cst.Name(receiver.value))], value=call)
            fix = self.replace(node, new, f"Assign the result back to `{receiver.value}`")
        self.report(
            node,
            f"`.{method}()` returns a new tensor and leaves `{text}` unchanged, so this line does nothing; "
            f"use {hint}",
            fix,
        )
