"""TL103: a model called under no_grad/inference_mode while it is still in training mode."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from tensorlint.rules.base import Option, Rule
from tensorlint.semantics.grad_mode import Frame, Point

_MAX_CALLER_DEPTH = 3


@dataclass(frozen=True, eq=False)
class _Candidate:
    node: cst.Call
    name: str
    point: Point
    origin: str | None  # "train" (built here), "param", or None (unknown)
    label: str


class InferenceWithoutEval(Rule):
    """## What it does
    Flags a call of a model (`model(x)`) under `torch.no_grad()` or
    `torch.inference_mode()` (block or decorator) while the model is provably still in
    training mode:
    - the model was built in the same function (an `nn.Module` class of this file whose
      code uses dropout, batch norm, transformer layers or `self.training`; a `torch.nn`
      dropout/batch-norm/transformer layer or an `nn.Sequential` holding one; a
      `torchvision.models` constructor) and none of `.eval()`, `.train(False)` or
      `.train()` was called on it in the function; or
    - earlier in the function it was handed to a function of this file that leaves it
      in training mode (a `train(model, ...)` helper that calls `model.train()`); or
    - the model is a parameter of the function, the function does not set the mode
      itself, and a caller in this file passes it a model that is provably in training
      mode by the rules above (followed through up to three levels of callers).

    Not flagged: an explicit `.train()` before the call in the same function
    (deliberate, e.g. re-estimating batch-norm statistics as
    `torch.optim.swa_utils.update_bn` does); `self(...)` inside a module's own method
    (the caller owns the mode); functions that set the mode from a parameter
    (`model.train(mode)`); models handed, before the call, to a function whose code is
    not in this file (it may have called `.eval()`), or to one that changes the mode
    only conditionally; models loaded with `from_pretrained` (returned in eval mode);
    `.eval()` reached through methods that return the module (`model.to(device).eval()`);
    models whose mode `model.apply(...)` or a loop over `model.modules()` may change;
    and anything whose mode cannot be proven, such as a model used after a loop that
    might not have run.

    ## Why is this bad?
    `no_grad` and `inference_mode` only switch off autograd; they do not put the model
    into eval mode. Dropout keeps dropping and batch norm normalises with the batch's
    statistics and keeps updating its running statistics on the evaluation data, so
    validation scores are wrong and the model itself changes (openscene#20: 41.0 vs
    25.0 mIoU; stacked_hourglass#44; ethos-ares#20).

    ## Example
    ```python
    model = Net()
    model.load_state_dict(torch.load("net.pt"))
    with torch.no_grad():
        prediction = model(x)
    ```

    ## Use instead
    ```python
    model = Net()
    model.load_state_dict(torch.load("net.pt"))
    model.eval()
    with torch.no_grad():
        prediction = model(x)
    ```

    ## Fix safety
    There is no fix: where to call `.eval()` (and whether to restore `.train()`
    afterwards) depends on the surrounding code.

    ## Options
    - `model-names` (list of parameter names, default `[]`): parameters with these names
      are assumed to hold a model in training mode when no caller in this file sets
      their mode (e.g. `["model", "net"]`). Off by default, because callers in other
      files may well have called `.eval()`.
    """

    code = "TL103"
    name = "inference-without-eval"
    summary = "Model called under `no_grad`/`inference_mode` while still in training mode"
    options = {
        "model-names": Option([], list, "parameter names assumed to be models in training mode when no caller in this file says otherwise"),
    }

    def __init__(self, ctx, options, sink) -> None:
        super().__init__(ctx, options, sink)
        ctx.calls.require()
        self._candidates: list[_Candidate] = []

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if type(func) is not cst.Name:
            return
        grad = self.ctx.grad
        if not grad.grad_disabled():
            return
        name = func.value
        frame = grad.frame
        if frame is None or frame.scope is None:
            return
        bindings = frame.scope.bindings.get(name)
        if not bindings or self.ctx.scopes.lookup(name) is not bindings:
            return  # not bound in this function (or module script) itself
        if frame.self_name == name:
            return
        origin = grad.binding_mode(bindings, name)
        if origin == "eval":
            return
        # origin None (`model = build()`): only a helper that leaves it in training
        # mode can prove anything
        self._candidates.append(_Candidate(node, name, grad.point(), origin, grad.grad_label() or "torch.no_grad()"))

    def leave_Module(self, node: cst.Module) -> None:
        calls = self.ctx.calls
        model_names = set(self.settings["model-names"])
        for cand in self._candidates:
            if cand.point.frame.events_for(cand.name):
                # an explicit `.train()` before a no_grad call is deliberate (re-estimating
                # batch-norm statistics, as torch.optim.swa_utils.update_bn does); `.eval()`
                # or `.train(flag)` settle the mode; either way there is nothing to prove
                continue
            mode = calls.mode_at(cand.name, cand.point, cand.origin)
            if mode == "train":
                self._report(cand, None)
                continue
            if mode != "param":
                continue
            verdict = self._callers_mode(cand.point.frame, cand.name, 0, set())
            if isinstance(verdict, str) and verdict.startswith("train:"):
                self._report(cand, verdict[6:])
            elif verdict == "uncalled" and cand.name in model_names:
                self._report(cand, None)

    def _callers_mode(self, frame: Frame, param: str, depth: int, seen: set):
        """"train:<caller>" if some caller passes a model provably in training mode,
        "uncalled" if nothing in the file calls the function, else None."""
        if depth > _MAX_CALLER_DEPTH or frame in seen:
            return None
        seen.add(frame)
        calls = self.ctx.calls
        sites = calls.callers_of(frame)
        if not sites:
            return "uncalled"
        for site in sites:
            arg = calls.argument_for(site, frame, param)
            if arg is None or "." in arg:
                continue
            caller = site.point.frame
            bindings = caller.scope.bindings.get(arg) if caller.scope is not None else None
            initial = self.ctx.grad.binding_mode(bindings, arg)
            mode = calls.mode_at(arg, site.point, initial)
            if mode == "train":
                return f"train:{caller.name}"
            if mode == "param":
                verdict = self._callers_mode(caller, arg, depth + 1, seen)
                if isinstance(verdict, str) and verdict.startswith("train:"):
                    return f"train:{caller.name}"
        return None

    def _report(self, cand: _Candidate, caller: str | None) -> None:
        if caller is None:
            message = (
                f"`{cand.name}` is called under `{cand.label}` while still in training mode (dropout and "
                f"batch norm stay active); call `{cand.name}.eval()` first"
            )
        else:
            message = (
                f"`{cand.name}` is called under `{cand.label}` but `{caller}` passes it in training mode "
                f"(dropout and batch norm stay active); call `{cand.name}.eval()` first"
            )
        self.report(cand.node, message)
