"""TL102: `training=True` / `train=True` hard-coded in dropout or batch_norm calls."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.base import Option, Rule
from tensorlint.semantics.dataflow import value_origins
from tensorlint.semantics.intent import mode_flag_explained

# qualified name -> (keyword of the flag, its position among positional arguments,
#                    position of running_mean or None)
FLAG_FUNCTIONS = {
    "torch.nn.functional.dropout": ("training", 2, None),
    "torch.nn.functional.dropout1d": ("training", 2, None),
    "torch.nn.functional.dropout2d": ("training", 2, None),
    "torch.nn.functional.dropout3d": ("training", 2, None),
    "torch.nn.functional.alpha_dropout": ("training", 2, None),
    "torch.nn.functional.feature_alpha_dropout": ("training", 2, None),
    "torch.dropout": ("train", 2, None),
    "torch.alpha_dropout": ("train", 2, None),
    "torch.feature_dropout": ("train", 2, None),
    "torch.feature_alpha_dropout": ("train", 2, None),
    "torch.nn.functional.batch_norm": ("training", 5, 1),
    "torch.batch_norm": ("training", 5, 3),
}
_LAST_NAMES = frozenset(q.rsplit(".", 1)[-1] for q in FLAG_FUNCTIONS)
# Calls that always build a new tensor: running statistics held in one are a throw-away
# temporary (views such as `.view()`, `.detach()` or `.to()` may share storage).
_FRESH_METHODS = frozenset(
    {"repeat", "repeat_interleave", "clone", "tile", "new_zeros", "new_ones", "new_full", "new_empty", "new_tensor", "mean", "sum"}
)
_FRESH_FUNCTIONS = frozenset(
    f"torch.{name}"
    for name in (
        "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like", "tensor", "cat",
        "stack", "repeat_interleave", "tile",
    )
)


class DropoutTrainingLiteralTrue(Rule):
    """## What it does
    Flags a dropout or batch-norm function call that hard-codes the mode flag to
    `True` (`F.dropout(x, p, training=True)`, `torch.dropout(x, p, train=True)`,
    `F.batch_norm(x, mean, var, training=True)`, by keyword or by position) inside a
    method of an `nn.Module` subclass, or anywhere autograd is switched off
    (`torch.no_grad()` / `torch.inference_mode()` blocks and decorators).

    `F.batch_norm` with `running_mean=None` is not flagged: without running
    statistics, `training=True` is the only way to normalise with batch statistics.
    Nor is one whose running statistics are throw-away temporaries
    (`self.running_mean.repeat(b)`, `torch.zeros(c)`, directly or through a local
    name), as in adaptive instance norm (AdaIN): the update lands in a copy, and
    `True` just asks for batch statistics. A call under a condition that tests the
    mode (`if self.training or not self.track_running_stats:`, `... if self.training
    else ...`) is mode-aware and not flagged either.

    ## Why is this bad?
    The flag pins the layer to training behaviour: `model.eval()` no longer turns the
    dropout off (or makes batch norm use its running statistics), so inference is noisy
    and validation scores are wrong; batch norm even keeps updating its running
    statistics on the evaluation data. Under `no_grad` the code is plainly inference
    code, where training behaviour is almost never wanted.

    Deliberate uses exist (Monte-Carlo dropout, Tacotron 2's pre-net, fairseq's
    `retain_dropout`). A call whose statement carries a comment about the mode (one
    mentioning training, eval, "deliberate", "intentional", or any of the
    always-on phrases TL101 honours: "always", Monte-Carlo or MC dropout, "even at
    inference time", ...), or whose enclosing function or class says dropout is always
    on (docstring, or a name like `MCDropout`, or Tacotron 2's `Prenet`), is taken as deliberate and not
    flagged; otherwise suppress with `# noqa: TL102` or the `ignore-functions` option.

    ## Example
    ```python
    class Net(nn.Module):
        def forward(self, x):
            return F.dropout(self.fc(x), p=0.1, training=True)
    ```

    ## Use instead
    ```python
    class Net(nn.Module):
        def forward(self, x):
            return F.dropout(self.fc(x), p=0.1, training=self.training)
    ```

    ## Fix safety
    Inside a module method the fix replaces `True` with `self.training`. It is unsafe:
    the hard-coded flag may be deliberate (see above). Outside module methods there is
    no fix.

    ## Options
    - `ignore-functions` (list of function names, default `[]`): functions or methods
      in which the flag is deliberate (e.g. `["noisy_predict"]`).
    """

    code = "TL102"
    name = "dropout-training-literal-true"
    summary = "`training=True` hard-coded in a dropout/batch_norm call in module or inference code"
    fix_applicability = Applicability.UNSAFE
    options = {
        "ignore-functions": Option([], list, "functions or methods where a hard-coded training flag is deliberate"),
    }

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            if func.attr.value not in _LAST_NAMES:
                return  # cheap test first
        elif not isinstance(func, cst.Name):
            return
        qualname = self.ctx.qualified_name(func)
        spec = FLAG_FUNCTIONS.get(qualname) if qualname else None
        if spec is None:
            return
        keyword, position, running_mean = spec
        flag_arg = None
        positional = 0
        mean_arg = var_arg = None
        for arg in node.args:
            if arg.star:
                return
            if arg.keyword is None:
                if positional == position:
                    flag_arg = arg
                if running_mean is not None and positional == running_mean:
                    mean_arg = arg
                if running_mean is not None and positional == running_mean + 1:
                    var_arg = arg
                positional += 1
            elif arg.keyword.value == keyword:
                flag_arg = arg
            elif arg.keyword.value == "running_mean":
                mean_arg = arg
            elif arg.keyword.value == "running_var":
                var_arg = arg
        if flag_arg is None or not (isinstance(flag_arg.value, cst.Name) and flag_arg.value.value == "True"):
            return
        if running_mean is not None:
            if mean_arg is None or _is_none(mean_arg.value):
                return  # batch statistics without running statistics: training=True is required
            if self._temporary(mean_arg.value) and (var_arg is None or self._temporary(var_arg.value)):
                return  # statistics updated into throw-away copies (AdaIN): batch statistics wanted
        frame = self.ctx.grad.frame
        if frame is not None and frame.name in self.settings["ignore-functions"]:
            return
        guards = self.ctx.guards
        if guards.training_guard(node) is not None:
            return  # under `if self.training or ...:`: the mode is handled
        if mode_flag_explained(guards, node):
            return
        method = self.ctx.module_method()
        function = qualname.rsplit(".", 1)[-1]
        if method is not None and method.self_name is not None:
            fixed = node.with_deep_changes(
                flag_arg, value=cst.Attribute(cst.Name(method.self_name), cst.Name("training"))
            )
            self.report(
                node,
                f"`{function}` hard-codes `{keyword}=True`, so it keeps training behaviour after `model.eval()`; "
                f"pass `{keyword}={method.self_name}.training`",
                self.replace(node, fixed, f"Pass `{keyword}={method.self_name}.training`"),
            )
        elif self.ctx.grad.grad_disabled():
            label = self.ctx.grad.grad_label()
            self.report(
                node,
                f"`{function}` hard-codes `{keyword}=True` under `{label}`, so inference runs with "
                f"training behaviour; pass `{keyword}=False` or the model's mode",
            )


    def _temporary(self, expr: cst.BaseExpression) -> bool:
        """`expr` (or every value of the local name) is a tensor built just for this call:
        `self.running_mean.repeat(b)`, `torch.zeros(c)`, `a * b`."""
        origins = value_origins(self.ctx, expr)
        if not origins:
            return False
        for origin in origins:
            if isinstance(origin, cst.BinaryOperation):
                continue
            if not isinstance(origin, cst.Call):
                return False
            func = origin.func
            if isinstance(func, cst.Attribute) and func.attr.value in _FRESH_METHODS and self.ctx.qualified_name(func) is None:
                continue
            if self.ctx.qualified_name(func) in _FRESH_FUNCTIONS:
                continue
            return False
        return True


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"
