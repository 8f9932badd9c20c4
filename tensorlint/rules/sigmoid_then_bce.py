"""TL201: binary cross-entropy computed on a sigmoid output instead of on logits."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.loss_input import LossInputRule
from tensorlint.rules.fixes import keep_parentheses, unparenthesize_for_argument
from tensorlint.semantics.dataflow import (
    SOFTMAX,
    describe_origin,
    loss_on_activation,
    sibling_function,
)

BCE_FUNCTION = "torch.nn.functional.binary_cross_entropy"
BCE_MODULE = "torch.nn.BCELoss"


class SigmoidThenBce(LossInputRule):
    """## What it does
    Flags `F.binary_cross_entropy` and `nn.BCELoss` applied to the output of a sigmoid
    (`torch.sigmoid`, `F.sigmoid`, `torch.special.expit`, `x.sigmoid()`, or an
    `nn.Sigmoid` module). The value is followed the way training code passes it around:
    - through local names and re-bindings of the same name, when every binding that
      can reach the loss is a sigmoid output, and through shape-only methods
      (`.view(-1)`, `.squeeze()`, `.float()`, indexing);
    - out of a model: a call of an `nn.Sequential` whose last layer is `nn.Sigmoid`
      (the usual GAN discriminator), or of a module class of the file whose every
      `forward` return is a sigmoid output, such as `return self.model(x)` with
      `self.model` such a Sequential (also `self(x)`, `model.forward(x)`,
      `nn.DataParallel(model)`, `model.to(device)`), whether the model is a local, a
      module-level name or a `self.` attribute;
    - out of a `forward` or helper that returns a tuple (`validity, labels =
      self.discriminator(x)` with `return validity, labels`), and row by row
      (`for out in probs:`);
    - out of a helper function of the file whose every `return` is a sigmoid output;
    - from another file of the project, when the project index says the model or
      function returns a probability.
    The loss may be called directly, through a method of the class whose whole body
    returns the loss of its first parameter (`self.adversarial_loss(validity, valid)`),
    or through a loss object bound to a local name, a module-level name
    (`criterion = nn.BCELoss()` above the training loop) or `self.<attr>` (also from
    a constructor's default argument that no call in the file overrides), whose
    every possible value is `nn.BCELoss(...)`.
    Not flagged: `BCEWithLogitsLoss` on logits, a model whose `forward` returns logits
    in some branch, and any value or loss object one of whose possible origins is
    unknown.

    ## Why is this bad?
    Computing `sigmoid` and then `log` separately loses precision: for large logits
    the sigmoid rounds to exactly 0 or 1, the log becomes `-inf`, and
    `binary_cross_entropy` clamps it to -100, so confidently wrong predictions get a
    capped loss and a vanishing gradient. `binary_cross_entropy_with_logits` (and
    `nn.BCEWithLogitsLoss`) fuse the two with the log-sum-exp trick and stay exact.
    `F.binary_cross_entropy` is also rejected under `torch.autocast`, while the
    logits version is autocast-safe.

    ## Example
    ```python
    loss = F.binary_cross_entropy(torch.sigmoid(logits), target)

    probs = logits.sigmoid()
    loss = nn.BCELoss()(probs, target)
    ```

    ## Use instead
    ```python
    loss = F.binary_cross_entropy_with_logits(logits, target)
    loss = nn.BCEWithLogitsLoss()(logits, target)
    ```

    ## Fix safety
    A fix is offered only when the sigmoid is written inline as the loss input and
    takes nothing but the logits, and the loss is `F.binary_cross_entropy(...)` or an
    inline `nn.BCELoss(...)(...)`. It drops the sigmoid and switches to
    `binary_cross_entropy_with_logits` / `BCEWithLogitsLoss`. The two signatures share
    their leading parameters (`input, target, weight, size_average, reduce,
    reduction`), and `weight` and `reduction` mean the same in both, so every argument
    carries over unchanged.
    The fix is nevertheless unsafe: it changes the loss values and gradients wherever
    the sigmoid saturated (the -100 clamp disappears), which is the point of the change
    but alters training results and logged loss curves, so it needs review. A sigmoid
    output held in a variable or a loss object held in a name is reported without a
    fix: other code may use them.
    """

    code = "TL201"
    loss_function = BCE_FUNCTION
    loss_class_name = "BCELoss"
    name = "sigmoid-then-bce"
    summary = "Binary cross-entropy on a `sigmoid` output; use `binary_cross_entropy_with_logits`"
    fix_applicability = Applicability.UNSAFE

    def _check(self, node: cst.Call, shape: str) -> None:
        found = loss_on_activation(self.ctx, node, BCE_FUNCTION, BCE_MODULE, shape)
        if found is None or found.activation == SOFTMAX:
            return  # a softmax into BCE is another mistake; a probability from another file may be either
        if found.activation is None and found.value.origin is None:
            return
        arg, consumer = found.arg, found.consumer
        via = describe_origin(self.ctx, found)
        what = "a sigmoid output" if found.activation is not None else "a probability"
        if consumer == "function":
            message = (
                f"`binary_cross_entropy` is applied to {what}{via}, which saturates and loses "
                "precision; pass the logits to `binary_cross_entropy_with_logits` instead"
            )
        else:
            message = (
                f"`BCELoss` is applied to {what}{via}, which saturates and loses precision; "
                "pass the logits to `BCEWithLogitsLoss` instead"
            )
        fix = None
        if found.inline:
            fix = self._fix(node, arg, found.value.form, consumer)
        self.report(node, message, fix)

    def _fix(self, node: cst.Call, arg: cst.Arg, form: str, consumer: str):
        logits = _sigmoid_input(arg.value, form)  # type: ignore[arg-type]
        if logits is None:
            return None
        if consumer == "function":
            func = sibling_function(self.ctx, node.func, BCE_FUNCTION, "binary_cross_entropy_with_logits")
            if func is None:
                return None
            new_func: cst.BaseExpression = func
        else:
            if not isinstance(node.func, cst.Call):
                return None  # a loss object held in a name: other calls may use it
            ctor = sibling_function(self.ctx, node.func.func, BCE_MODULE, "BCEWithLogitsLoss")
            if ctor is None:
                return None
            new_func = node.func.with_changes(func=ctor)
        args = [a.with_changes(value=unparenthesize_for_argument(logits)) if a is arg else a for a in node.args]
        new = node.with_changes(func=new_func, args=args)
        target = "binary_cross_entropy_with_logits" if consumer == "function" else "BCEWithLogitsLoss"
        return self.replace(node, keep_parentheses(node, new), f"Drop the sigmoid and use `{target}`")


def _sigmoid_input(call: cst.Call, form: str) -> cst.BaseExpression | None:
    """The logits of an inline `torch.sigmoid(z)` / `z.sigmoid()` that takes nothing else."""
    if form == "function":
        if len(call.args) != 1 or call.args[0].star:
            return None
        only = call.args[0]
        if only.keyword is not None and only.keyword.value != "input":
            return None
        return only.value
    if form == "method" and not call.args and isinstance(call.func, cst.Attribute):
        return call.func.value
    return None
