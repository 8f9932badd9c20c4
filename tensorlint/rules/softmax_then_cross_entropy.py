"""TL202: cross-entropy computed on a softmax output instead of on logits."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.loss_input import LossInputRule
from tensorlint.rules.fixes import keep_parentheses, unparenthesize_for_argument
from tensorlint.semantics.dataflow import (
    SIGMOID,
    SOFTMAX,
    argument,
    describe_origin,
    loss_on_activation,
)

CE_FUNCTION = "torch.nn.functional.cross_entropy"
CE_MODULE = "torch.nn.CrossEntropyLoss"


class SoftmaxThenCrossEntropy(LossInputRule):
    """## What it does
    Flags `F.cross_entropy` and `nn.CrossEntropyLoss` whose input (the first
    argument, not the target) holds a probability: the output of a softmax
    (`F.softmax`, `torch.softmax`, `torch.special.softmax`, `x.softmax(dim)`, an
    `nn.Softmax` module, or `exp(log_softmax(x))`) or of a sigmoid. The value is
    followed the way training code passes it around:
    - through local names and re-bindings of the same name
      (`y = torch.softmax(y, 1)`), when every binding that can reach the loss is one,
      and through shape-only methods (`.view(-1)`, `.squeeze()`, `.float()`, indexing);
    - out of a model: a call of an `nn.Sequential` whose last layer is `nn.Softmax`,
      of a module class of the file whose every `forward` return is a softmax output
      (also `self(x)` in a LightningModule's `training_step`, `model.forward(x)`,
      `nn.DataParallel(model)`, `model.to(device)`), whether the model is a local, a
      module-level name or a `self.` attribute;
    - out of a `forward` or helper that returns a tuple (`validity, labels =
      self.discriminator(x)` with `return validity, labels`), and row by row
      (`for out in probs:`);
    - out of a helper function of the file whose every `return` is a softmax output;
    - from another file of the project, when the project index knows what the model
      or function returns.
    The loss may be called directly, through a method of the class whose whole body
    returns the loss of its first parameter (`self.auxiliary_loss(pred, labels)`), or
    through a loss object bound to a local name, a module-level name or
    `self.<attr>` (also from a constructor's default argument that no call in the
    file overrides), whose every possible value is
    `nn.CrossEntropyLoss(...)`.
    Not flagged: a softmax passed as the *target* (soft labels, distillation),
    `log_softmax` outputs (into `nll_loss` or `cross_entropy`), a model that ends in
    `nn.Softmax` but whose output never reaches the loss, and any value one of whose
    possible origins is unknown.

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
    A softmax held in a variable, or coming from a model or helper, is reported
    without a fix, since other code may use the probabilities. An inline softmax that takes only its input and `dim` gets an
    unsafe fix that removes it: the loss becomes the one the author meant, but its
    values and gradients change, so training results change and need review.
    """

    code = "TL202"
    loss_function = CE_FUNCTION
    loss_class_name = "CrossEntropyLoss"
    name = "softmax-then-cross-entropy"
    summary = "Cross-entropy on a `softmax` output; it applies log-softmax itself, pass the logits"
    fix_applicability = Applicability.UNSAFE

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
