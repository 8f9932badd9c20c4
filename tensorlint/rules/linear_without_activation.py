"""TL505: two Linear layers in a row in `nn.Sequential` with no activation between them."""

from __future__ import annotations

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.layer_chain import sequential_chain


class LinearWithoutActivation(Rule):
    """## What it does
    Flags an `nn.Linear` that directly follows another `nn.Linear` in one
    `nn.Sequential(...)`, with nothing between them but dropout.

    ## Why is this bad?
    The composition of two affine maps is one affine map: `W2 (W1 x + b1) + b2`. The
    extra layer adds parameters and compute but no expressive power, which usually means
    an activation (`nn.ReLU()`, `nn.GELU()`) was forgotten. A deliberate low-rank
    factorization (`Linear(d, r)` then `Linear(r, d)` with small `r`) is the exception;
    suppress the line there.

    Off by default: on real code most such pairs are deliberate (teaching notebooks that
    build a linear baseline on purpose, benchmark stubs, tests): 4 of 23 findings on
    the measured corpus were unintended.

    ## Example
    ```python
    mlp = nn.Sequential(
        nn.Linear(784, 256),
        nn.Linear(256, 10),
    )
    ```

    ## Use instead
    ```python
    mlp = nn.Sequential(
        nn.Linear(784, 256),
        nn.ReLU(),
        nn.Linear(256, 10),
    )
    ```

    ## Fix safety
    There is no fix: which activation is meant is the author's choice.
    """

    code = "TL505"
    name = "linear-without-activation"
    summary = "Two `Linear` layers in a `Sequential` with no activation between them (one affine map)"
    default_enabled = False  # measured precision on real training code below 90% (see README)

    def visit_Call(self, node: cst.Call) -> None:
        steps = sequential_chain(self.ctx, node)
        if not steps:
            return
        previous = None
        for step in steps:
            layer = step.layer
            if layer is not None and layer.name == "Linear":
                if previous is not None:
                    self.report(
                        step.node,
                        "`Linear` follows another `Linear` with no activation between them: two affine maps "
                        "make one; add an activation (`nn.ReLU()`, `nn.GELU()`) if one was meant",
                    )
                previous = step
            elif step.family != "dropout":
                previous = None
