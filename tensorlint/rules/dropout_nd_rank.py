"""TL508: `Dropout2d`/`Dropout3d` applied to a tensor of the wrong rank (right after a `Linear` or a lower-dimensional conv)."""

from __future__ import annotations

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.layer_chain import forward_block_chains, sequential_chain, Step

_RANK = {"Dropout1d": 1, "Dropout2d": 2, "Dropout3d": 3}


class DropoutNdRank(Rule):
    """## What it does
    Flags `nn.Dropout2d`/`nn.Dropout3d` fed the output of an `nn.Linear`, and
    `nn.Dropout1d/2d/3d` fed the output of a convolution or pooling layer of another
    dimensionality (`Conv1d` then `Dropout2d`), with only activations between them, in
    one `nn.Sequential(...)` or in straight-line `x = self.a(x)` / `x = self.b(x)`
    statements of `forward` (each attribute assigned once, in `__init__`).

    ## Why is this bad?
    `DropoutNd` zeroes whole channels: it expects `(N, C, *spatial)` (or unbatched
    `(C, *spatial)`) with `N` spatial dimensions. On any other rank torch 2.x warns, and
    what it does is not channel dropout of the intended kind: after a `Linear` (output
    `(N, features)`), `Dropout2d` is deprecated and for now acts as plain dropout (a
    future release makes it an error), on `(N, L, features)` it drops whole positions,
    and `Dropout3d` takes the batch as channels and drops whole samples; `Dropout2d` on
    a `Conv1d` output acts as `Dropout1d` only until torch changes it to read the input
    as unbatched, and `Dropout1d` on a 4-D tensor raises. Use `nn.Dropout` after
    `Linear`, and the dropout matching the convolution's dimensionality after a
    convolution.

    ## Example
    ```python
    head = nn.Sequential(nn.Linear(512, 256), nn.ReLU(), nn.Dropout2d(0.5))
    ```

    ## Use instead
    ```python
    head = nn.Sequential(nn.Linear(512, 256), nn.ReLU(), nn.Dropout(0.5))
    ```

    ## Fix safety
    There is no fix: which dropout was meant (element-wise, or channel-wise of another
    rank) is the author's choice.
    """

    code = "TL508"
    name = "dropout-nd-rank"
    summary = "`Dropout2d`/`Dropout3d` after a `Linear`, or a channel dropout of another rank than the conv before it"

    def visit_Call(self, node: cst.Call) -> None:
        steps = sequential_chain(self.ctx, node)
        if steps:
            self._chain(steps)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        for steps in forward_block_chains(self.ctx, node):
            self._chain(steps)

    def _chain(self, steps: list[Step]) -> None:
        source: Step | None = None
        for step in steps:
            layer = step.layer
            family = step.family
            if layer is not None and (layer.name == "Linear" or family in ("conv", "keeps-channels")):
                source = step if (layer.name == "Linear" or layer.ndim is not None) else None
                continue
            if layer is not None and layer.name in _RANK and source is not None:
                rank = _RANK[layer.name]
                made = source.layer
                if made.name == "Linear":
                    if rank >= 2:
                        self.report(
                            step.node,
                            f"`{layer.name}` applied to the output of {_what(self.ctx, source)}: it drops whole "
                            f"channels of an input with {rank} spatial dimensions, and a `Linear` output has none "
                            f"(torch warns; the units dropped are not channels); use `nn.Dropout`",
                        )
                elif made.ndim != rank:
                    self.report(
                        step.node,
                        f"`{layer.name}` applied to the output of {_what(self.ctx, source)}: it expects {rank} "
                        f"spatial dimensions but gets {made.ndim}; use `nn.Dropout{made.ndim}d`",
                    )
                source = None
                continue
            if family == "activation":
                continue
            source = None


def _what(ctx, step: Step) -> str:
    if step.attr is not None:
        return f"`{step.describe(ctx)}` (`{step.layer.name}`)"
    return f"the `{step.layer.name}` before it"
