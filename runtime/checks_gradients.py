"""Gradient and training-dynamics checks, read at optimizer steps and kept on the device.

The optimizer step hooks see every parameter's gradient once per step, after backward
and before the update; the post-step hook sees the update. On a sampled step (the first
one, then every ``grad_every``-th) the checks launch a few kernels:

- ``torch._foreach_norm`` of the gradients (L1 and L2): mean |grad| per parameter,
  its L2 norm, and whether it is non-finite;
- one ``torch.cat`` of a strided sample of each parameter before the step and one after
  it: the weight-update ratio ||dw|| / ||w|| and whether the parameter changed at all.

Per-parameter results are folded into device accumulators with ``index_add_``; nothing
is read back to the host until ``findings()``. Host-side facts (a gradient that is
``None``, a parameter missing from the optimizer) are Python bookkeeping.

Thresholds (docs/runtime.md cites each):
- vanishing: mean |grad| < 1e-7 (SageMaker Debugger VanishingGradient, DeepDiagnosis);
- exploding: ||g_first layer|| / ||g_last layer|| > 70 (AutoTrainer, ICSE'21), and any
  NaN/Inf gradient (SageMaker ExplodingTensor);
- weight-update ratio outside [1e-8, 10] (SageMaker WeightUpdateRatio);
- unchanged parameter over >= 3 sampled steps (SageMaker UnchangedTensor: 3 steps);
- loss not decreasing by 0.1% over a window of 10 steps (SageMaker LossNotDecreasing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from .findings import Finding
from .options import Options
from .stats import persistent, strided_sample

_NO_GRAD_CHECKS = (nn.Embedding, nn.EmbeddingBag)  # sparse rows: a tiny mean |grad| is normal


def _exact(x: torch.Tensor) -> torch.Tensor:
    """Half precision widened to float32; float32/float64 kept, so a tiny update is not rounded away."""
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


@dataclass
class _Param:
    name: str  # qualified parameter name
    module: str  # owning module's qualified name
    index: int
    numel: int
    dense: bool  # vanishing/exploding checks apply (not an embedding table)
    steps_seen: int = 0  # optimizer steps (any) while it required grad and the model was monitored
    steps_with_grad: int = 0
    sampled: int = 0  # sampled steps with a gradient
    in_optimizer: bool = False


@dataclass
class _Pending:
    """A sampled step between the pre- and post-step hooks."""

    params: list[_Param]
    views: list[torch.Tensor]
    before: torch.Tensor
    segments: torch.Tensor
    step: int
    extra: list = field(default_factory=list)


class GradientChecks:
    """Per-parameter gradient statistics of one model, accumulated on its device."""

    def __init__(self, model: nn.Module, opts: Options):
        self.opts = opts
        self._params: dict[int, _Param] = {}
        owner = {}
        for mname, module in model.named_modules():
            for pname, p in module.named_parameters(recurse=False):
                if id(p) not in owner:
                    owner[id(p)] = (mname, f"{mname}.{pname}" if mname else pname, isinstance(module, _NO_GRAD_CHECKS))
        for p in model.parameters():
            mname, qname, sparse = owner[id(p)]
            self._params[id(p)] = _Param(qname, mname, len(self._params), p.numel(), not sparse)
        self._weakparams = {id(p): p for p in model.parameters()}
        self.steps = 0
        self.sampled_steps = 0
        self._acc: dict[str, torch.Tensor] = {}
        self._cache: dict[tuple, torch.Tensor] = {}
        self._pending: _Pending | None = None
        # The losses of training forwards, copied into one preallocated device buffer: the first
        # loss_window of them, then the latest ones in a ring (see observe_loss)
        self._loss_buffer: torch.Tensor | None = None
        self._loss_slots: list[torch.Tensor] = []  # the buffer's elements, as views made once
        self._loss_count = 0

    # ---- accumulators ------------------------------------------------------------------------
    @torch.inference_mode(False)
    def _accumulators(self, device: torch.device) -> dict[str, torch.Tensor]:
        if not self._acc:
            n = len(self._params)
            f = torch.float32 if device.type == "mps" else torch.float64
            self._acc = {
                "mean_abs": torch.zeros(n, dtype=f, device=device),  # sum over sampled steps of mean |g|
                "l2": torch.zeros(n, dtype=f, device=device),  # sum over sampled steps of ||g||
                "first_bad": torch.full((n,), math.inf, dtype=f, device=device),
                "ratio": torch.zeros(n, dtype=f, device=device),  # sum over sampled steps of ||dw||/||w||
                "ratio_steps": torch.zeros(n, dtype=f, device=device),
                "changed": torch.zeros(n, dtype=f, device=device),  # sampled steps with a nonzero update
            }
        return self._acc

    def _index(self, params: list[_Param], device: torch.device) -> torch.Tensor:
        key = ("idx", tuple(p.index for p in params), str(device))
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > 32:
                self._cache.clear()
            found = self._cache[key] = persistent(torch.tensor([p.index for p in params], device=device))
        return found

    def _segments(self, params: list[_Param], lengths: list[int], device: torch.device) -> torch.Tensor:
        key = ("seg", tuple(p.index for p in params), tuple(lengths), str(device))
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > 32:
                self._cache.clear()
            seg = torch.repeat_interleave(torch.tensor([p.index for p in params]), torch.tensor(lengths))
            found = self._cache[key] = persistent(seg.to(device))
        return found

    # ---- optimizer hooks ----------------------------------------------------------------------
    def before_step(self, optimizer: torch.optim.Optimizer) -> None:
        """After backward, before the update: gradients are final for this step."""
        mine = []
        for group in optimizer.param_groups:
            for p in group["params"]:
                info = self._params.get(id(p))
                if info is not None:
                    info.in_optimizer = True
                    mine.append((info, p))
        if not mine:
            return  # an optimizer of another model
        self.steps += 1
        for pid, info in self._params.items():
            p = self._weakparams[pid]
            if p.requires_grad:
                info.steps_seen += 1
                if p.grad is not None:
                    info.steps_with_grad += 1
        if (self.steps - 1) % self.opts.grad_every:
            return
        with_grad = [(info, p) for info, p in mine if p.grad is not None and p.grad.is_floating_point() and p.numel()]
        if not with_grad:
            return
        self.sampled_steps += 1
        device = with_grad[0][1].device
        if any(p.device != device or p.grad.is_sparse for _, p in with_grad):
            with_grad = [(i, p) for i, p in with_grad if p.device == device and not p.grad.is_sparse]
        params = [info for info, _ in with_grad]
        for info in params:
            info.sampled += 1
        with torch.no_grad(), torch._C.DisableTorchFunction():
            acc = self._accumulators(device)
            grads = [p.grad for _, p in with_grad]
            idx = self._index(params, device)
            l1 = torch.stack(torch._foreach_norm(grads, 1)).to(acc["mean_abs"].dtype)
            l2 = torch.stack(torch._foreach_norm(grads, 2)).to(acc["l2"].dtype)
            numel = self._cached_numel(params, device, acc["mean_abs"].dtype)
            acc["mean_abs"].index_add_(0, idx, l1 / numel)
            acc["l2"].index_add_(0, idx, l2)
            bad = ~torch.isfinite(l1)
            steps = torch.where(bad, float(self.steps - 1), math.inf).to(acc["first_bad"].dtype)
            acc["first_bad"].scatter_reduce_(0, idx, steps, reduce="amin")
            if self.opts.grad_update_ratio:
                views = [strided_sample(p.detach(), self.opts.max_elements) for _, p in with_grad]
                before = _exact(torch.cat(views))
                segments = self._segments(params, [v.numel() for v in views], device)
                self._pending = _Pending(params, views, before, segments, self.steps - 1)

    def _cached_numel(self, params: list[_Param], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        key = ("numel", tuple(p.index for p in params), str(device))
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = persistent(torch.tensor([p.numel for p in params], dtype=dtype, device=device))
        return found

    def after_step(self, optimizer: torch.optim.Optimizer) -> None:
        """After the update: fold ||dw|| / ||w|| of the sampled step (no host sync)."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        with torch.no_grad(), torch._C.DisableTorchFunction():
            acc = self._acc
            after = _exact(torch.cat(pending.views))
            delta = after - pending.before
            n = len(self._params)
            f = acc["ratio"].dtype
            sq_d = torch.zeros(n, dtype=f, device=after.device).index_add_(0, pending.segments, (delta * delta).to(f))
            sq_w = torch.zeros(n, dtype=f, device=after.device).index_add_(0, pending.segments, (pending.before**2).to(f))
            idx = self._index(pending.params, after.device)
            sq_d, sq_w = sq_d.index_select(0, idx), sq_w.index_select(0, idx)
            ratio = sq_d.sqrt() / sq_w.sqrt().clamp(min=1e-30)
            acc["ratio"].index_add_(0, idx, torch.where(sq_w > 0, ratio, 0.0))
            acc["ratio_steps"].index_add_(0, idx, (sq_w > 0).to(f))
            acc["changed"].index_add_(0, idx, (sq_d != 0).to(f))  # NaN counts as changed

    # ---- loss ------------------------------------------------------------------------------------
    def observe_loss(self, loss: torch.Tensor) -> None:
        """Copy a scalar loss of a training forward into the loss buffer: one copy kernel, no allocation.

        Keeping a small tensor per step instead (even ``loss.detach()``) pinned glibc's heap among
        the activations: +1.8 MB of resident memory per GPT-2 training step, measured, until the
        history was full. The first ``loss_window`` losses stay; the rest is a ring of the latest.
        """
        with torch.no_grad(), torch._C.DisableTorchFunction():
            if self._loss_buffer is None or self._loss_buffer.device != loss.device:
                self._move_loss_buffer(loss.device)
            self._loss_slots[self._loss_position(self._loss_count)].copy_(loss.detach().reshape(()))
            self._loss_count += 1

    def _loss_position(self, n: int) -> int:
        """Where the n-th loss goes: in order until the buffer is full, then round the ring after the first window."""
        cap, keep = self.opts.loss_history, self.opts.loss_window
        return n if n < cap else keep + (n - keep) % (cap - keep)

    @torch.inference_mode(False)
    def _move_loss_buffer(self, device: torch.device) -> None:
        old = self._loss_buffer
        fresh = torch.zeros(self.opts.loss_history, dtype=torch.float32, device=device)
        if old is not None:
            fresh.copy_(old)  # the model moved to another device: keep what was recorded
        self._loss_buffer = fresh
        self._loss_slots = list(fresh.unbind(0))

    def _recorded_losses(self) -> list[float]:
        """The recorded losses in the order they came (a host copy: report time only)."""
        if self._loss_buffer is None:
            return []
        values = self._loss_buffer.double().cpu().tolist()
        n, cap, keep = self._loss_count, self.opts.loss_history, self.opts.loss_window
        if n <= cap:
            return values[:n]
        oldest = self._loss_position(n)  # the next to be overwritten is the oldest in the ring
        return values[:keep] + values[oldest:] + values[keep:oldest]

    # ---- report ----------------------------------------------------------------------------------
    def findings(self, order: dict[str, int]) -> list[Finding]:
        out: list[Finding] = []
        params = sorted(self._params.values(), key=lambda p: (order.get(p.module, 1 << 30), p.index))
        out += self._host_findings(params)
        if self._acc:
            host = {k: v.double().cpu().tolist() for k, v in self._acc.items()}
            out += self._device_findings(params, host, order)
        out += self._loss_findings()
        return out

    def _host_findings(self, params: list[_Param]) -> list[Finding]:
        """Per module: parameters that never got a gradient, or that get one but are in no optimizer."""
        need = self.opts.unchanged_steps
        unused: dict[str, list[_Param]] = {}
        orphan: dict[str, list[_Param]] = {}
        for p in params:
            if p.steps_seen >= need and not p.steps_with_grad:
                unused.setdefault(p.module, []).append(p)
            elif p.steps_with_grad >= need and not p.in_optimizer:
                orphan.setdefault(p.module, []).append(p)
        out = []
        for module, ps in unused.items():
            names = ", ".join(f"`{p.name}`" for p in ps[:4]) + (", ..." if len(ps) > 4 else "")
            steps = min(p.steps_seen for p in ps)
            out.append(
                Finding(
                    "no-gradient",
                    module,
                    "warning",
                    f"{names} require grad but received no gradient in {steps} optimizer steps, so they are not used "
                    "in the loss (a layer built but skipped in forward, or its output detached); use them, or set "
                    "requires_grad=False.",
                    {"parameters": [p.name for p in ps], "steps": steps, "check": "no-gradient"},
                    count=steps,
                )
            )
        for module, ps in orphan.items():
            names = ", ".join(f"`{p.name}`" for p in ps[:4]) + (", ..." if len(ps) > 4 else "")
            steps = min(p.steps_with_grad for p in ps)
            out.append(
                Finding(
                    "unchanged-parameter",
                    module,
                    "warning",
                    f"{names} get gradients but are in no optimizer's param_groups, so they never change; "
                    "pass model.parameters() (or add the layer) to the optimizer, or freeze them.",
                    {"parameters": [p.name for p in ps], "steps": steps, "check": "missing-from-optimizer"},
                    count=steps,
                )
            )
        return out

    def _device_findings(self, params: list[_Param], host: dict[str, list[float]], order: dict[str, int]) -> list[Finding]:
        o = self.opts
        out = []
        bad = [(host["first_bad"][p.index], p) for p in params if math.isfinite(host["first_bad"][p.index])]
        if bad:
            step = int(min(s for s, _ in bad))  # accumulators hold floats: say "step 32", not "step 32.0"
            at_step = [p for s, p in bad if s == step]
            origin = at_step[-1]  # backward runs from the output: the output-most module went bad first
            every = len(at_step) == sum(1 for p in params if p.sampled)
            out.append(
                Finding(
                    "non-finite-gradient",
                    origin.module,
                    "error",
                    f"The gradient of `{origin.name}` was NaN or Inf at optimizer step {step}, the first in backward "
                    "order (closest to the loss)"
                    + (
                        "; every parameter's gradient was, so the loss or the output was probably non-finite already "
                        "(see non-finite findings)."
                        if every
                        else f"; {len(at_step) - 1} parameters before it followed. Inspect this module's backward "
                        "(division, sqrt or log near zero, overflow in half precision); clip gradients or lower the learning rate."
                    ),
                    {"parameter": origin.name, "step": int(step), "parameters": [p.name for p in at_step][:8],
                     "all_parameters": every, "check": "non-finite"},
                )
            )
        modules: dict[str, list[_Param]] = {}
        for p in params:
            if p.sampled and p.dense:
                modules.setdefault(p.module, []).append(p)
        # mean |grad| per module over sampled steps, parameters weighted by size
        stats = {}
        for module, ps in modules.items():
            if any(math.isfinite(host["first_bad"][p.index]) for p in ps):
                continue
            samples = min(p.sampled for p in ps)
            total = sum(p.numel for p in ps)
            mean_abs = sum(host["mean_abs"][p.index] / p.sampled * p.numel for p in ps) / total
            l2 = math.sqrt(sum((host["l2"][p.index] / p.sampled) ** 2 for p in ps))
            stats[module] = (mean_abs, l2, samples, ps)
        for module, (mean_abs, _, samples, ps) in stats.items():
            if samples >= o.grad_min_samples and 0 < mean_abs < o.grad_vanishing:
                out.append(
                    Finding(
                        "vanishing-gradient",
                        module,
                        "warning",
                        f"Mean |gradient| of this layer's parameters was {mean_abs:.1e} over {samples} sampled steps, "
                        f"below {o.grad_vanishing:g}, so it barely learns; check saturation or dead units upstream, "
                        "the init, or add normalisation/residual connections.",
                        {"mean_abs_grad": mean_abs, "threshold": o.grad_vanishing, "sampled_steps": samples,
                         "parameters": [p.name for p in ps], "check": "vanishing"},
                    )
                )
        ranked = sorted(stats, key=lambda m: order.get(m, 1 << 30))
        if len(ranked) >= 2:
            first, last = ranked[0], ranked[-1]
            g_first, g_last = stats[first][1], stats[last][1]
            samples = min(stats[first][2], stats[last][2])
            if samples >= o.grad_min_samples and g_last > 0 and g_first / g_last > o.grad_exploding_ratio:
                out.append(
                    Finding(
                        "exploding-gradient",
                        first,
                        "warning",
                        f"The gradient norm of the first layer is {g_first / g_last:.0f}x that of the last (`{last}`) "
                        f"over {samples} sampled steps (threshold {o.grad_exploding_ratio:g}), so gradients grow "
                        "towards the input; clip gradients, lower the learning rate, or add normalisation.",
                        {"ratio": g_first / g_last, "first_norm": g_first, "last_norm": g_last, "last_module": last,
                         "threshold": o.grad_exploding_ratio, "sampled_steps": samples, "check": "exploding"},
                    )
                )
        if o.grad_update_ratio:
            for p in params:
                steps = host["ratio_steps"][p.index]
                if not p.sampled or not p.in_optimizer or math.isfinite(host["first_bad"][p.index]):
                    continue  # a NaN gradient is reported as non-finite-gradient, not as its consequences
                changed = host["changed"][p.index]
                if p.sampled >= o.unchanged_steps and changed == 0:
                    out.append(
                        Finding(
                            "unchanged-parameter",
                            p.module,
                            "warning",
                            f"`{p.name}` had gradients in {p.sampled} sampled optimizer steps but never changed "
                            "(a learning rate or update of zero, or it is frozen by mistake); check its param_group.",
                            {"parameter": p.name, "sampled_steps": p.sampled, "check": "unchanged"},
                        )
                    )
                    continue
                if steps < o.grad_min_samples or not changed:
                    continue
                ratio = host["ratio"][p.index] / steps
                if ratio < o.update_ratio_small or ratio > o.update_ratio_large:
                    small = ratio < o.update_ratio_small
                    out.append(
                        Finding(
                            "weight-update-ratio",
                            p.module,
                            "warning",
                            f"Updates of `{p.name}` were {ratio:.1e} of its norm on average over {int(steps)} sampled steps "
                            + (
                                f"(below {o.update_ratio_small:g}): it hardly learns; the learning rate may be far too low."
                                if small
                                else f"(above {o.update_ratio_large:g}): each step rewrites it; the learning rate may be far too high."
                            ),
                            {"parameter": p.name, "ratio": ratio, "small": o.update_ratio_small, "large": o.update_ratio_large,
                             "sampled_steps": int(steps), "check": "small" if small else "large"},
                        )
                    )
        return out

    def _loss_findings(self) -> list[Finding]:
        values = self._recorded_losses()
        if not values:
            return []
        out = []
        bad = [i for i, v in enumerate(values) if not math.isfinite(v)]
        if bad:
            out.append(
                Finding(
                    "loss",
                    "",
                    "error",
                    f"The loss was NaN or Inf in {len(bad)} of {len(values)} recorded training forwards; "
                    "see the non-finite findings for where it started.",
                    {"nonfinite": len(bad), "recorded": len(values), "check": "non-finite"},
                )
            )
            return out
        w = self.opts.loss_window
        if len(values) >= 2 * w:
            first, last = sum(values[:w]) / w, sum(values[-w:]) / w
            if last > first - abs(first) * self.opts.loss_min_decrease:
                out.append(
                    Finding(
                        "loss",
                        "",
                        "info",
                        f"The loss did not decrease: the mean of the last {w} training forwards ({last:.4g}) is not "
                        f"{self.opts.loss_min_decrease:.1%} below that of the first {w} ({first:.4g}); check the learning "
                        "rate, the labels, or whether the optimizer steps the model's parameters.",
                        {"first_mean": first, "last_mean": last, "window": w, "recorded": self._loss_count,
                         "check": "not-decreasing"},
                    )
                )
        return out

    def tensor_count(self) -> int:
        return len(self._acc) + len(self._cache) + (self._loss_buffer is not None)
