"""TL507: `InstanceNorm*d` constructed without an explicit `affine`."""

from __future__ import annotations

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.calls import UNKNOWN, call_argument, callee_name

_NAMES = frozenset(f"{kind}{d}" for d in ("1d", "2d", "3d") for kind in ("InstanceNorm", "LazyInstanceNorm"))


class InstanceNormImplicitAffine(Rule):
    """## What it does
    Flags `nn.InstanceNorm1d/2d/3d` (and the lazy forms) constructed without an
    explicit `affine=` (neither by keyword nor by position).

    ## Why is this bad?
    Unlike `BatchNorm*d` (and `GroupNorm`, `LayerNorm`), `InstanceNorm*d` defaults to
    `affine=False`: it has no learnable scale and shift, and
    `track_running_stats=False`. Code that swaps `BatchNorm2d` for `InstanceNorm2d`
    (style transfer, GAN generators) often silently loses the affine parameters it
    expected. Spelling out `affine=True` or `affine=False` documents the choice.

    Off by default: `affine=False` is a legitimate choice, and the rule only asks for it
    to be explicit.

    ## Example
    ```python
    norm = nn.InstanceNorm2d(64)
    ```

    ## Use instead
    ```python
    norm = nn.InstanceNorm2d(64, affine=True)
    ```

    ## Fix safety
    There is no fix: whether the parameters are wanted is the author's choice (adding
    `affine=False` would keep the behaviour but also the possible mistake).
    """

    code = "TL507"
    name = "instance-norm-implicit-affine"
    summary = "`InstanceNorm*d` without an explicit `affine=` (its default, False, differs from BatchNorm's)"
    default_enabled = False

    def visit_Call(self, node: cst.Call) -> None:
        name = callee_name(node.func)
        if name not in _NAMES or self.ctx.modules.torch_nn_class(node.func) != name:
            return
        index = 2 if name.startswith("Lazy") else 3
        if call_argument(node, index, "affine") is not None:
            return  # given, or possibly given through *args/**kwargs
        self.report(
            node,
            f"`{name}` without `affine=`: unlike BatchNorm it defaults to `affine=False` (no learnable scale and "
            f"shift); pass `affine=True` or `affine=False` explicitly",
        )
