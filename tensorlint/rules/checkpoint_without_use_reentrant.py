"""TL306: `torch.utils.checkpoint.checkpoint` without an explicit `use_reentrant`."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.base import Rule
from tensorlint.rules.fixes import append_argument, keyword_arg
from tensorlint.semantics.calls import callee_name

_CHECKPOINT = "torch.utils.checkpoint.checkpoint"


class CheckpointWithoutUseReentrant(Rule):
    """## What it does
    Flags calls to `torch.utils.checkpoint.checkpoint` that do not pass `use_reentrant`.
    Calls with `**kwargs` are skipped, as they may carry it.

    ## Why is this bad?
    Since torch 2.4 leaving `use_reentrant` out warns on every call, and the default
    (`True`, the reentrant variant) is the one PyTorch recommends against: it does not
    support keyword arguments to the checkpointed function, computes no gradients for
    parameters when no input requires grad, and does not work with `torch.autograd.grad`.
    PyTorch plans to change the default, so code that relies on it will change behaviour.

    ## Example
    ```python
    out = torch.utils.checkpoint.checkpoint(block, x)
    ```

    ## Use instead
    ```python
    out = torch.utils.checkpoint.checkpoint(block, x, use_reentrant=False)
    ```

    ## Fix safety
    The fix appends `use_reentrant=False`, as TorchFix's TOR003 does. It is marked
    unsafe: the non-reentrant variant is the recommended one, but it is not the same
    computation in every case (it records a different autograd graph, runs hooks at other
    times, and produces parameter gradients where the reentrant variant produced none
    because no input required grad). Review the change, then apply with `--unsafe-fixes`.
    """

    code = "TL306"
    name = "checkpoint-without-use-reentrant"
    summary = "`torch.utils.checkpoint.checkpoint` without an explicit `use_reentrant`"
    fix_applicability = Applicability.UNSAFE

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        last = callee_name(func)
        if last != "checkpoint" or self.ctx.qualified_name(func) != _CHECKPOINT:
            return
        for arg in node.args:
            if arg.star == "**":
                return
            if arg.keyword is not None and arg.keyword.value == "use_reentrant":
                return
        new = append_argument(node, keyword_arg("use_reentrant", cst.Name("False")))
        self.report(
            node,
            "`checkpoint` without `use_reentrant` warns and uses the reentrant variant; pass `use_reentrant=False`",
            self.replace(node, new, "Pass `use_reentrant=False`"),
        )
