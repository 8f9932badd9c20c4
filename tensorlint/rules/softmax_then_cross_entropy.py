"""TL202: cross-entropy computed on a softmax output instead of on logits."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.base import Rule
from tensorlint.semantics.calls import callee_name
from tensorlint.rules.fixes import keep_parentheses, unparenthesize_for_argument
from tensorlint.semantics.dataflow import (
    SIGMOID,
    SOFTMAX,
    argument,
    describe_origin,
    loss_call_shape,
    loss_on_activation,
)

CE_FUNCTION = "torch.nn.functional.cross_entropy"
CE_MODULE = "torch.nn.CrossEntropyLoss"


class SoftmaxThenCrossEntropy(Rule):
    """## What it does
    Flags `F.cross_entropy` and `nn.CrossEntropyLoss` whose input (the first
    argument, not the target) is the output of a softmax (`F.softmax`,
    `torch.softmax`, `torch.special.softmax`, `x.softmax(dim)`, or an `nn.Softmax`
    module), written inline or assigned to a local variable first in the same
    function. A sigmoid output fed to these losses is flagged too: it is just as
    much a probability, and as wrong. The loss may be called directly or through a loss object bound to a
    local name or to `self.<attr>` whose every assignment is `nn.CrossEntropyLoss(...)`.
    A softmax passed as the *target* (soft labels, distillation) is fine and not
    flagged.

    ## Why is this bad?
    `cross_entropy` expects unnormalised logits: it applies `log_softmax` itself.
    Feeding it probabilities applies softmax twice. The result is a different, much
    flatter loss: its inputs are squashed into [0, 1], so even a perfect prediction
    keeps a large loss, and the gradients shrink, which slows or stalls training
    without any error.

    ## Example
    ```python
    loss = F.cross_entropy(F.softmax(logits, dim=1), labels)

    probs = logits.softmax(-1)
    loss = nn.CrossEntropyLoss()(probs, labels)
    ```

    ## Use instead
    ```python
    loss = F.cross_entropy(logits, labels)
    probs = logits.softmax(-1)  # if the probabilities are needed elsewhere
    ```

    ## Fix safety
    A softmax held in a variable is reported without a fix, since other code may use
    the probabilities. An inline softmax that takes only its input and `dim` gets an
    unsafe fix that removes it: the loss becomes the one the author meant, but its
    values and gradients change, so training results change and need review.
    """

    code = "TL202"
    name = "softmax-then-cross-entropy"
    summary = "Cross-entropy on a `softmax` output; it applies log-softmax itself, pass the logits"
    fix_applicability = Applicability.UNSAFE

    def __init__(self, *args) -> None:
        super().__init__(*args)
        # Calls of possible loss objects are only worth the file-wide value analysis when
        # the file builds the loss class somewhere; until one is seen they wait here.
        self._loss_built = False
        self._waiting: list = []

    def visit_Call(self, node: cst.Call) -> None:
        if not self._loss_built and callee_name(node.func) == "CrossEntropyLoss":
            self._loss_built = True

    def leave_Call(self, node: cst.Call) -> None:
        # after the arguments: an inline `nn.BCELoss()(...)` has been seen by then
        shape = loss_call_shape(self.ctx, node, CE_FUNCTION)
        if shape is None:
            return
        if shape == "object" and not self._loss_built:
            self._waiting.append(node)
            return
        self._check(node, shape)

    def leave_Module(self, node: cst.Module) -> None:
        if self._loss_built:
            for call in self._waiting:
                self._check(call, "object")
        self._waiting = []

    def _check(self, node: cst.Call, shape: str) -> None:
        found = loss_on_activation(self.ctx, node, CE_FUNCTION, CE_MODULE, shape)
        if found is None:
            return
        arg, value, consumer = found.arg, found.value, found.consumer
        what = f"a {value.activation} output" if value.activation in (SOFTMAX, SIGMOID) else "a probability"
        loss = "cross_entropy" if consumer == "function" else "CrossEntropyLoss"
        message = (
            f"`{loss}` is applied to {what}{describe_origin(self.ctx, found)}, "
            "but it applies log-softmax itself; "
            "pass the logits instead"
        )
        fix = None
        if found.inline and value.activation == SOFTMAX:
            fix = self._fix(node, arg, value.form)
        self.report(node, message, fix)

    def _fix(self, node: cst.Call, arg: cst.Arg, form: str):
        softmax = arg.value
        assert isinstance(softmax, cst.Call)
        if form == "function":
            logits = argument(softmax, 0, "input")
            allowed = 2
        elif form == "method" and isinstance(softmax.func, cst.Attribute):
            logits = cst.Arg(softmax.func.value)
            allowed = 1
        else:
            return None
        if logits is None or len(softmax.args) > allowed:
            return None
        for extra in softmax.args:
            if extra.keyword is not None and extra.keyword.value not in ("input", "dim"):
                return None  # dtype= or _stacklevel: do not drop silently
        value = unparenthesize_for_argument(logits.value)
        args = [a.with_changes(value=value) if a is arg else a for a in node.args]
        new = keep_parentheses(node, node.with_changes(args=args))
        return self.replace(node, new, "Remove the softmax and pass the logits")
