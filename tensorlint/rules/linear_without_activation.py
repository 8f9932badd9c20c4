"""TL505: two Linear layers in a row in `nn.Sequential` with no activation between them."""

from __future__ import annotations

import re

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.intent import inline_comments, statement_comments
from tensorlint.semantics.layer_chain import sequential_chain

# A comment saying the stack is linear on purpose.
_SAYS_LINEAR = re.compile(
    r"\blinear\s+(?:model|baseline|classifier|regression|regressor|probe|network|net|map)\b|"
    r"\bno\s+(?:activation|non-?linearit)|\blow[- ]rank\b|\bfactori[sz]",
    re.IGNORECASE,
)


class LinearWithoutActivation(Rule):
    """## What it does
    Flags an `nn.Linear` that directly follows another `nn.Linear` in one
    `nn.Sequential(...)`, with nothing between them but dropout.

    ## Why is this bad?
    The composition of two affine maps is one affine map: `W2 (W1 x + b1) + b2`. The
    extra layer adds parameters and compute but no expressive power, which usually means
    an activation (`nn.ReLU()`, `nn.GELU()`) was forgotten. A deliberate low-rank
    factorization (`Linear(d, r)` then `Linear(r, d)` with small `r`) is the exception;
    suppress the line there. Not flagged: a `Sequential` whose statement carries a
    comment saying it is linear on purpose ("linear model", "linear baseline", "no
    activation", "low-rank", "factorization"), above it, at its end or inside the call.

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
        comments = statement_comments(self.ctx.guards.statement) + inline_comments(node)
        if any(_SAYS_LINEAR.search(c) for c in comments):
            return  # "our linear model", "linear baseline": built without activations on purpose
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
