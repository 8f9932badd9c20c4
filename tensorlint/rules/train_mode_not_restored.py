"""TL104: a training loop puts the model into eval mode and never back into training mode."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from tensorlint.rules.base import Option, Rule
from tensorlint.semantics.grad_mode import ENABLED, MAY_TRAIN_KINDS, Frame, Point, related_names
from tensorlint.semantics.scopes import dotted_name
from tensorlint.semantics.mode_free import name_is_mode_free
from tensorlint.semantics.optim import is_optimizer_class


@dataclass(frozen=True, eq=False)
class _Step:
    receiver: str
    point: Point
    proven: bool  # the receiver is provably an optimizer


class TrainModeNotRestored(Rule):
    """## What it does
    Flags `.eval()` (or `.train(False)`, or a call of a helper of this file that leaves
    the model in eval mode) inside a training loop, that is a `for`/`while` loop whose
    body steps an optimizer, when nothing in the loop puts the model back into training
    mode: `.train()` is only called before the loop, if at all.

    The optimizer must be provable: built with a `torch.optim` class, a parameter
    annotated with one, or a name whose `.zero_grad()` is also called in the loop
    (`scaler.step(optimizer)` counts as a step of `optimizer`).

    The model must also run a forward pass with autograd on inside the loop
    (`model(x)`), so a copy that is only evaluated there (an EMA model) is not flagged.

    Helpers in other files of the project count too (the project index): an
    `evaluate(model)` in `engine.py` that calls `model.eval()` is an eval site, and a
    `train_one_epoch(model, ...)` there that runs the model and steps is the loop's
    training.

    Not flagged: a `.train(...)` call on the model anywhere in the loop (also through a
    helper of this or another project file), `.eval()` followed by
    `return`/`break`/`raise` in the same block, a helper that starts with
    `model.train()` itself (its steps run in training mode whatever the caller did),
    a training helper that calls `model.eval()` itself, unconditionally, before its
    steps (linear probing on a frozen backbone trains in eval mode on purpose), and
    loops that hand the model to a function whose code is not in the project and whose
    name says it may train it.

    ## Why is this bad?
    After the first evaluation the model stays in eval mode, so from the second epoch
    on training runs with dropout switched off and batch norm frozen on its running
    statistics. Nothing fails; the model just trains worse (pytorch/tutorials#1624).

    ## Example
    ```python
    model.train()
    for epoch in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
        model.eval()
        validate(model)
    ```

    ## Use instead
    ```python
    for epoch in range(epochs):
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
        model.eval()
        validate(model)
    ```

    A model whose class provably has no dropout, batch norm or other mode-dependent
    layer (or only dropouts built with a literal `p=0`; `semantics/mode_free.py`) trains
    the same in both modes today. It is still reported, because the loop is wrong for
    any model that gains such a layer (pytorch/tutorials#1624 was such a model, and
    fixed), and the message says the slip has no effect yet; set
    `ignore-mode-free-models = true` to leave these out.

    ## Fix safety
    There is no fix: where the loop's training part starts is the author's decision.

    ## Options
    - `ignore-mode-free-models` (bool, default `false`): do not report a model whose
      class provably has no mode-dependent layer.
    """

    code = "TL104"
    name = "train-mode-not-restored"
    summary = "Training loop switches the model to eval mode and never back to train mode"
    options = {
        "ignore-mode-free-models": Option(
            False, bool, "do not report models whose class provably has no dropout, batch norm or other mode-dependent layer"
        ),
    }

    def __init__(self, ctx, options, sink) -> None:
        super().__init__(ctx, options, sink)
        ctx.calls.require()
        self._steps: list[_Step] = []
        self._zero_grads: list[tuple[str, Point]] = []
        self._forwards: list[tuple[str, Point]] = []  # `model(x)` / `self.model(x)` with autograd on

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        grad = self.ctx.grad
        if type(func) is cst.Name:
            # a forward call of a model (`model(x)`) that autograd records
            if grad.grad_state() == ENABLED:
                self._forwards.append((func.value, grad.point()))
            return
        if type(func) is cst.Attribute and type(func.value) is cst.Name and func.value.value == grad.self_name():
            # `self.model(x)`
            if grad.grad_state() == ENABLED:
                self._forwards.append((f"{func.value.value}.{func.attr.value}", grad.point()))
            return
        if type(func) is not cst.Attribute:
            return
        method = func.attr.value
        if method not in ("step", "zero_grad"):
            return
        receiver = dotted_name(func.value)
        if receiver is None:
            return
        if method == "zero_grad":
            self._zero_grads.append((receiver, grad.point()))
            return
        point = grad.point()
        if node.args and isinstance(node.args[0].value, (cst.Name, cst.Attribute)) and node.args[0].keyword is None:
            # `scaler.step(optimizer)`: the argument is the optimizer
            inner = dotted_name(node.args[0].value)
            if inner is not None:
                self._steps.append(_Step(inner, point, self._is_optimizer(node.args[0].value)))
        if not node.args:
            self._steps.append(_Step(receiver, point, self._is_optimizer(func.value)))

    def _is_optimizer(self, expr: cst.BaseExpression) -> bool:
        if not isinstance(expr, cst.Name):
            return False
        bindings = self.ctx.scopes.lookup(expr.value)
        if not bindings:
            return False
        for binding in bindings:
            if binding.kind == "assign" and isinstance(binding.value, cst.Call):
                qualname = self.ctx.qualified_name(binding.value.func)
            elif binding.kind in ("param", "assign") and binding.annotation is not None:
                qualname = self.ctx.qualified_name(binding.annotation)
            else:
                return False
            if not is_optimizer_class(qualname):
                return False
        return True

    def leave_Module(self, node: cst.Module) -> None:
        reported: set[int] = set()
        frames = {step.point.frame for step in self._steps} | set(self.ctx.calls.sites)
        for frame in frames:
            loops = {loop for step in self._steps if step.point.frame is frame for loop in step.point.loops}
            loops |= {loop for site in self.ctx.calls.sites.get(frame, ()) for loop in site.point.loops}
            for loop in loops:
                for model, site, point, via in self._eval_sites(frame, loop):
                    if id(site) in reported:
                        continue
                    if not self._trains(frame, loop, model):
                        continue  # no optimizer step on it (an EMA copy evaluated in the loop)
                    if self._trains_in_eval_on_purpose(frame, loop, model):
                        continue
                    if self._restored(frame, loop, model, site):
                        continue
                    if self.ctx.grad.exits_after(point):
                        continue
                    free = self._mode_free(frame, model)
                    if free and self.settings["ignore-mode-free-models"]:
                        continue
                    reported.add(id(site))
                    self._report(site, model, via, free)

    def _proven_step(self, step: _Step, loop: cst.CSTNode | None) -> bool:
        """An optimizer step: a provable optimizer, or one whose `zero_grad()` is called
        in the same loop (in the same function when `loop` is None)."""
        if step.proven:
            return True
        return any(
            name == step.receiver
            and point.frame is step.point.frame
            and (loop is None or loop in point.loops)
            for name, point in self._zero_grads
        )

    def _forwards_in(self, frame: Frame, loop: cst.CSTNode | None, model: str) -> bool:
        """`model(...)` runs with autograd on in the frame (inside `loop` if given)."""
        return any(
            point.frame is frame and name == model and (loop is None or loop in point.loops)
            for name, point in self._forwards
        )

    def _trains(self, frame: Frame, loop: cst.CSTNode, model: str) -> bool:
        """The loop trains `model`: it steps an optimizer and runs the model's forward
        pass with autograd on, directly or through a helper of this file that does both
        with the model it is given (pytorch/tutorials#1624: `train(...); test(...)`)."""
        direct_step = any(
            s.point.frame is frame and loop in s.point.loops and self._proven_step(s, loop) for s in self._steps
        )
        if direct_step and self._forwards_in(frame, loop, model):
            return True
        calls = self.ctx.calls
        for site in calls.sites.get(frame, ()):
            if loop not in site.point.loops or not site.passes(model):
                continue
            summary = None if calls.targets(site) else calls.project_effect(site, model)
            if summary is not None and summary.get("trains"):
                return True  # `train_one_epoch(model, ...)` of another file steps it
            for target in calls.targets(site):
                param = calls.parameter_for(site, target, model)
                if param is None or not self._forwards_in(target, None, param):
                    continue
                if any(s.point.frame is target and self._proven_step(s, None) for s in self._steps):
                    return True
        return False

    def _trains_in_eval_on_purpose(self, frame: Frame, loop: cst.CSTNode, model: str) -> bool:
        """The loop's training helper puts the model into eval mode itself before its
        steps (linear probing on a frozen backbone, moco's `main_lincls.py`): every
        iteration trains in eval mode whatever the rest of the loop does, by choice."""
        calls = self.ctx.calls
        for site in calls.sites.get(frame, ()):
            if loop not in site.point.loops or not site.passes(model):
                continue
            targets = calls.targets(site)
            if not targets:
                summary = None if site.starred else calls.project_effect(site, model)
                if summary is not None and summary.get("trains") and summary.get("first") == "eval":
                    return True
                continue
            for target in targets:
                param = calls.parameter_for(site, target, model)
                if param is None or not self._forwards_in(target, None, param):
                    continue
                steps = [s.point for s in self._steps if s.point.frame is target and self._proven_step(s, None)]
                events = target.events_for(param)
                if not steps or not events or any(e.kind != "eval" for e in events):
                    continue
                if all(
                    not e.point.loops and e.point.inside(step) and e.point.index < step.index
                    for e in events
                    for step in steps
                ):
                    return True  # switched up front, unconditionally: the helper's fixed choice
        return False

    def _eval_sites(self, frame: Frame, loop: cst.CSTNode):
        """(model name, node, point, helper name or None) for each place in `loop` that
        leaves a model in eval mode."""
        for event in frame.events:
            if event.kind == "eval" and loop in event.point.loops:
                yield event.name, event.node, event.point, None
        calls = self.ctx.calls
        self_name = frame.self_name
        for site in calls.sites.get(frame, ()):
            if loop not in site.point.loops:
                continue
            for target in calls.targets(site):
                names = [n for n in site.positional if n is not None] + [n for _, n in site.keywords if n is not None]
                if isinstance(site.callee, tuple) and self_name and target.self_name:
                    prefix = target.self_name
                    for event in target.events:
                        if event.kind == "eval" and (event.name == prefix or event.name.startswith(prefix + ".")):
                            names.append(self_name + event.name[len(prefix):])
                for event in target.events:
                    # a module-level model both functions use (`model.eval()` in `test()`)
                    if event.kind == "eval" and calls.shares_global(frame, target, event.name):
                        names.append(event.name)
                for name in dict.fromkeys(names):
                    inner = calls.inner_name(site, target, frame, name)
                    if inner is not None and calls.leaves_eval(target, inner):
                        first = target.events_for(inner)
                        if first and first[0].kind == "train" and first[0].name == inner:
                            continue  # the helper starts with `.train()`: its own steps run in train mode
                        yield name, site.node, site.point, target.name
            if not calls.targets(site) and not site.starred:
                # a helper of another file of the project (`evaluate(model)` in engine.py)
                for name in dict.fromkeys(n for n in (*site.positional, *(v for _, v in site.keywords)) if n):
                    summary = calls.project_effect(site, name)
                    if summary is not None and summary["mode"] == "eval" and summary.get("first") != "train":
                        yield name, site.node, site.point, summary["name"].rsplit(".", 1)[-1]

    def _restored(self, frame: Frame, loop: cst.CSTNode, model: str, site: cst.CSTNode) -> bool:
        """Something in the loop may put `model` back into training mode."""
        for event in frame.events:
            if loop in event.point.loops and event.kind in MAY_TRAIN_KINDS and related_names(event.name, model):
                return True
        calls = self.ctx.calls
        self_name = frame.self_name
        for call in calls.sites.get(frame, ()):
            if call.node is site or loop not in call.point.loops:
                continue
            if isinstance(call.callee, tuple) and call.callee[1] in ("eval", "train"):
                continue  # `self.eval()` / `self.train()`: mode events, judged above
            via_self = isinstance(call.callee, tuple) and bool(self_name) and model.startswith(self_name + ".")
            via_global = any(calls.shares_global(frame, t, model) for t in calls.targets(call))
            if not (call.passes(model) or via_self or via_global):
                continue
            targets = calls.targets(call)
            if not targets:
                if via_self and not call.passes(model):
                    if self.ctx.grad.is_instance_attribute(call.callee[0], call.callee[1]):
                        continue  # `self.model(x)`: calls an attribute, not a method
                    return True  # an inherited method of the instance may call .train()
                if calls.mode_neutral(call, model):
                    continue
                if call.passes(model) and calls.external_effect(call, model) in ("neutral", "eval"):
                    continue  # another file's helper that leaves it alone or evaluates it
                return True
            for target in targets:
                inner = calls.inner_name(call, target, frame, model)
                if inner is None or calls.may_train(target, inner):
                    return True
        return False

    def _mode_free(self, frame: Frame, model: str) -> bool:
        """`model` (a plain name of this function, or of the module for a script's global)
        is provably built without any mode-dependent layer."""
        if "." in model:
            return False
        while frame is not None and frame.scope is not None and model not in frame.scope.bindings:
            frame = frame.parent
        return frame is not None and name_is_mode_free(self.ctx, model, frame.scope)

    def _report(self, site: cst.CSTNode, model: str, via: str | None, mode_free: bool = False) -> None:
        if via is None:
            message = (
                f"`{model}` is put into eval mode inside a training loop and nothing in the loop calls "
                f"`{model}.train()` again, so later iterations train in eval mode; call `{model}.train()` "
                "at the start of each iteration"
            )
            if mode_free:
                message += _NO_EFFECT_YET.format(model=model)
        else:
            message = (
                f"`{via}()` leaves `{model}` in eval mode inside a training loop and nothing in the loop calls "
                f"`{model}.train()` again, so later iterations train in eval mode; call `{model}.train()` "
                "at the start of each iteration"
            )
            if mode_free:
                message += _NO_EFFECT_YET.format(model=model)
        self.report(site, message)


_NO_EFFECT_YET = (
    " (`{model}` has no dropout or batch norm, so this has no effect yet; it will once such a layer is added)"
)
