"""TL403: `x.clone().detach()` instead of `x.detach().clone()`."""

from __future__ import annotations

import re

import libcst as cst

from tensorlint.diagnostics import Applicability, Severity
from tensorlint.rules.base import Rule
from tensorlint.rules.fixes import call_method, keep_parentheses
from tensorlint.semantics.modules import self_parameter
from tensorlint.semantics.ternary import Ternary

# Buffers of torch.nn layers: never part of the autograd graph.
_LAYER_BUFFERS = frozenset({"running_mean", "running_var", "num_batches_tracked"})
_REGISTERED_BUFFER = re.compile(r"""register_buffer\(\s*(?:name\s*=\s*)?["'](\w+)["']""")
_BUFFER_ASSIGNMENT = re.compile(r"\.(\w+)\s*=\s*(?:torch\.)?(?:nn\.)?Buffer\(")


class CloneDetachOrder(Rule):
    """## What it does
    Flags `x.clone().detach()` on anything not provably a non-tensor. Off by default.

    Not flagged where `clone()` records nothing in autograd, so the order does not
    matter: on `.data`, on buffers (names registered with `self.register_buffer` or
    assigned an `nn.Buffer` in the class, and `running_mean`, `running_var`,
    `num_batches_tracked`), and under `torch.no_grad()` / `torch.inference_mode()`.

    ## Why is this bad?
    `clone()` first records the copy in the autograd graph, and `detach()` then throws
    that record away: a wasted graph node and, for a tensor that requires grad, extra
    memory held until the graph is freed. `x.detach().clone()` gives the same tensor
    without it, and is what PyTorch's own copy-construct warning now recommends.

    ## Example
    ```python
    y = x.clone().detach()
    ```

    ## Use instead
    ```python
    y = x.detach().clone()
    ```

    ## Fix safety
    The fix swaps the two calls, keeping `clone()`'s arguments (such as
    `memory_format=`). The result has the same values, dtype, device, layout and
    `requires_grad=False`, so the fix is safe.
    """

    code = "TL403"
    name = "clone-detach-order"
    summary = "`x.clone().detach()`: detach first, then clone"
    severity = Severity.INFO
    default_enabled = False
    fix_applicability = Applicability.SAFE

    def __init__(self, ctx, options, sink) -> None:
        super().__init__(ctx, options, sink)
        self._buffers: dict[cst.ClassDef, frozenset[str]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "detach") or node.args:
            return
        inner = func.value
        if not (
            isinstance(inner, cst.Call)
            and isinstance(inner.func, cst.Attribute)
            and inner.func.attr.value == "clone"
            and not any(arg.star for arg in inner.args)
        ):
            return
        receiver = inner.func.value
        if self.ctx.tensor_kind(receiver) is Ternary.NO:
            return
        if self._nothing_recorded(receiver):
            return
        new = keep_parentheses(node, call_method(call_method(receiver, "detach"), "clone", inner.args))
        self.report(
            node,
            "`.clone().detach()` records a needless copy in autograd; use `.detach().clone()`",
            self.replace(node, new, "Replace with `.detach().clone()`"),
        )

    def _nothing_recorded(self, receiver: cst.BaseExpression) -> bool:
        """`clone()` records nothing in autograd here: the receiver is `.data` or a buffer,
        or autograd is off."""
        if self.ctx.grad.grad_disabled():
            return True
        if not isinstance(receiver, cst.Attribute):
            return False
        attr = receiver.attr.value
        if attr == "data" or attr in _LAYER_BUFFERS:
            return True
        return attr in self._buffers_of_self(receiver.value)

    def _buffers_of_self(self, owner: cst.BaseExpression) -> frozenset[str]:
        """Buffer names of the class whose method this is, when `owner` is its `self`."""
        method = self.ctx.scopes.enclosing_method()
        if method is None or not isinstance(owner, cst.Name) or owner.value != self_parameter(method[1]):
            return frozenset()
        cls = method[0]
        names = self._buffers.get(cls)
        if names is None:
            text = self.ctx.code_for(cls)
            names = frozenset(_REGISTERED_BUFFER.findall(text)) | frozenset(_BUFFER_ASSIGNMENT.findall(text))
            self._buffers[cls] = names
        return names
