"""TL308: the deprecated `ToTensor` of `torchvision.transforms.v2`."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.base import FixSpec, Rule
from tensorlint.semantics.calls import callee_name

_DEPRECATED = {
    "torchvision.transforms.v2.ToTensor": (
        "`v2.ToTensor` is deprecated; use `v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])`"
    ),
    "torchvision.transforms.v2.functional.to_tensor": (
        "`v2.functional.to_tensor` is deprecated; use `to_image(...)` followed by "
        "`to_dtype(..., torch.float32, scale=True)`"
    ),
}
_HINT = "v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])"


class TorchvisionV2ToTensor(Rule):
    """## What it does
    Flags calls of `torchvision.transforms.v2.ToTensor` and
    `torchvision.transforms.v2.functional.to_tensor`, under any import style. The v1
    `torchvision.transforms.ToTensor` is not flagged.

    ## Why is this bad?
    torchvision deprecated both in the v2 API (they warn on every construction or call)
    and will remove them. `ToTensor` mixes two steps that v2 keeps apart: converting to
    an image tensor and rescaling `uint8` to `[0, 1]` floats; the v2 pipeline spells
    them out as `ToImage` and `ToDtype(..., scale=True)`.

    ## Example
    ```python
    from torchvision.transforms import v2

    transform = v2.Compose([v2.RandomHorizontalFlip(), v2.ToTensor()])
    ```

    ## Use instead
    ```python
    import torch
    from torchvision.transforms import v2

    transform = v2.Compose([v2.RandomHorizontalFlip(), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    ```

    ## Fix safety
    The fix for `v2.ToTensor()` is display-only: it shows the replacement
    `v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])`, which needs
    `torch` and the `v2` module bound in the file, and whose result is an `Image` tensor
    subclass rather than a plain tensor. It is never applied.
    """

    code = "TL308"
    name = "torchvision-v2-to-tensor"
    summary = "Deprecated `torchvision.transforms.v2.ToTensor`; use `ToImage` + `ToDtype(scale=True)`"
    fix_applicability = Applicability.DISPLAY

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        name = callee_name(func)
        if name not in ("ToTensor", "to_tensor"):
            return  # cheap test first
        qualname = self.ctx.qualified_name(func)
        message = _DEPRECATED.get(qualname) if qualname else None
        if message is None:
            return
        fix = None
        if name == "ToTensor" and not node.args:
            hint = cst.parse_expression(_HINT)
            fix = FixSpec(Applicability.DISPLAY, f"Replace with `{_HINT}`", ((node, hint),))
        self.report(node, message, fix)
