"""``Monitor``: attaches to a model, watches every forward, and reports what went wrong.

Coverage comes from the global module hooks (they also see modules that are not
registered in the model) plus a TorchFunctionMode pushed only while a sampled
forward of the model runs. Module-level mode checks are host-side flags and run on
every forward; functional checks and tensor statistics run on sampled forwards, and
statistics stay on the device until ``report()``/``profile()``.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn
from torch.nn.modules import module as module_hooks
from torch.optim.optimizer import register_optimizer_step_post_hook

from .checks_activations import NonFiniteInputs, activation_findings
from .checks_modes import ModeChecks
from .classify import Activation, ModuleInfo, WatchedFunction, describe
from .drift import drift_findings
from .findings import is_allowed, normalise_allow, sort_findings
from .functional_mode import FunctionalMode
from .options import Options
from .profile import Profile
from .report import Report
from .stats import StatStore


def first_float_tensor(obj: Any, depth: int = 0) -> torch.Tensor | None:
    """The activation to summarise from an output: a tensor, or the first one in a tuple/dict/dataclass/ModelOutput."""
    if isinstance(obj, torch.Tensor):
        return obj if obj.is_floating_point() and obj.numel() else None
    if depth > 2:
        return None
    if isinstance(obj, Mapping):
        items: Iterable = obj.values()
    elif isinstance(obj, (tuple, list)):
        items = obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        items = (getattr(obj, f.name) for f in dataclasses.fields(obj))
    else:
        return None
    for item in items:
        found = first_float_tensor(item, depth + 1)
        if found is not None:
            return found
    return None


class Monitor:
    """Runtime diagnostics for ``model``: ``with Monitor(model) as mon: ...`` then ``mon.report()``.

    ``reference`` (a ``Profile`` or a path to one) adds drift checks; ``allow`` maps a finding
    kind (or ``"*"``) to module-name globs that are intentional exceptions. Every other keyword
    is an ``Options`` field (thresholds, ``every``, ``max_elements``).
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        reference: Profile | str | os.PathLike | None = None,
        allow: Mapping[str, Iterable[str] | str] | None = None,
        **options: Any,
    ):
        self.model = model
        self.options = Options(**options)
        self.reference = reference if reference is None or isinstance(reference, Profile) else Profile.load(reference)
        self._allow = normalise_allow(allow)
        self._info: dict[int, ModuleInfo] = {}
        self._modes = ModeChecks(self.options)
        self._mode = FunctionalMode(self._on_function)
        self._stores: dict[int, StatStore] = {}
        self._slot_order: dict[tuple[str, str, int], int] = {}
        self._handles: list = []
        self._stack: list[ModuleInfo] = []
        self._callers: dict[str, str] = {}  # module -> the module whose forward first called it (sampled)
        self._unregistered_depth = 0
        self._occurrence: dict[tuple[str, str], int] = {}
        self._sampling = False
        self._context: tuple[bool, bool, bool] | None = None
        self._phase = 0
        self.forwards = 0
        self.sampled_forwards = 0
        self.internal_errors: list[str] = []

    # ---- attach / detach ------------------------------------------------------------------------
    def __enter__(self) -> Monitor:
        self.attach()
        return self

    def __exit__(self, *exc) -> None:
        self.detach()

    def attach(self) -> None:
        """Register the hooks; the module tree is read now, so modules added after construction count."""
        if self._handles:
            return
        named = list(self.model.named_modules())
        self._info = {id(m): describe(name, m, order, m is self.model) for order, (name, m) in enumerate(named)}
        self._modes.set_modules(dict(named))
        self._handles = [
            module_hooks.register_module_forward_pre_hook(self._pre_hook),
            module_hooks.register_module_forward_hook(self._post_hook, always_call=True),
            register_optimizer_step_post_hook(self._on_optimizer_step),
        ]

    def detach(self) -> None:
        """Remove every hook and the mode; safe to call twice and after an exception."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._mode.pop()
        self._stack.clear()
        self._unregistered_depth = 0

    @property
    def attached(self) -> bool:
        return bool(self._handles)

    # ---- hot path ---------------------------------------------------------------------------------
    def _pre_hook(self, module: nn.Module, args: tuple) -> None:
        info = self._info.get(id(module))
        if not self._stack:
            if info is None:
                return  # a module outside any monitored forward
            self._begin(module)
        elif info is None:
            if not self._unregistered_depth:
                self._modes.unregistered(module, self._stack[-1].name)
            self._unregistered_depth += 1
            self._stack.append(self._stack[-1])  # functional calls inside it belong to the enclosing module
            return
        elif self._sampling and info.name not in self._callers:
            self._callers[info.name] = self._stack[-1].name
        if self._sampling:
            self._watch_inputs(info, args)
        self._stack.append(info)

    def _watch_inputs(self, info: ModuleInfo, args: tuple) -> None:
        """Stage whether this module's floating-point inputs are already non-finite (one sum kernel each).

        Read before the forward runs, so an in-place forward cannot hide where a NaN came from.
        """
        tensors = [a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point() and a.numel()]
        if not tensors:
            nested = first_float_tensor(args)
            tensors = [] if nested is None else [nested]
        with torch.no_grad(), torch._C.DisableTorchFunction():
            for x in tensors:
                self._guard(self._store(x).observe_input, info.order, x.detach())

    def _post_hook(self, module: nn.Module, args: tuple, output: Any) -> None:
        if not self._stack:
            return
        self._stack.pop()
        info = self._info.get(id(module))
        try:
            if info is None:
                self._unregistered_depth -= 1
            elif output is not None:
                self._after(info, module, args, output)
        finally:
            if not self._stack:
                self._end()

    def _begin(self, module: nn.Module) -> None:
        """Start of an outermost forward: decide whether it is sampled.

        The schedule restarts whenever the context changes (grad on/off, inference mode,
        train/eval), so the first evaluation batch after training is always sampled.
        Only sampled forwards pay for the TorchFunctionMode and for tensor statistics.
        """
        context = (torch.is_grad_enabled(), torch.is_inference_mode_enabled(), module.training)
        if context != self._context:
            self._context, self._phase = context, 0
        self._sampling = self._phase % self.options.every == 0
        self._phase += 1
        self._occurrence.clear()
        if self._sampling:
            self._mode.push()

    def _end(self) -> None:
        self._mode.pop()
        if self._sampling:
            self.sampled_forwards += 1
            with torch.no_grad():
                for store in self._stores.values():
                    self._guard(store.merge, self.forwards)
        self.forwards += 1

    def _after(self, info: ModuleInfo, module: nn.Module, args: tuple, output: Any) -> None:
        training, grad = module.training, torch.is_grad_enabled()
        if grad:
            if not training:
                self._modes.eval_ran[info.name] = True
            elif self._modes.eval_ran:
                self._modes.eval_ran.pop(info.name, None)
        site = None
        if self._sampling and info.collect:
            x = first_float_tensor(output)
            if x is not None:
                site = self._observe(info.name, "", info.activation, x)
        if info.is_dropout:
            self._modes.dropout(info.name, module.p, training, grad)
        elif info.is_batchnorm:
            self._batchnorm(info, module, args, training, grad, site)

    def _batchnorm(
        self, info: ModuleInfo, bn: nn.Module, args: tuple, training: bool, grad: bool, site: tuple[StatStore, int] | None
    ) -> None:
        """Host checks on every forward; in eval, pool the input per channel into the output's slot."""
        x = args[0] if args and isinstance(args[0], torch.Tensor) else None
        tracks = bn.track_running_stats and bn.running_mean is not None
        self._modes.batchnorm(info.name, training, tracks, grad, None if x is None or x.ndim < 2 else x.shape[0])
        if not training and tracks and self._sampling and x is not None and x.ndim >= 2 and x.is_floating_point():
            store, slot = site if site is not None else self._slot(info.name, "", None, x)
            with torch.no_grad(), torch._C.DisableTorchFunction():
                self._guard(store.observe_channels, slot, x, bn.running_mean, bn.running_var, bn.eps)

    def _on_function(self, spec: WatchedFunction, args: tuple, kwargs: dict, result: Any) -> None:
        """Called by the TorchFunctionMode after a watched functional op, inside the model's forward."""
        if not self._stack:
            return
        info = self._stack[-1]
        get = spec.binder.get
        if spec.role in ("dropout", "sdpa"):
            if not info.is_dropout:  # nn.Dropout* modules are judged by their own hook
                training = get(args, kwargs, spec.training_arg) if spec.training_arg else True
                self._modes.dropout(info.name, get(args, kwargs, spec.p_arg), bool(training), torch.is_grad_enabled(), spec.name)
        elif spec.role == "batch_norm":
            if not info.is_batchnorm:
                x = get(args, kwargs, "input")
                batch = x.shape[0] if isinstance(x, torch.Tensor) and x.ndim >= 2 else None
                tracks = get(args, kwargs, "running_mean") is not None
                self._modes.batchnorm(info.name, bool(get(args, kwargs, "training")), tracks, torch.is_grad_enabled(), batch, spec.name)
        elif not info.paramless_leaf and isinstance(result, torch.Tensor) and result.is_floating_point():
            act = spec.activation
            if act.kind == "softmax":
                act = Activation("softmax", dim=get(args, kwargs, "dim"))
            elif act.kind == "hardtanh":
                act = Activation("hardtanh", float(get(args, kwargs, "min_val")), float(get(args, kwargs, "max_val")))
            self._observe(info.name, spec.name, act, result)

    def _store(self, x: torch.Tensor) -> StatStore:
        where = x.get_device()  # an int (-1 on CPU): cheaper than building a torch.device per call
        store = self._stores.get(where)
        if store is None:
            store = self._stores[where] = StatStore(x.device, self.options)
        return store

    def _slot(self, module: str, function: str, act: Activation | None, x: torch.Tensor) -> tuple[StatStore, int]:
        """The store for ``x``'s device and the slot of this call site (module, function, occurrence)."""
        store = self._store(x)
        site = (module, function)
        occurrence = self._occurrence.get(site, 0)
        self._occurrence[site] = occurrence + 1
        key = (module, function, occurrence)
        if key not in self._slot_order:
            self._slot_order[key] = len(self._slot_order)
        return store, store.slot(key, act)

    def _observe(self, module: str, function: str, act: Activation | None, x: torch.Tensor) -> tuple[StatStore, int]:
        store, slot = self._slot(module, function, act, x)
        with torch.no_grad(), torch._C.DisableTorchFunction():
            self._guard(store.observe, slot, x.detach())
        return store, slot

    def _guard(self, fn, *args) -> None:
        """Diagnostics must never break the user's forward: log our own failures and carry on."""
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - reported in report().summary
            if len(self.internal_errors) < 20:
                self.internal_errors.append(f"{type(exc).__name__}: {exc}")
                warnings.warn(f"tensorlint.runtime skipped a statistic: {exc}", RuntimeWarning, stacklevel=2)

    def _on_optimizer_step(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        self._modes.optimizer_step(optimizer, self.forwards)

    # ---- results ------------------------------------------------------------------------------------
    def profile(self) -> Profile:
        """Per-layer activation statistics so far (pulls device accumulators to the host once)."""
        rows = []
        for store in self._stores.values():
            for row in store.snapshot():
                row["order"] = self._slot_order[store.keys[row["slot"]]]
                rows.append(row)
        meta = {"forwards": self.forwards, "sampled_forwards": self.sampled_forwards, "every": self.options.every}
        return Profile.from_rows(rows, self.options, meta)

    def report(self) -> Report:
        """All findings so far, deduplicated per (kind, module), allowlisted ones removed."""
        prof = self.profile()
        findings = activation_findings(list(prof.layers.values()), self.options, self._input_origins()) + self._modes.findings()
        if self.reference is not None:
            findings += drift_findings(prof, self.reference, self.options)
        kept = [f for f in findings if not is_allowed(f, self._allow)]
        # Execution order (a module's first sampled output), then registration order for the rest.
        order = {info.name: (1 << 20) + info.order for info in self._info.values()}
        for layer in reversed(prof.layers.values()):
            order[layer["module"]] = layer["order"]
        summary = {
            "forwards": self.forwards,
            "sampled_forwards": self.sampled_forwards,
            "allowed": len(findings) - len(kept),
            "internal_errors": list(self.internal_errors),
            "options": self.options.to_dict(),
        }
        return Report(sort_findings(kept, order), summary)

    def _input_origins(self) -> NonFiniteInputs:
        """Where non-finite values entered each module: its caller and first forward with a non-finite input."""
        names = {info.order: info.name for info in self._info.values()}
        first: dict[str, int] = {}
        for store in self._stores.values():
            for index, step in store.bad_inputs().items():
                name = names.get(index)
                if name is not None:
                    first[name] = min(step, first.get(name, step))
        return NonFiniteInputs(dict(self._callers), first)

    def hook_count(self) -> int:
        """Hooks this monitor holds right now (0 after exit); the soak test checks it stays constant."""
        return len(self._handles)

    def tensor_count(self) -> int:
        return sum(store.tensor_count() for store in self._stores.values())
