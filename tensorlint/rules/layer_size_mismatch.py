"""TL501: a Linear/Conv layer whose input size differs from the output size of the layer feeding it."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Severity
from tensorlint.rules.base import Rule
from tensorlint.rules.norm_features_mismatch import _binding_counts, _names_in, _provably_different
from tensorlint.semantics.dataflow import local_values
from tensorlint.semantics.layer_chain import (
    SHAPE_KEEPING,
    Step,
    forward_block_chains,
    input_size,
    sequential_chain,
)
from tensorlint.semantics.modules import literal_int


class LayerSizeMismatch(Rule):
    """## What it does
    Follows the static shape chain of a model and flags a layer whose input size
    provably differs from the output size of the layer feeding it:
    - `Linear(a, b)` followed by `Linear(c, d)` with `b != c` (an `Embedding`'s
      `embedding_dim` feeds a `Linear` the same way);
    - `Conv*d`/`ConvTranspose*d` whose `in_channels` differs from the previous
      convolution's `out_channels`.

    Two places are read: the layers of one `nn.Sequential(...)` (positional layers, a
    `*[...]` list, a list variable bound once, an `OrderedDict`), and straight-line
    statements of `forward` (`x = self.fc1(x)` directly followed by `x = self.fc2(x)` or
    `return self.fc2(x)`, or nested calls `self.fc2(F.relu(self.fc1(x)))`), where each
    `self.<attr>` is assigned exactly once in the class, in `__init__`. A nested
    `nn.Sequential(...)`, and in `forward` an attribute holding one written with plain
    positional layers (`x = self.features(x)` then `x = self.head(x)`), counts as its
    layers in order.

    Layers that keep the size may sit between the two: activations, dropout and
    normalization layers (also `F.relu` and the like in `forward`), and for convolutions
    pooling, padding and upsampling. Anything else between them (a `view`, a `Flatten`,
    an unknown module, any other statement touching the tensor) ends the chain.

    Sizes may be literals (or a local name bound only to one), names, or `+`, `-` and
    multiplication by a constant on them (`4 * d` is `d * 4`). They are reported only
    when they differ for every positive value of the names in them: `256` against `128`,
    `hidden` against `2 * hidden`; two different names may well be equal and are not
    reported. In `forward`, every name in the sizes must be bound once in `__init__`.
    Lazy layers infer their input size and are never reported.

    ## Why is this bad?
    The model fails with `RuntimeError: mat1 and mat2 shapes cannot be multiplied` (or
    `expected input[...] to have 64 channels, but got 32 channels instead`) the first
    time a batch reaches the layer, which may be late in a run or on a code path that
    tests do not cover; often one size was edited and the other was not.

    ## Example
    ```python
    head = nn.Sequential(
        nn.Linear(512, 256),
        nn.ReLU(),
        nn.Linear(128, 10),
    )
    ```

    ## Use instead
    ```python
    head = nn.Sequential(
        nn.Linear(512, 256),
        nn.ReLU(),
        nn.Linear(256, 10),
    )
    ```

    ## Fix safety
    There is no fix: either size may be the wrong one.
    """

    code = "TL501"
    name = "layer-size-mismatch"
    summary = "Linear/Conv input size differs from the output size of the layer feeding it"
    severity = Severity.ERROR

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self._bindings: dict = {}

    def visit_Call(self, node: cst.Call) -> None:
        steps = sequential_chain(self.ctx, node)
        if steps:
            self._chain(steps, self._local_literal, in_forward=False)

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        for steps in forward_block_chains(self.ctx, node):
            self._chain(steps, None, in_forward=True)

    def _chain(self, steps: list[Step], resolve, in_forward: bool) -> None:
        producer: Step | None = None
        for step in steps:
            layer = step.layer
            family = step.family
            if layer is not None and family in ("conv", "linear", "embedding"):
                if producer is not None and family != "embedding":
                    self._compare(producer, step, resolve, in_forward)
                producer = step
                continue
            if family in SHAPE_KEEPING:
                continue
            if family == "keeps-channels" and producer is not None and producer.family == "conv":
                continue
            producer = None

    def _compare(self, producer: Step, consumer: Step, resolve, in_forward: bool) -> None:
        made, taking = producer.layer, consumer.layer
        if taking.family == "conv":
            if made.family != "conv" or made.ndim != taking.ndim:
                return
        elif taking.name != "Linear" or made.family not in ("linear", "embedding"):
            return
        out, wanted = made.out, input_size(taking)
        if out is None or wanted is None:
            return
        if in_forward and not (self._stable(out) and self._stable(wanted)):
            return
        if not _provably_different(out, wanted, resolve):
            return
        unit = "channels" if taking.family == "conv" else "features"
        out_text = self._size_text(out)
        wanted_text = self._size_text(wanted)
        if in_forward:
            message = (
                f"`{consumer.describe(self.ctx)}` (`{taking.name}`) expects {wanted_text} input {unit}, but it is "
                f"applied to the output of `{producer.describe(self.ctx)}` (`{made.name}`), which has "
                f"{out_text}; make the two sizes agree"
            )
        else:
            message = (
                f"`{taking.name}` expects {wanted_text} input {unit}, but the `{made.name}` before it in this "
                f"`Sequential` outputs {out_text}; make the two sizes agree"
            )
        self.report(consumer.node, message)

    def _size_text(self, expr: cst.BaseExpression) -> str:
        value = literal_int(expr)
        return str(value) if value is not None else f"`{self.ctx.code_for(expr)}`"

    def _local_literal(self, name: cst.Name) -> int | None:
        values = local_values(self.ctx, name)
        if not values:
            return None
        found = {literal_int(value) for value in values}
        return found.pop() if len(found) == 1 else None

    def _stable(self, expr: cst.BaseExpression) -> bool:
        """Every name in a size is bound once in `__init__` (a parameter or one assignment)."""
        names = list(_names_in(expr))
        if not names:
            return True
        method = self.ctx.module_method()
        init = self.ctx.modules.methods(method.cls).get("__init__") if method else None
        if init is None:
            return False
        counts = self._bindings.get(init)
        if counts is None:
            counts = self._bindings[init] = _binding_counts(init)
        return all(counts.get(name, 0) == 1 for name in names)
