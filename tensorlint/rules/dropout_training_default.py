"""TL101: functional dropout inside an nn.Module method without `training=`."""

from __future__ import annotations

import libcst as cst

from tensorlint.diagnostics import Applicability
from tensorlint.rules.base import Option, Rule
from tensorlint.rules.fixes import append_argument, keyword_arg
from tensorlint.semantics.calls import call_argument
from tensorlint.semantics.intent import dropout_always_on

# qualified name -> (default of `training`, position of `training` among positional args)
DROPOUT_FUNCTIONS = {
    "torch.nn.functional.dropout": (True, 2),
    "torch.nn.functional.dropout1d": (True, 2),
    "torch.nn.functional.dropout2d": (True, 2),
    "torch.nn.functional.dropout3d": (True, 2),
    "torch.nn.functional.alpha_dropout": (False, 2),
    "torch.nn.functional.feature_alpha_dropout": (False, 2),
}


class DropoutTrainingDefault(Rule):
    """## What it does
    Flags a functional dropout call (`F.dropout`, `F.dropout1d/2d/3d`,
    `F.alpha_dropout`, `F.feature_alpha_dropout`) inside a method of an `nn.Module`
    subclass that passes no `training` argument, by keyword or by position.

    ## Why is this bad?
    Functional dropout does not know the module's mode; only the `training` argument
    tells it. Left out, the two families fail in opposite directions:
    - `F.dropout` and `F.dropout1d/2d/3d` default to `training=True`: dropout stays on
      after `model.eval()`, so inference is noisy and validation scores are wrong
      (karpathy/nanoGPT#240, rixwew/pytorch-fm#21).
    - `F.alpha_dropout` and `F.feature_alpha_dropout` default to `training=False`:
      they never drop anything, even while training, so the regularisation is missing.

    ## Example
    ```python
    class Net(nn.Module):
        def forward(self, x):
            return F.dropout(self.fc(x), p=0.1)
    ```

    ## Use instead
    ```python
    class Net(nn.Module):
        def forward(self, x):
            return F.dropout(self.fc(x), p=0.1, training=self.training)
    ```
    or use an `nn.Dropout` submodule, which follows `.train()`/`.eval()` by itself.

    ## Fix safety
    The fix adds `training=self.training`. It is safe inside `forward` (and any method
    listed in the `safe-fix-methods` option), where `self.training` is the mode the
    caller set (the cases above, where the fix would change a deliberate choice, are
    not reported at all). In other methods it is marked unsafe: a helper may be called from a
    context where the author wanted a fixed mode.
    Calls that pass `*args` or `**kwargs` are never flagged, as they may carry the flag.

    Mode-aware code is not flagged: a call under a condition that tests the mode
    (`if self.training:`, `if not self.training: ... else:`, `self.training and ...`,
    `F.dropout(x, p) if self.training else x`, or after `if not self.training: return x`),
    where the author already chose what each mode does. Nor is an `F.dropout` the
    author says is meant to stay on in every mode (Monte-Carlo dropout): a comment on
    the statement, inside the call, on an enclosing block or on the enclosing
    function or class saying "always", "MC dropout", "Monte Carlo", "even at
    eval/inference/test time", "keep dropout on" or "uncertainty", a docstring saying
    dropout is always on, or a function or class named for it (`MCDropout`,
    `mc_forward`, `enable_dropout`, Tacotron 2's `Prenet`). The fix would switch such
    dropout off. Nor is a dropout in a method other than `forward` that runs only with
    autograd off (`@torch.no_grad()` on a sampler) at a rate that is a parameter of that
    method (`p_sample(..., noise_dropout=0.)` in stable-diffusion): each caller asks for
    it explicitly.

    ## Options
    - `safe-fix-methods` (list of method names, default `["forward"]`).
    """

    code = "TL101"
    name = "dropout-training-default"
    summary = "Functional dropout in an nn.Module method without `training=self.training`"
    fix_applicability = Applicability.SAFE
    options = {
        "safe-fix-methods": Option(["forward"], list, "methods where adding `training=self.training` is a safe fix"),
    }

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            if "dropout" not in func.attr.value:
                return  # cheap test first: `F.dropout`, `torch.nn.functional.dropout2d`
        elif not isinstance(func, cst.Name):
            return
        qualname = self.ctx.qualified_name(func)
        spec = DROPOUT_FUNCTIONS.get(qualname) if qualname else None
        if spec is None:
            return
        default, position = spec
        if call_argument(node, position, "training") is not None:
            return  # passed, or possibly passed through *args/**kwargs
        method = self.ctx.module_method()
        if method is None or method.self_name is None:
            return
        guards = self.ctx.guards
        if guards.training_guard(node) is not None:
            return  # `if self.training:` / `... if self.training else x`: the mode is handled
        if default and dropout_always_on(guards, node):
            return  # "MC dropout", "always on": the default training=True is the point
        if default and self._per_call_rate_at_inference(node, method):
            return
        function = qualname.rsplit(".", 1)[-1]
        if default:
            message = (
                f"`{function}` without `training=` defaults to training=True: dropout stays active after "
                f"`model.eval()`; pass `training={method.self_name}.training`"
            )
        else:
            message = (
                f"`{function}` without `training=` defaults to training=False: it never drops, even while "
                f"training; pass `training={method.self_name}.training`"
            )
        safe = method.name in self.settings["safe-fix-methods"]
        new = append_argument(node, keyword_arg("training", cst.Attribute(cst.Name(method.self_name), cst.Name("training"))))
        self.report(
            node,
            message,
            self.replace(
                node,
                new,
                f"Pass `training={method.self_name}.training`",
                Applicability.SAFE if safe else Applicability.UNSAFE,
            ),
        )

    def _per_call_rate_at_inference(self, node: cst.Call, method) -> bool:
        """A method other than `forward` that only runs with autograd off (`@torch.no_grad()`
        on a sampler) and drops at a rate its caller passes (`p=noise_dropout`, a
        parameter of the method): the caller asks for the dropout on each call
        (stable-diffusion's `p_sample(noise_dropout=...)`), so it is not a training-time
        dropout left on by mistake."""
        if method.name in self.settings["safe-fix-methods"] or not self.ctx.grad.grad_disabled():
            return False
        rate = call_argument(node, 1, "p")
        if not isinstance(rate, cst.Arg) or type(rate.value) is not cst.Name:
            return False
        name = rate.value.value
        params = method.func.params
        if not any(p.name.value == name for p in (*params.posonly_params, *params.params, *params.kwonly_params)):
            return False
        bindings = self.ctx.scopes.lookup(name)
        return bool(bindings) and all(b.kind == "param" for b in bindings)
