"""TL112: `scheduler.step()` before `optimizer.step()` in the same loop."""

from __future__ import annotations

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.training import is_optimizer, local_function, receiver_text, scan, scheduler_of


class SchedulerStepBeforeOptimizer(Rule):
    """## What it does
    Flags `scheduler.step()` that runs, in a loop, before the `optimizer.step()` of the
    optimizer it schedules: on the loop's own level (not under an `if`), earlier in the
    loop body than the optimizer's step (which may sit in an inner loop, or in a
    function or method of the file called later in the body, `train(model, optimizer)`,
    that calls `step()` on the optimizer it is given), with no optimizer step before it
    in the body. The scheduler must provably be a
    `torch.optim.lr_scheduler` scheduler (or a `transformers` `get_*_schedule*`
    factory's) built with that optimizer; `ReduceLROnPlateau` is not checked.

    ## Why is this bad?
    Since PyTorch 1.1, `optimizer.step()` must come before `lr_scheduler.step()`. Called
    first, the scheduler moves to its second value before any update, so the first
    value of the schedule (often the warm-up's start or the base learning rate) is
    skipped and the whole schedule is shifted by one epoch or step. PyTorch warns
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`" at run time, which
    is easy to miss in a long log.

    ## Example
    ```python
    for epoch in range(epochs):
        scheduler.step()
        for x, y in loader:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
    ```

    ## Use instead
    ```python
    for epoch in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            criterion(model(x), y).backward()
            optimizer.step()
        scheduler.step()
    ```

    ## Fix safety
    There is no fix: moving the call shifts the schedule, which changes training.
    """

    code = "TL112"
    name = "scheduler-step-before-optimizer-step"
    summary = "`scheduler.step()` called before `optimizer.step()`; the first learning rate is skipped"

    def leave_For(self, node: cst.For) -> None:
        self._check(node)

    def leave_While(self, node: cst.While) -> None:
        self._check(node)

    def _check(self, loop) -> None:
        found = scan(self.ctx, loop)
        events = found.events
        module = self.ctx.module
        seen_steps: list = []
        for event in events:
            if event.kind != "step":
                continue
            if event.loop is loop and not event.conditional and not event.node.args and not event.scaled:
                optimizer = scheduler_of(self.ctx, event.receiver)
                if optimizer is not False and optimizer is not True:
                    name = receiver_text(module, optimizer)
                    if any(receiver_text(module, s.receiver) == name for s in seen_steps):
                        continue
                    if any(c.index < event.index and self._helper_steps(c.node, name) for c in found.calls):
                        continue  # a helper stepped the optimizer before
                    if not is_optimizer(self.ctx, optimizer):
                        continue
                    sched = receiver_text(module, event.receiver)
                    later = [
                        e for e in events
                        if e.kind == "step" and e.index > event.index and receiver_text(module, e.receiver) == name
                    ]
                    if later:
                        where = f"`{name}.step()`"
                    else:
                        helper = next(
                            (c for c in found.calls if c.index > event.index and self._helper_steps(c.node, name)), None
                        )
                        if helper is None:
                            continue
                        where = f"`{self.ctx.code_for(helper.node.func)}(...)`, which calls `{name}.step()`,"
                    self.report(
                        event.node,
                        f"`{sched}.step()` runs before {where} in this loop, so the schedule's first "
                        f"learning rate is skipped; call `{sched}.step()` after the optimizer's step",
                    )
                    continue
            seen_steps.append(event)

    def _helper_steps(self, call: cst.Call, name: str) -> bool:
        """`train(model, optimizer)` where `train` is a function (or `self.` method) of this
        file that calls `optimizer.step()` on the optimizer it is given, or on `name` itself."""
        local = local_function(self.ctx, call.func)
        if local is None:
            return False
        text = self.ctx.code_for(local.body)
        if f"{name}.step(" in text:
            return True
        params = [p.name.value for p in local.params.params]
        if isinstance(call.func, cst.Attribute):
            params = params[1:]  # `self.fit(...)`: the first parameter is self
        position = 0
        for arg in call.args:
            if arg.star:
                return False
            if arg.keyword is None:
                bound = params[position] if position < len(params) else None
                position += 1
            else:
                bound = arg.keyword.value
            if bound and self.ctx.code_for(arg.value) == name and f"{bound}.step(" in text:
                return True
        return False
