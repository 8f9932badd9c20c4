"""TL001: `torch.tensor(t)` where `t` is already a tensor."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.base import Rule
from tensorlint.rules.fixes import call_method, keep_parentheses, keyword_arg, parenthesize_for_attribute

_KEEP_MEANING = ("dtype", "device")


class TensorCopyConstruct(Rule):
    """## What it does
    Flags `torch.tensor(x)` when `x` is provably a tensor already: a tensor-typed
    parameter, the result of a torch factory or op, a tensor method, arithmetic on
    tensors, an alias of one (`t = x`), an attribute the class only ever assigns
    tensors (`self.w = nn.Parameter(...)`, `self.register_buffer("m", ...)`), or a
    parameter or buffer of a layer built in the class (`self.fc.weight`; `.bias` only
    when the layer is not built with `bias=False`), the `weight` of a value annotated
    as a layer (`layer: nn.Linear`), or the result of a function of the file annotated
    `-> torch.Tensor` or all of whose `return`s give tensors. Type guards count:
    inside `if isinstance(x, torch.Tensor):` (or `torch.is_tensor(x)`, or after
    `if not isinstance(x, torch.Tensor): return`) `x` is a tensor; inside
    `if not isinstance(x, torch.Tensor):` or the `else` of
    `x if isinstance(x, torch.Tensor) else torch.tensor(x)` it never is, whatever its
    annotation says. Lists, literals, numpy arrays, `.tolist()`, `.item()`, `.shape`,
    `Optional[Tensor]` values and values whose type cannot be proven are never flagged.

    ## Why is this bad?
    `torch.tensor()` copies its data through the Python constructor. On a tensor it
    silently drops the autograd graph and PyTorch warns at run time: "To copy construct
    from a tensor, it is recommended to use sourceTensor.detach().clone()". Older
    advice said `clone().detach()`, which records a needless clone in autograd first.

    ## Example
    ```python
    x = torch.randn(3, requires_grad=True)
    y = torch.tensor(x)
    z = torch.tensor(x, dtype=torch.float16, requires_grad=True)
    ```

    ## Use instead
    ```python
    x = torch.randn(3, requires_grad=True)
    y = x.detach().clone()
    z = x.detach().clone().to(dtype=torch.float16).requires_grad_(True)
    ```

    ## Fix safety
    The fix is safe: `detach().clone()` gives the same values, dtype and device as
    `torch.tensor(x)`. `dtype=`/`device=` become a `.to(...)`, and `requires_grad=`
    becomes `.requires_grad_(...)`. Calls with any other keyword (`pin_memory=`,
    `names=`) are reported without a fix.
    """

    code = "TL001"
    name = "tensor-copy-construct"
    summary = "`torch.tensor()` called on an existing tensor; use `.detach().clone()`"
    fix_applicability = Applicability.SAFE

    def visit_Call(self, node: cst.Call) -> None:
        if self.ctx.qualified_name(node.func) != "torch.tensor":
            return
        data = None
        keywords: dict[str, cst.Arg] = {}
        for arg in node.args:
            if arg.star:
                return  # *args / **kwargs: cannot tell what is passed
            if arg.keyword is None:
                if data is not None:
                    return  # torch.tensor takes one positional argument; not our business
                data = arg.value
            elif arg.keyword.value == "data":
                data = arg.value
            else:
                keywords[arg.keyword.value] = arg
        if data is None or not self.ctx.is_tensor(data):
            return
        source = self.ctx.code_for(data)
        self.report(
            node,
            f"`torch.tensor()` on the tensor `{_short(source)}` copies it and drops its autograd history; "
            "use `.detach().clone()`",
            self._fix(node, data, keywords),
        )

    def _fix(self, node: cst.Call, data: cst.BaseExpression, keywords: dict[str, cst.Arg]):
        if set(keywords) - {"dtype", "device", "requires_grad"}:
            return None
        expr = call_method(call_method(parenthesize_for_attribute(data), "detach"), "clone")
        convert = [keyword_arg(k, keywords[k].value) for k in keywords if k in _KEEP_MEANING]
        if convert:
            expr = call_method(expr, "to", convert)
        grad = keywords.get("requires_grad")
        if grad is not None and not (isinstance(grad.value, cst.Name) and grad.value.value == "False"):
            expr = call_method(expr, "requires_grad_", [cst.Arg(grad.value)])
        return self.replace(node, keep_parentheses(node, expr), "Replace with `.detach().clone()`")


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
