"""TL310: `F.softmax`/`log_softmax`/`softmin` (or `nn.Softmax()`) without `dim`."""

from __future__ import annotations

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.calls import UNKNOWN, call_argument

# qualified name -> position of `dim` among the positional arguments
_FUNCTIONS = {
    "torch.nn.functional.softmax": 1,
    "torch.nn.functional.log_softmax": 1,
    "torch.nn.functional.softmin": 1,
    "torch.nn.Softmax": 0,
    "torch.nn.LogSoftmax": 0,
    "torch.nn.Softmin": 0,
}
_LAST = frozenset(name.rsplit(".", 1)[-1] for name in _FUNCTIONS)


class SoftmaxImplicitDim(Rule):
    """## What it does
    Flags `F.softmax(x)`, `F.log_softmax(x)`, `F.softmin(x)` and the modules
    `nn.Softmax()`, `nn.LogSoftmax()`, `nn.Softmin()` called without a `dim` (or with
    `dim=None`). `torch.softmax`/`x.softmax()` are not flagged: they require `dim`.

    ## Why is this bad?
    Without `dim`, PyTorch picks one from the input's number of dimensions: dim 0 for
    0-, 1- and 3-D inputs, dim 1 otherwise, and warns "Implicit dimension choice for
    softmax has been deprecated". For a 3-D `(batch, seq, classes)` tensor that normalises
    over the batch, which is rarely what was meant, and the result changes silently when
    the input gains or loses a dimension.

    ## Example
    ```python
    probs = F.softmax(logits)
    self.act = nn.Softmax()
    ```

    ## Use instead
    ```python
    probs = F.softmax(logits, dim=-1)
    self.act = nn.Softmax(dim=1)
    ```

    ## Fix safety
    There is no fix: the dim PyTorch picks depends on the input's rank, which is not
    known statically, and the intended dim may differ from it anyway.
    """

    code = "TL310"
    name = "softmax-implicit-dim"
    summary = "`F.softmax`/`log_softmax`/`softmin` or `nn.Softmax()` without `dim`"

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        last = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
        if last not in _LAST:
            return
        qualname = self.ctx.qualified_name(func)
        position = _FUNCTIONS.get(qualname or "")
        if position is None:
            return
        dim = call_argument(node, position, "dim")
        if dim is UNKNOWN:
            return
        if dim is not None and not (isinstance(dim.value, cst.Name) and dim.value.value == "None"):
            return
        if position == 1 and call_argument(node, 0, "input") is None:
            return  # not even an input: another error
        short = qualname.rsplit(".", 1)[-1]
        self.report(
            node,
            f"`{short}` without `dim` picks the dimension from the input's rank (dim 0 for 0/1/3-D inputs, "
            "else 1) and is deprecated; pass `dim=` explicitly",
        )
