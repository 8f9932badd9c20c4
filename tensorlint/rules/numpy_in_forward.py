"""TL116: a tensor turned into a numpy array inside `forward` (breaks autograd)."""

from __future__ import annotations

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.ternary import Ternary

_DETACHING = frozenset({"detach", "data"})


def _chain_detached(expr: cst.BaseExpression) -> bool:
    """`x.detach().cpu()`, `x.data.cpu()`: the chain leaves autograd on purpose."""
    while True:
        if isinstance(expr, cst.Call):
            expr = expr.func
        elif isinstance(expr, cst.Attribute):
            if expr.attr.value in _DETACHING:
                return True
            expr = expr.value
        elif isinstance(expr, cst.Subscript):
            expr = expr.value
        else:
            return False


class NumpyInForward(Rule):
    """## What it does
    Flags, inside the `forward` method of an `nn.Module` class, `t.numpy()` (also
    `t.cpu().numpy()`) and numpy functions called with a tensor argument
    (`np.exp(t)`, `np.asarray(t)`), where `t` is provably a tensor. Not flagged: a chain
    that detaches first (`t.detach().cpu().numpy()`, `t.data.numpy()`), which says the
    value leaves autograd on purpose; code under `torch.no_grad()`/`inference_mode()`;
    shapes and Python numbers (`x.shape`, `x.size(0)`, `t.item()`).

    ## Why is this bad?
    numpy has no autograd. When the input requires grad (any training step), `.numpy()`
    and `np.*` on it raise "Can't call numpy() on Tensor that requires grad"; when it
    does not (the module was only tried under `no_grad`), the values silently leave the
    graph, so no gradient flows through that part of the model, and the round trip to
    the CPU synchronises the GPU on every call. It also breaks `torch.compile`,
    `torch.jit` and ONNX export.

    ## Example
    ```python
    def forward(self, x):
        w = np.exp(self.scale.cpu().numpy())
        return x * torch.from_numpy(w)
    ```

    ## Use instead
    ```python
    def forward(self, x):
        return x * torch.exp(self.scale)
    ```

    ## Fix safety
    There is no fix: the torch equivalent of a numpy computation is not mechanical.
    """

    code = "TL116"
    name = "numpy-in-forward"
    summary = "Tensor converted to numpy inside `forward`; autograd cannot follow it"

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "numpy" and not node.args:
            receiver = func.value
            if not self._in_forward() or _chain_detached(receiver):
                return
            if self.ctx.tensor_kind(receiver) is not Ternary.YES:
                return
            self.report(
                node,
                f"`{self.ctx.code_for(node)}` inside `forward` leaves autograd (and raises when the tensor "
                "requires grad); keep the computation in torch",
            )
            return
        qualname = self.ctx.qualified_name(func) if isinstance(func, (cst.Attribute, cst.Name)) else None
        if not qualname or not qualname.startswith("numpy.") or not self._in_forward():
            return
        for arg in node.args:
            if arg.star or _chain_detached(arg.value):
                continue
            if self.ctx.tensor_kind(arg.value) is Ternary.YES:
                self.report(
                    node,
                    f"`{qualname.replace('numpy.', 'np.', 1)}` on the tensor `{self.ctx.code_for(arg.value)}` inside "
                    "`forward` leaves autograd (and raises when it requires grad); use the torch function",
                )
                return

    def _in_forward(self) -> bool:
        method = self.ctx.module_method()
        if method is None or method.name != "forward":
            return False
        return not self.ctx.grad.grad_disabled()
