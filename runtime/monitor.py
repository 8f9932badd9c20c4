"""``Monitor``: attaches to a model, watches every forward, and reports what went wrong.

Coverage comes from a global module pre-hook (it also sees modules that are not
registered in the model), hooks of their own on the modules that begin forwards (the
model, a compile wrapper, a submodule called alone) and on Dropout/BatchNorm/RNN layers,
and, only while a sampled forward runs, a global forward hook and a TorchFunctionMode.
Module-level mode checks are host-side flags read in pre-hooks on every forward;
functional checks and tensor statistics run on sampled forwards, and statistics stay
on the device until ``report()``/``profile()``.

What an unsampled forward costs is torch's hook machinery: any global hook, even an
empty one, sends every module call down the slow path (measured on GPT-2,
docs/runtime.md). So a *lean* forward, unsampled with gradients off, runs with no global
hook at all: with grad off the only mode checks are the special layers', in their own
pre-hooks. The global pre-hook is put back when the last lean forward ends (while another
thread runs another forward it stays; lean forwards skip it). Once a compile wrapper has
been seen the global hooks stay put instead, because dynamo guards on them.

Thread safety: the call stack, the sampling decision and the TorchFunctionMode are
per thread (torch's mode stack is thread-local too); the shared accumulators and
event logs are updated under one lock, which is held only for the monitor's own
bookkeeping, never around the user's module code.

``torch.compile``: while dynamo traces, the hooks return at once (``is_compiling()``
is a constant to dynamo), so they add no graph and no graph break. A compiled call of
the monitored model is still counted through the ``OptimizedModule`` wrapper, but its
inside is not inspected.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import threading
import warnings
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn
from torch.nn.modules import module as module_hooks
from torch.optim.optimizer import register_optimizer_step_post_hook, register_optimizer_step_pre_hook

from .checks_activations import COMPILED, NonFiniteInputs, activation_findings
from .checks_gradients import GradientChecks
from .checks_modes import ModeChecks
from . import distributed
from .classify import Activation, ModuleInfo, WatchedFunction, describe
from .drift import check_architecture, drift_findings
from .findings import group_findings, is_allowed, normalise_allow, sort_findings
from .functional_mode import FunctionalMode
from .history import History
from .options import Options
from .profile import INPUT, Profile, architecture
from .report import Report
from .stats import StatStore

_compiling = torch.compiler.is_compiling
_no_torch_function = torch._C.DisableTorchFunction  # a C context manager: cheaper than any Python one
_MODULE_PY = module_hooks.__file__


def _call_frame(limit: int = 10):
    """The frame of torch's module call that runs the calling hook (alive until that call ends)."""
    frame = sys._getframe(2)
    while frame is not None and limit:
        code = frame.f_code
        if code.co_name == "inner" and code.co_filename == _MODULE_PY:
            return frame
        frame, limit = frame.f_back, limit - 1
    return None


def _on_stack(target) -> bool:
    frame = sys._getframe(1)
    while frame is not None:
        if frame is target:
            return True
        frame = frame.f_back
    return False


def first_float_tensor(obj: Any, depth: int = 0) -> torch.Tensor | None:
    """The activation to summarise from an output: a tensor, or the first one in a tuple/dict/dataclass/ModelOutput.

    Inside a container, scalars (a ``ModelOutput``'s loss) are skipped when a non-scalar
    tensor follows: a per-batch scalar is not an activation distribution.
    """
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
    scalar = None
    for item in items:
        found = first_float_tensor(item, depth + 1)
        if found is not None:
            if found.ndim:
                return found
            scalar = scalar if scalar is not None else found
    return scalar


def _top_tensors(obj: Any) -> list[torch.Tensor]:
    """The tensors a model returns directly (itself, or the items of a tuple/dict/dataclass)."""
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, Mapping):
        items: Iterable = obj.values()
    elif isinstance(obj, (tuple, list)):
        items = obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        items = (getattr(obj, f.name) for f in dataclasses.fields(obj))
    else:
        return []
    return [item for item in items if isinstance(item, torch.Tensor)]


def in_reentrant_checkpoint(limit: int = 256) -> bool:
    """True inside the first forward of reentrant activation checkpointing during training.

    ``torch.utils.checkpoint.checkpoint(..., use_reentrant=True)`` (and DeepSpeed's copy)
    runs the wrapped forward under ``no_grad`` in training mode by design, then reruns it
    with gradients in backward. It is training when one of its tensor inputs requires grad
    (reentrant checkpointing yields no gradients otherwise); under an outer ``no_grad`` no
    input does, so a real evaluation without ``eval()`` is still caught. Walking the frames
    costs microseconds, so it is only done when a forward would otherwise be judged as
    inference in training mode.
    """
    frame = sys._getframe(1)
    while frame is not None and limit:
        code = frame.f_code
        if code.co_name == "forward" and code.co_qualname.endswith("CheckpointFunction.forward"):
            args = frame.f_locals.get("args", ())
            return any(isinstance(a, torch.Tensor) and a.requires_grad for a in args)
        frame, limit = frame.f_back, limit - 1
    return False


def _output_tensors(obj: Any, depth: int = 0) -> list[torch.Tensor]:
    """Floating-point and complex tensors in an output, two container levels deep (LSTM's (out, (h, c)))."""
    if isinstance(obj, torch.Tensor):
        return [obj] if (obj.is_floating_point() or obj.is_complex()) and obj.numel() else []
    if depth > 1:
        return []
    if isinstance(obj, Mapping):
        items: Iterable = obj.values()
    elif isinstance(obj, (tuple, list)):
        items = obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        items = (getattr(obj, f.name) for f in dataclasses.fields(obj))
    else:
        return []
    return [t for item in items for t in _output_tensors(item, depth + 1)]


def attention_peaks(q: Any, k: Any, mask: Any, is_causal: bool, scale: float | None, budget: int = 4096) -> torch.Tensor | None:
    """The largest attention probability of a strided subset of query rows, recomputed for sdpa.

    ``F.scaled_dot_product_attention`` never materialises its softmax, so a peaked attention
    is invisible to the softmax check; on sampled forwards this recomputes ``q k^T`` for at
    most ``budget`` logits (two batch items, strided query rows) and returns the row maxima
    with a trailing dimension of 1, for the softmax saturation statistics.
    """
    if not (isinstance(q, torch.Tensor) and isinstance(k, torch.Tensor)) or q.ndim < 3 or q.ndim != k.ndim:
        return None
    if not q.is_floating_point() or q.shape[-1] != k.shape[-1]:
        return None
    L, S = q.shape[-2], k.shape[-2]
    b_step = max(1, -(-q.shape[0] // 2))
    lead = 1
    for d in q.shape[1:-2]:
        lead *= d
    rows = max(1, min(L, budget // max(1, 2 * lead * S)))
    r_step = max(1, -(-L // rows))
    qs = q[::b_step, ..., ::r_step, :].float()
    ks = k[::b_step].float()
    if q.ndim == 4 and qs.shape[1] != ks.shape[1]:
        if qs.shape[1] % ks.shape[1]:
            return None
        ks = ks.repeat_interleave(qs.shape[1] // ks.shape[1], dim=1)  # grouped-query attention
    logits = torch.matmul(qs, ks.transpose(-2, -1)).mul_(scale if scale is not None else q.shape[-1] ** -0.5)
    if is_causal:
        logits.masked_fill_(_causal_mask(L, r_step, S, q.device), -math.inf)
    if isinstance(mask, torch.Tensor):
        m = torch.broadcast_to(mask, (*q.shape[:-2], L, S))[::b_step, ..., ::r_step, :]
        if m.dtype == torch.bool:
            logits.masked_fill_(~m, -math.inf)
        else:
            logits.add_(m.float())
    top = logits.amax(-1, keepdim=True)
    # The largest probability of a row, max(softmax) = 1 / sum(exp(logits - max)): logsumexp's own
    # shift, without computing the maximum twice.
    peaks = logits.sub_(top).exp_().sum(-1, keepdim=True).reciprocal_()
    return torch.where(torch.isfinite(top), peaks, 0.0)  # fully masked rows say nothing


_CAUSAL: dict[tuple, torch.Tensor] = {}


def _causal_mask(L: int, r_step: int, S: int, device: torch.device) -> torch.Tensor:
    """True above the diagonal for query rows 0, r_step, 2 r_step... (cached: the shapes repeat every forward)."""
    key = (L, r_step, S, device)
    found = _CAUSAL.get(key)
    if found is None:
        if len(_CAUSAL) > 32:
            _CAUSAL.clear()
        with torch.inference_mode(False):
            i = torch.arange(0, L, r_step, device=device)[:, None]
            found = _CAUSAL[key] = torch.arange(S, device=device)[None, :] > i
    return found


def lstm_gate_preactivations(lstm: nn.Module, args: tuple, output: Any, positions: int = 256) -> torch.Tensor | None:
    """Gate pre-activations (i, f, g, o) of a one-layer unidirectional ``nn.LSTM`` at strided time steps.

    The fused kernel hides its gates; with one layer the output sequence holds every h_{t-1},
    so ``x_t W_ih^T + h_{t-1} W_hh^T + b`` recomputes them for a few positions.
    """
    if not isinstance(lstm, nn.LSTM) or lstm.num_layers != 1 or lstm.bidirectional or lstm.proj_size:
        return None
    x = args[0] if args else None
    out = output[0] if isinstance(output, tuple) else None
    if not isinstance(x, torch.Tensor) or not isinstance(out, torch.Tensor) or x.ndim != 3 or not x.is_floating_point():
        return None
    if not lstm.batch_first:
        x, out = x.transpose(0, 1), out.transpose(0, 1)  # (batch, time, features)
    hx = args[1] if len(args) > 1 and isinstance(args[1], tuple) else None
    h0 = hx[0][0].unsqueeze(1) if hx is not None else out.new_zeros(out.shape[0], 1, out.shape[-1])
    h_prev = torch.cat([h0.to(out.dtype), out[:, :-1]], dim=1)
    b, t = x.shape[:2]
    step = max(1, -(-(b * t) // positions))
    xs = x.reshape(b * t, -1)[::step].float()
    hs = h_prev.reshape(b * t, -1)[::step].float()
    gates = xs @ lstm.weight_ih_l0.float().t() + hs @ lstm.weight_hh_l0.float().t()
    if lstm.bias:
        gates = gates + (lstm.bias_ih_l0 + lstm.bias_hh_l0).float()
    return gates


def _first_integer_tensor(items: Iterable) -> torch.Tensor | None:
    for item in items:
        if isinstance(item, torch.Tensor) and item.numel() and not item.is_floating_point() and not item.is_complex():
            if item.dtype != torch.bool:
                return item
    return None


def _loss_of(output: Any) -> torch.Tensor | None:
    """A scalar ``loss`` the model returned itself (transformers' ModelOutput, a dict with "loss")."""
    loss = output.get("loss") if isinstance(output, Mapping) else getattr(output, "loss", None)
    if isinstance(loss, torch.Tensor) and loss.numel() == 1 and loss.is_floating_point():
        return loss
    return None


class _ThreadState(threading.local):
    """Per-thread hook state: one forward's call stack, its sampling decision and its TorchFunctionMode."""

    def __init__(self, on_function) -> None:
        self.stack: list[ModuleInfo] = []
        self.unregistered_depth = 0
        self.unregistered: str | None = None  # class of the outermost unregistered module we are inside
        self.occurrence: dict[tuple[str, str], int] = {}
        self.sampling = False
        self.forward = 0  # index of this thread's current outermost forward
        self.mode = FunctionalMode(on_function)
        # id(output) -> (weak reference to it, store, slot), this forward: the weak reference tells a softmax
        # output from a later tensor that reuses its freed id (the model's logits after a dropped softmax)
        self.softmax_outputs: dict[int, tuple[weakref.ref, StatStore, int]] = {}
        self.last_site: tuple[str, str, int] | None = None  # the call site observed last in this forward
        self.compiled = False  # the current outermost forward is a torch.compile wrapper's call
        self.entry: nn.Module | None = None  # the module whose call began the current outermost forward
        self.reentry = 0  # calls of ``entry`` nested inside its own forward
        self.lean = False  # the current forward runs without the global pre-hook (see Monitor._begin)
        self.generation = 0  # Monitor._generation when the current forward began (a detach() ends it)
        # torch's frame for the call of ``entry``: if it is gone while ``entry`` is still set, the forward
        # was left by a BaseException (KeyboardInterrupt), which runs no always_call hook
        self.frame: Any = None


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
        if self.reference is not None:
            check_architecture(self.reference, architecture(model))
        self._allow = normalise_allow(allow)
        self._info: dict[int, ModuleInfo] = {}
        self._modes = ModeChecks(self.options)
        self._grads: GradientChecks | None = None
        self._history = History(self.options)  # bounded snapshots of the accumulators (runtime/history.py)
        self._local = _ThreadState(self._on_function)
        self._lock = threading.RLock()
        self._stores: dict[int, StatStore] = {}
        self._slot_order: dict[tuple[str, str, int], float] = {}  # call site -> execution order (ranked in profile())
        self._last_order = -1.0  # the largest value in _slot_order
        self._specials: tuple[dict, list] | None = None  # (the _info it was read from, [(info, module)])
        self._handles: list = []
        # entry module (one whose call begins a forward) -> its (pre-hook, forward hook) handles
        self._exits: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._pre_handle = None  # the global pre-hook: removed while only lean forwards run (see _begin)
        self._post_handle = None  # the global forward hook, registered while a sampled forward runs
        self._post_users = 0  # threads in a sampled forward
        self._full_users = 0  # threads in a forward that needs the global pre-hook
        self._lean_users = 0  # threads in a lean forward (see _begin)
        self._generation = 0  # bumped by detach(): a forward that began before it ends without counting
        self._pinned = False  # a compile wrapper was seen: global hooks stay put (dynamo guards on them)
        self._special_hooks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Dropout/BN/RNN -> handle
        # unregistered modules found on sampled forwards -> (the module whose forward ran them, its pre-hook)
        self._unregistered_parents: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._callers: dict[str, str] = {}  # module -> the module whose forward first called it (sampled)
        # modules seen running that are not in the model: id -> weak reference, matched by identity
        # (a later module at a freed one's address is not taken for it; a WeakSet would compare
        # modules with their own __eq__)
        self._outside: dict[int, weakref.ref] = {}
        self._context: tuple[bool, bool, bool] | None = None
        self._phase = 0
        self._started = 0
        self.forwards = 0
        self.sampled_forwards = 0
        self.compiled_forwards = 0
        self.internal_errors: list[str] = []

    # ---- copies of monitored modules ---------------------------------------------------------------
    def __deepcopy__(self, memo: dict) -> Monitor:
        """An inert monitor (attached to nothing) for the hooks that copies of a monitored module keep.

        Per-module hooks are bound methods stored in the module, so ``copy.deepcopy`` (an EMA or
        best-model copy) and pickling (``torch.save(model)``) copy the monitor with them, and would
        fail on its lock. The copy is a new module, which this monitor does not watch: its hooks
        get a monitor that watches nothing. (Unpickling one needs tensorlint importable.)
        """
        return _inert()

    def __reduce__(self) -> tuple:
        return (_inert, ())

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
        if self.options.grad_checks and self._grads is None:
            self._grads = GradientChecks(self.model, self.options)
        self._handles = [register_optimizer_step_post_hook(self._on_optimizer_step)]
        if self._grads is not None:
            self._handles.append(register_optimizer_step_pre_hook(self._before_optimizer_step))
        self._place_hooks()  # the global pre-hook (and, once pinned, the global forward hook)
        self._entry_hooks_for(self.model)
        # Registered after the model's entry pre-hook, so it runs once the forward has begun (global
        # pre-hooks never see keyword arguments): it profiles the model's input and counts its
        # distinct rows (dead-units needs several).
        self._handles.append(self.model.register_forward_pre_hook(self._root_inputs, with_kwargs=True))
        self._hook_specials()

    def detach(self) -> None:
        """Remove every hook and the mode; safe to call twice and after an exception."""
        with self._lock:
            handles = [*self._handles, *self._special_hooks.values(), *(h for _, h in self._unregistered_parents.values())]
            for handle in [*handles, *(h for pair in self._exits.values() for h in pair)]:
                handle.remove()
            self._handles = []
            self._exits.clear()
            self._special_hooks.clear()
            self._unregistered_parents.clear()
            for handle in (self._pre_handle, self._post_handle):
                if handle is not None:
                    handle.remove()
            self._pre_handle = self._post_handle = None
            self._post_users = self._full_users = self._lean_users = 0
            self._generation += 1
        t = self._local
        t.mode.pop()
        t.stack.clear()
        t.unregistered_depth = 0
        t.unregistered = None
        t.entry, t.reentry, t.sampling, t.lean = None, 0, False, False

    def _entry_hooks_for(self, module: nn.Module) -> None:
        """Hooks of their own on a module that begins forwards (the model, a compile wrapper, a
        submodule called on its own): a pre-hook that begins the forward, so it is seen even while
        the global pre-hook is away, and a forward hook that ends it, whether it returns or raises."""
        if module in self._exits:  # every forward after the first: no lock needed to read
            return
        with self._lock:
            if module not in self._exits and self._handles:  # not after detach()
                self._exits[module] = (
                    module.register_forward_pre_hook(self._entry_pre_hook, prepend=True),  # before its other hooks
                    module.register_forward_hook(self._exit_hook, always_call=True),
                )

    def _hook_specials(self) -> None:
        """A pre-hook of its own on every Dropout, BatchNorm and stacked-RNN-dropout layer: lean
        forwards run without the global pre-hook, and these layers' mode checks run on every forward."""
        for _, module in self._special_modules():
            if module not in self._special_hooks:
                self._special_hooks[module] = module.register_forward_pre_hook(self._special_pre_hook)

    @property
    def attached(self) -> bool:
        return bool(self._handles)

    # ---- hot path ---------------------------------------------------------------------------------
    def _pre_hook(self, module: nn.Module, args: tuple) -> None:
        if _compiling():
            return  # dynamo is tracing: add nothing to the graph
        t = self._local
        if t.entry is None:
            if module not in self._exits:  # entry modules begin forwards in their own pre-hook
                self._enter(t, module, args)
            return
        if t.lean:
            return  # present for another thread's forward; this one's checks run in per-module hooks
        if not t.sampling:  # a compiled forward: eager layers of a graph break, host-side checks only
            info = self._info.get(id(module))
            if info is not None and not info.special:  # special layers: _special_pre_hook
                self._mode_checks(info, module, args)
        else:  # the monitor's own tensor calls must not go through its TorchFunctionMode
            with _no_torch_function():
                self._pre(t, module, args)

    def _entry_pre_hook(self, module: nn.Module, args: tuple) -> None:
        """A module that begins forwards: begin one here, or count a call of it inside its own forward."""
        if _compiling():
            return
        t = self._local
        if module is t.entry and t.frame is not None and not _on_stack(t.frame):
            self._abandon(t)  # its last forward was interrupted (Ctrl-C in a notebook): end it now
        if t.entry is None:
            self._enter(t, module, args)
        elif module is t.entry:
            t.reentry += 1

    def _abandon(self, t: _ThreadState) -> None:
        """End a forward that a KeyboardInterrupt (or another BaseException) left without its exit hook."""
        try:
            self._end(t)
        except Exception as exc:  # noqa: BLE001 - never break the user's forward
            self._internal(exc)
            t.entry = None

    def _special_pre_hook(self, module: nn.Module, args: tuple) -> None:
        """A Dropout, BatchNorm or stacked-RNN layer in an unsampled forward: its train/eval checks.

        Sampled forwards check it in ``_pre``, where it also joins the call stack.
        """
        if _compiling():
            return
        t = self._local
        if t.entry is None or t.sampling or t.compiled:  # a compiled forward checked every such layer in _enter
            return
        info = self._info.get(id(module))
        if info is not None:
            self._mode_checks(info, module, args)

    def _unregistered_pre_hook(self, module: nn.Module, args: tuple) -> None:
        """An unregistered module found on a sampled forward: counted on every unsampled forward too."""
        if _compiling():
            return
        t = self._local
        if t.entry is None or t.sampling:
            return  # sampled forwards record it in _pre
        found = self._unregistered_parents.get(module)
        if found is not None:
            with self._lock:
                self._guard(self._modes.unregistered, module, found[0])

    def _enter(self, t: _ThreadState, module: nn.Module, args: tuple) -> None:
        """A call outside any monitored forward: the model (or a part of it, or its compile wrapper) begins one."""
        info = self._info.get(id(module))
        compiled = info is None
        try:
            if compiled:
                info = self._compiled_root(module)
                if info is None:
                    return  # a module outside the model
                if not self._pinned:
                    self._pin()
            self._begin(t, module._orig_mod if compiled else module, args, compiled)
            t.entry = module
            t.frame = _call_frame()
            self._entry_hooks_for(module)
            if compiled:
                if t.sampling:
                    t.stack.append(info)
                self._compiled_before(t, info, args)
                return
            if t.sampling:
                with _no_torch_function():
                    if not info.finite_preserving:
                        self._watch_inputs(t, info, args)
                    t.stack.append(info)
            if t.sampling or not info.special:  # unsampled: a special layer's own pre-hook runs next
                self._mode_checks(info, module, args)
        except Exception as exc:  # noqa: BLE001 - never break the user's forward
            self._internal(exc)

    def _mode_checks(self, info: ModuleInfo, module: nn.Module, args: tuple) -> None:
        """Host-side checks on every forward: which layers ran in eval mode with grad on, and the
        train/eval flags of Dropout, BatchNorm and stacked RNN layers (read before the layer runs)."""
        training = module.training
        special = info.special
        try:
            grad = self._effective_grad(training) if special else torch.is_grad_enabled()
            if grad:  # single dict operations: atomic under the GIL, no lock on the hot path
                if not training:
                    self._modes.eval_ran[info.name] = True
                elif self._modes.eval_ran:
                    self._modes.eval_ran.pop(info.name, None)
            if not special:
                return
            with self._lock:
                if info.is_dropout:
                    self._modes.dropout(info.name, module.p, training, grad)
                elif info.rnn_dropout:
                    self._modes.dropout(info.name, module.dropout, training, grad, rnn=type(module).__name__)
                if info.is_batchnorm:
                    x = args[0] if args and isinstance(args[0], torch.Tensor) else None
                    tracks = module.track_running_stats and module.running_mean is not None
                    self._modes.batchnorm(info.name, training, tracks, grad, None if x is None or x.ndim < 2 else x.shape[0])
        except Exception as exc:  # noqa: BLE001 - never break the user's forward
            self._internal(exc)

    def _pre(self, t: _ThreadState, module: nn.Module, args: tuple) -> None:
        """A module call inside a sampled forward: keep the call stack, check its inputs."""
        stack = t.stack
        info = self._info.get(id(module))
        try:
            if info is None:
                info = self._adopt(module)
            if info is None:
                if not t.unregistered_depth:
                    t.unregistered = type(module).__name__
                    with self._lock:
                        self._modes.unregistered(module, stack[-1].name)
                        if module not in self._unregistered_parents and self._handles:
                            handle = module.register_forward_pre_hook(self._unregistered_pre_hook)
                            self._unregistered_parents[module] = (stack[-1].name, handle)
                t.unregistered_depth += 1
                stack.append(stack[-1])  # functional calls inside it belong to the enclosing module
                return
            if info.name not in self._callers:
                self._callers[info.name] = stack[-1].name
            if not info.finite_preserving:  # for those, a non-finite output says the input was
                self._watch_inputs(t, info, args)
        except Exception as exc:  # noqa: BLE001 - never break the user's forward
            self._internal(exc)
            if info is None:
                stack.append(stack[-1])
                return
        stack.append(info)
        if not (t.compiled and info.special):  # a compiled forward checked every such layer in _enter
            self._mode_checks(info, module, args)

    def _adopt(self, module: nn.Module) -> ModuleInfo | None:
        """A module unknown at attach time that is now in the model (a head assigned while monitored).

        Re-reads the module tree once per such module; modules that really are unregistered
        are remembered. Stateless helpers built in forward (a loss module) never trigger it.
        """
        key = id(module)
        seen = self._outside.get(key)
        if seen is not None and seen() is module:
            return None
        layers = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)
        stateful = next(module.parameters(), None) is not None or next(module.buffers(), None) is not None
        if not stateful and not any(isinstance(m, layers) for m in module.modules()):
            return None
        with self._lock:
            named = list(self.model.named_modules())
            if not any(m is module for _, m in named):
                if len(self._outside) > 4096:
                    self._outside.clear()
                self._outside[key] = weakref.ref(module)
                return None
            old, fresh = self._info, {}
            order = max((i.order for i in old.values()), default=-1) + 1
            for name, m in named:
                known = old.get(id(m))
                if known is not None and known.name == name:
                    fresh[id(m)] = known
                else:
                    fresh[id(m)] = describe(name, m, order, m is self.model)
                    order += 1
            self._info = fresh
            self._modes.set_modules(dict(named))
            if self._handles:
                self._hook_specials()
            return fresh[key]

    def _compiled_root(self, module: nn.Module) -> ModuleInfo | None:
        """The monitored module an ``OptimizedModule`` (``torch.compile(model)``) wraps, if any."""
        # read from _modules: getattr would raise and catch AttributeError inside nn.Module for every
        # module called outside the model (a loss module after each forward: 6 µs a call, measured)
        inner = module._modules.get("_orig_mod")
        return None if inner is None else self._info.get(id(inner))

    def _watch_inputs(self, t: _ThreadState, info: ModuleInfo, args: tuple) -> None:
        """Stage whether this module's floating-point inputs are already non-finite (one sum kernel each).

        Read before the forward runs, so an in-place forward cannot hide where a NaN came from.
        """
        if len(args) == 1:  # the common case, without building a list
            a = args[0]
            tensors = (a,) if isinstance(a, torch.Tensor) and a.is_floating_point() and a.numel() else ()
        else:
            tensors = [a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point() and a.numel()]
        if not tensors:
            nested = first_float_tensor(args)
            if nested is None:
                return
            tensors = [nested]
        index = 2 * info.order  # even: an input
        with self._lock, _no_torch_function():
            for x in tensors:
                try:
                    self._store(x).observe_input(index, x)
                except Exception as exc:  # noqa: BLE001 - diagnostics never break the user's forward
                    self._internal(exc)

    def _post_hook(self, module: nn.Module, args: tuple, output: Any) -> None:
        """Registered only while some thread runs a sampled forward; other threads' calls return at once."""
        if _compiling():
            return
        t = self._local
        if not t.sampling or not t.stack:
            return
        with _no_torch_function():  # the monitor's own tensor calls must not go through its TorchFunctionMode
            self._post(t, module, args, output)

    def _post(self, t: _ThreadState, module: nn.Module, args: tuple, output: Any) -> None:
        t.stack.pop()
        info = self._info.get(id(module))
        try:
            if info is None:
                if t.unregistered_depth:
                    t.unregistered_depth -= 1
                    if not t.unregistered_depth:
                        t.unregistered = None
            elif output is not None:
                self._after(t, info, module, args, output)
        except Exception as exc:  # noqa: BLE001 - never break the user's forward
            self._internal(exc)

    def _exit_hook(self, module: nn.Module, args: tuple, output: Any) -> None:
        """The end of the call that began the forward: its loss, the compiled wrapper's output, the merge."""
        if _compiling():
            return
        t = self._local
        if t.entry is not module:
            return  # called inside another forward, or outside any
        if t.reentry:
            t.reentry -= 1
            return
        try:
            if t.sampling:
                with _no_torch_function():
                    self._finish(t, module, output)
            else:
                self._finish(t, module, output)
        finally:
            self._end(t)

    def _finish(self, t: _ThreadState, module: nn.Module, output: Any) -> None:
        try:
            if output is None:
                return
            if t.compiled:
                self._compiled_after(t, module._orig_mod, output)
                return
            if t.softmax_outputs:
                self._mark_model_outputs(t, output)
            if self._grads is not None and module.training and torch.is_grad_enabled():
                loss = _loss_of(output)
                if loss is not None:
                    with self._lock:
                        self._grads.observe_loss(loss)
        except Exception as exc:  # noqa: BLE001 - never break the user's forward
            self._internal(exc)

    def _begin(self, t: _ThreadState, module: nn.Module, args: tuple, compiled: bool = False) -> None:
        """Start of an outermost forward: decide whether it is sampled.

        The schedule restarts whenever the context changes (grad on/off, inference mode,
        train/eval), so the first evaluation batch after training is always sampled.
        Only sampled forwards pay for the TorchFunctionMode and for tensor statistics.
        """
        context = (torch.is_grad_enabled(), torch.is_inference_mode_enabled(), module.training)
        with self._lock:
            if compiled:
                self.compiled_forwards += 1
            if context != self._context:
                self._context, self._phase = context, 0
            sampling = self._phase % self.options.every == 0
            self._phase += 1
            t.forward = self._started
            self._started += 1
            self._modes.forward = t.forward
            # Lean: unsampled, gradients off, and no compile wrapper seen (dynamo guards on the
            # global hook dictionaries, so hooks that come and go would recompile it). With grad
            # off the only mode checks are the special layers', in their own pre-hooks, so the
            # global pre-hook is removed while only lean forwards run: then torch calls every
            # other layer without its hook machinery.
            lean = not (sampling or compiled or context[0] or self._pinned)
            if lean:
                self._lean_users += 1
            else:
                self._full_users += 1
            if sampling:
                self._post_users += 1
            self._place_hooks()
        t.sampling = sampling
        t.lean = lean
        t.generation = self._generation
        t.occurrence.clear()
        t.softmax_outputs.clear()
        t.last_site = None
        t.unregistered_depth = 0
        t.unregistered = None
        t.compiled = compiled
        t.reentry = 0
        t.stack.clear()
        if sampling and not compiled:  # a mode would make dynamo recompile (or break) the compiled code
            t.mode.push()

    # ---- torch.compile: what stays observable around a compiled region ------------------------------
    def _compiled_before(self, t: _ThreadState, info: ModuleInfo, args: tuple) -> None:
        """A call of ``torch.compile(model)``: the layers inside run as compiled code and call no hooks.

        What the wrapper's call still shows, without touching the compiled graph: the train/eval
        flags of every Dropout/BatchNorm/RNN layer (host values), and on sampled forwards the
        model's positional input (profile and non-finite check). Gradient checks are unaffected.
        """
        with self._lock:
            if torch.is_grad_enabled() and not self.model.training:
                self._modes.eval_ran[info.name] = True
            for sub, module in self._special_modules():
                self._mode_checks(sub, module, ())  # no input known inside compiled code: no batch size
        if t.sampling:
            with _no_torch_function():
                x = first_float_tensor(args)
                if x is None:
                    x = _first_integer_tensor(args)
                if x is not None:
                    with self._lock:
                        if self.options.profile_input:
                            self._observe(t, info.name, INPUT, None, x)
                        self._guard(self._store(x).observe_rows, x)
            self._watch_inputs(t, info, args)

    def _compiled_after(self, t: _ThreadState, root: nn.Module, output: Any) -> None:
        """The compiled call's output: statistics and non-finite checks under ``"::<compiled>"``, and its loss."""
        info = self._info.get(id(root))
        if info is None:
            return
        if t.sampling:
            with _no_torch_function():
                x = first_float_tensor(output)
                with self._lock:
                    if x is not None:
                        self._observe(t, info.name, COMPILED, None, x)
                    if not isinstance(output, torch.Tensor) or output.is_complex():
                        self._watch_outputs(t, info, output, x)
        if self._grads is not None and root.training and torch.is_grad_enabled():
            loss = _loss_of(output)
            if loss is not None:
                with self._lock:
                    self._grads.observe_loss(loss)

    def _special_modules(self) -> list[tuple[ModuleInfo, nn.Module]]:
        """The model's Dropout, BatchNorm, LSTM and stacked-RNN-dropout layers (``special``), as of the last module-tree read."""
        found = self._specials
        if found is None or found[0] is not self._info:
            modules = dict(self.model.named_modules())
            found = self._specials = (self._info, [
                (i, modules[i.name]) for i in self._info.values()
                if i.special and i.name in modules
            ])  # fmt: skip
        return found[1]

    def _root_inputs(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        """Profile the model's own input on sampled forwards (``"::<input>"``), positional or keyword.

        The first floating-point tensor, else the first integer one (token ids), so a shift in
        the data is seen where it enters.
        """
        if _compiling():
            return
        t = self._local
        if not t.sampling or len(t.stack) != 1:
            return
        try:
            with _no_torch_function():
                x = first_float_tensor((args, kwargs))
                if x is None:
                    x = _first_integer_tensor((*args, *kwargs.values()))
                if x is not None:
                    with self._lock:
                        if self.options.profile_input:
                            self._observe(t, t.stack[0].name, INPUT, None, x)
                        self._guard(self._store(x).observe_rows, x)
        except Exception as exc:  # noqa: BLE001 - never break the user's forward
            self._internal(exc)

    def _end(self, t: _ThreadState) -> None:
        try:
            t.mode.pop()
        except Exception as exc:  # noqa: BLE001
            self._internal(exc)
        with self._lock:
            if t.generation == self._generation:  # else detach() already reset the counts
                if t.lean:
                    self._lean_users -= 1
                else:
                    self._full_users -= 1
                if t.sampling:
                    self._post_users -= 1
                self._place_hooks()
            if t.sampling:
                self.sampled_forwards += 1
                with torch.no_grad():
                    for store in self._stores.values():
                        self._guard(store.merge, t.forward)
                    self._guard(self._history.after_forward, self._stores, t.forward)
            self.forwards += 1
        t.sampling = t.lean = False
        t.entry = t.frame = None

    def _pin(self) -> None:
        """Keep both global hooks registered from now on: dynamo guards on the global hook
        dictionaries (their keys), so a hook removed and registered again recompiles the model,
        and after ``recompile_limit`` graphs it runs eagerly."""
        with self._lock:
            self._pinned = True
            self._place_hooks()

    def _place_hooks(self) -> None:
        """Hold or remove the two global hooks from the counts of forwards in progress (under the lock).

        The pre-hook stays unless every forward in progress is lean (outside forwards it finds
        compile wrappers and submodules called on their own); the forward hook only while a
        sampled forward runs. Pinned, both stay; after detach() nothing is registered.
        """
        want_pre = self._full_users > 0 or self._lean_users <= 0 or self._pinned
        if want_pre and self._pre_handle is None and self._handles:
            self._pre_handle = module_hooks.register_module_forward_pre_hook(self._pre_hook)
        elif not want_pre and self._pre_handle is not None:
            self._pre_handle.remove()
            self._pre_handle = None
        want_post = self._post_users > 0 or self._pinned
        if want_post and self._post_handle is None and self._handles:
            self._post_handle = module_hooks.register_module_forward_hook(self._post_hook, always_call=True)
        elif not want_post and self._post_handle is not None:
            self._post_handle.remove()
            self._post_handle = None

    def _effective_grad(self, training: bool) -> bool:
        """Grad mode for the train/eval checks: a reentrant checkpoint's no_grad forward counts as training."""
        grad = torch.is_grad_enabled()
        if not grad and training and not torch.is_inference_mode_enabled():
            return in_reentrant_checkpoint()
        return grad

    def _after(self, t: _ThreadState, info: ModuleInfo, module: nn.Module, args: tuple, output: Any) -> None:
        """A module's output in a sampled forward: statistics, other non-finite outputs, LSTM gates, BatchNorm channels."""
        with self._lock:
            site = None
            if isinstance(output, torch.Tensor) and output.is_floating_point():  # the common case, in short
                x, other = (output if output.numel() else None), False
            else:
                x, other = first_float_tensor(output), True
            if x is not None and info.collect:
                site = self._observe(t, info.name, "", info.activation, x)
            if other and (not isinstance(output, torch.Tensor) or output.is_complex()):
                self._watch_outputs(t, info, output, x)
            if info.lstm:
                with torch.no_grad(), torch._C.DisableTorchFunction():
                    gates = lstm_gate_preactivations(module, args, output)
                    if gates is not None:  # tanh(pre) is saturated exactly when |pre| >= 5, as for the sigmoid gates
                        gates = gates.tanh_()
                if gates is not None:
                    self._observe(t, info.name, "LSTM gates", Activation("tanh", name="LSTM gates"), gates)
            if info.is_batchnorm:
                self._batchnorm(t, info, module, args, site)

    def _watch_outputs(self, t: _ThreadState, info: ModuleInfo, output: Any, observed: torch.Tensor | None) -> None:
        """Stage whether the other outputs (a tuple's second item, LSTM's (h, c), a complex tensor) are non-finite.

        One sum kernel each, staged like the inputs (odd index: an output), so NaN outside the
        first floating-point output is still found and placed in execution order.
        """
        extra = [x for x in _output_tensors(output) if x is not observed]
        if not extra:
            return
        key = (info.name, "<outputs>", 0)
        self._place_site(t, key)
        t.last_site = key
        with _no_torch_function():
            for x in extra:
                x = torch.view_as_real(x.detach()) if x.is_complex() else x.detach()
                self._guard(self._store(x).observe_input, 2 * info.order + 1, x)

    def _batchnorm(self, t: _ThreadState, info: ModuleInfo, bn: nn.Module, args: tuple, site: tuple[StatStore, int] | None) -> None:
        """In eval, pool the input per channel into the output's slot (sampled forwards)."""
        x = args[0] if args and isinstance(args[0], torch.Tensor) else None
        tracks = bn.track_running_stats and bn.running_mean is not None
        if not bn.training and tracks and x is not None and x.ndim >= 2 and x.is_floating_point():
            store, slot = site if site is not None else self._slot(t, info.name, "", None, x)
            with torch.no_grad(), torch._C.DisableTorchFunction():
                self._guard(store.observe_channels, slot, x, bn.running_mean, bn.running_var, bn.eps)

    def _on_function(self, spec: WatchedFunction, args: tuple, kwargs: dict, result: Any) -> None:
        """Called by the TorchFunctionMode after a watched functional op, inside the model's forward."""
        t = self._local
        if not t.stack:
            return
        try:
            self._function(t, spec, args, kwargs, result)
        except Exception as exc:  # noqa: BLE001 - never break the user's forward
            self._internal(exc)

    def _function(self, t: _ThreadState, spec: WatchedFunction, args: tuple, kwargs: dict, result: Any) -> None:
        info = t.stack[-1]
        get = spec.binder.get
        if spec.role == "sdpa" and t.sampling and not info.paramless_leaf and isinstance(result, torch.Tensor):
            with torch.no_grad(), torch._C.DisableTorchFunction():
                peaks = attention_peaks(get(args, kwargs, "query"), get(args, kwargs, "key"), get(args, kwargs, "attn_mask"),
                                        bool(get(args, kwargs, "is_causal")), get(args, kwargs, "scale"))  # fmt: skip
            if peaks is not None:
                with self._lock:
                    self._observe(t, info.name, spec.name, Activation("softmax", dim=-1, name="attention"), peaks, returnable=False)
        if spec.role in ("dropout", "sdpa"):
            if not info.is_dropout:  # nn.Dropout* modules are judged by their own hook
                training = bool(get(args, kwargs, spec.training_arg) if spec.training_arg else True)
                grad = self._effective_grad(training)
                with self._lock:
                    self._modes.dropout(info.name, get(args, kwargs, spec.p_arg), training, grad, spec.name, t.unregistered)
        elif spec.role == "batch_norm":
            if not info.is_batchnorm:
                x = get(args, kwargs, "input")
                batch = x.shape[0] if isinstance(x, torch.Tensor) and x.ndim >= 2 else None
                tracks = get(args, kwargs, "running_mean") is not None
                training = bool(get(args, kwargs, "training"))
                grad = self._effective_grad(training)
                with self._lock:
                    self._modes.batchnorm(info.name, training, tracks, grad, batch, spec.name, t.unregistered)
        elif not info.paramless_leaf and isinstance(result, torch.Tensor) and result.is_floating_point():
            act = spec.activation
            if act.kind == "softmax":
                act = Activation("softmax", dim=get(args, kwargs, "dim"))
            elif act.kind == "hardtanh":
                act = Activation("hardtanh", float(get(args, kwargs, "min_val")), float(get(args, kwargs, "max_val")))
            with self._lock:
                self._observe(t, info.name, spec.name, act, result)

    def _mark_model_outputs(self, t: _ThreadState, output: Any) -> None:
        """Softmax call sites whose result the model returns: a confident classifier, not a saturated layer."""
        for x in _top_tensors(output):
            found = t.softmax_outputs.get(id(x))
            if found is not None and found[0]() is x:
                with self._lock:
                    found[1].model_outputs.add(found[2])

    def _store(self, x: torch.Tensor) -> StatStore:
        where = x.get_device()  # an int (-1 on CPU): cheaper than building a torch.device per call
        store = self._stores.get(where)
        if store is None:
            store = self._stores[where] = StatStore(x.device, self.options)
        return store

    def _slot(self, t: _ThreadState, module: str, function: str, act: Activation | None, x: torch.Tensor) -> tuple[StatStore, int]:
        """The store for ``x``'s device and the slot of this call site (module, function, occurrence)."""
        store = self._store(x)
        site = (module, function)
        occurrence = t.occurrence.get(site, 0)
        t.occurrence[site] = occurrence + 1
        key = (module, function, occurrence)
        self._place_site(t, key)
        return store, store.slot(key, act)

    def _place_site(self, t: _ThreadState, key: tuple[str, str, int]) -> None:
        """Give a call site seen for the first time its place in execution order (a known one keeps its own)."""
        if key not in self._slot_order:
            self._slot_order[key] = self._execution_order(t)

    def _execution_order(self, t: _ThreadState) -> float:
        """Where a new call site goes in execution order: right after the site this forward observed
        before it. Numbered by first appearance alone, a layer added while monitored (a new head)
        would sort after the modules that enclose it, and its NaN would be blamed on them."""
        orders = self._slot_order
        prev = orders.get(t.last_site) if t.last_site is not None else None
        if not orders or (prev is not None and prev >= self._last_order):  # the common case: the first forward
            self._last_order = 0.0 if prev is None else prev + 1.0
            return self._last_order
        if prev is None:  # before everything seen so far
            return min(orders.values()) - 1.0
        following = min(v for v in orders.values() if v > prev)
        mid = (prev + following) / 2
        if not prev < mid < following:  # ~50 sites halved one gap down to nothing: renumber 0, 1, 2...
            for i, site in enumerate(sorted(orders, key=orders.__getitem__)):
                orders[site] = float(i)
            self._last_order = float(len(orders) - 1)
            prev = orders[t.last_site]
            mid = prev + 0.5  # prev is not the last (that case returned above): the next site is prev + 1
        return mid

    def _order_ranks(self) -> dict[tuple[str, str, int], int]:
        """Call site -> its position in execution order, 0, 1, 2... (what profiles and reports hold)."""
        return {key: i for i, key in enumerate(sorted(self._slot_order, key=self._slot_order.__getitem__))}

    def _observe(
        self, t: _ThreadState, module: str, function: str, act: Activation | None, x: torch.Tensor, returnable: bool = True
    ) -> tuple[StatStore, int]:
        """Statistics of ``x`` in its call site's slot. ``returnable``: ``x`` is a tensor of the forward
        itself (not one the monitor computed), so a softmax the model returns can be told apart."""
        with self._lock:
            store = self._stores.get(x.get_device())
            site = (module, function)
            occurrence = t.occurrence.get(site, 0)
            t.occurrence[site] = occurrence + 1
            key = (module, function, occurrence)
            slot = None if store is None else store.index.get(key)
            if slot is None:  # a call site seen for the first time (on this device)
                t.occurrence[site] = occurrence
                store, slot = self._slot(t, module, function, act, x)
            t.last_site = key
            with _no_torch_function():  # x is detached: autograd records nothing, no no_grad needed
                try:
                    store.observe(slot, x.detach() if x.requires_grad else x)
                except Exception as exc:  # noqa: BLE001 - diagnostics never break the user's forward
                    self._internal(exc)
        if returnable and act is not None and act.kind == "softmax":
            t.softmax_outputs[id(x)] = (weakref.ref(x), store, slot)
        return store, slot

    def _internal(self, exc: BaseException) -> None:
        with self._lock:
            if len(self.internal_errors) < 20:
                self.internal_errors.append(f"{type(exc).__name__}: {exc}")
                warnings.warn(f"tensorlint.runtime skipped a statistic: {exc}", RuntimeWarning, stacklevel=3)

    def _guard(self, fn, *args) -> None:
        """Diagnostics must never break the user's forward: log our own failures and carry on."""
        try:
            fn(*args)
        except Exception as exc:  # noqa: BLE001 - reported in report().summary
            self._internal(exc)

    def _before_optimizer_step(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        if _compiling() or self._grads is None:
            return
        with self._lock:
            self._guard(self._grads.before_step, optimizer)
            self._guard(self._history.after_grad_step, self._grads)

    def _on_optimizer_step(self, optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> None:
        if _compiling():
            return
        with self._lock:
            self._guard(self._modes.optimizer_step, optimizer, self.forwards)
            if self._grads is not None:
                self._guard(self._grads.after_step, optimizer)

    def observe_loss(self, loss: torch.Tensor) -> None:
        """Record a training loss computed outside the model (NaN and not-decreasing checks; no host sync).

        A ``loss`` returned by the model itself (transformers' ``ModelOutput.loss``) is recorded automatically.
        """
        if self._grads is not None and isinstance(loss, torch.Tensor) and loss.numel() == 1:
            with self._lock:
                self._guard(self._grads.observe_loss, loss)

    # ---- results ------------------------------------------------------------------------------------
    def profile(self, *, local: bool = False) -> Profile:
        """Per-layer activation statistics so far (pulls device accumulators to the host once).

        Under torch.distributed this is a collective that merges every rank (runtime/distributed.py);
        ``local=True`` describes this rank alone.
        """
        with self._lock:
            rows = []
            rank = self._order_ranks()
            for store in self._stores.values():
                for row in store.snapshot():
                    row["order"] = rank[store.keys[row["slot"]]]
                    rows.append(row)
            meta = {
                "forwards": self.forwards,
                "sampled_forwards": self.sampled_forwards,
                "every": self.options.every,
                "architecture": architecture(self.model),
            }
        if not local:
            rows, meta = distributed.reduce_profile(rows, meta, self.options.hist_bins)
        return Profile.from_rows(rows, self.options, meta)

    def report(self, *, local: bool = False) -> Report:
        """All findings so far, one row per (kind, cause), allowlisted ones removed; never raises."""
        try:
            return self._report(local)
        except Exception as exc:  # noqa: BLE001 - a broken report must not take the user's job down
            self._internal(exc)
            return Report([], self._summary(0), [])

    def _summary(self, allowed: int) -> dict[str, Any]:
        return {
            "forwards": self.forwards,
            "sampled_forwards": self.sampled_forwards,
            "compiled_forwards": self.compiled_forwards,
            "optimizer_steps": 0 if self._grads is None else self._grads.steps,
            "sampled_optimizer_steps": 0 if self._grads is None else self._grads.sampled_steps,
            "allowed": allowed,
            "internal_errors": list(self.internal_errors),
            "options": self.options.to_dict(),
            "notes": self._notes(),
        }

    def _notes(self) -> list[str]:
        """What the monitor could not see, said in the report (torch.compile)."""
        notes = []
        if self.compiled_forwards:
            notes.append(
                f"{self.compiled_forwards} of {self.forwards} forwards ran through torch.compile: compiled code calls no "
                "module hooks, so for those only the model's input and output, the train/eval flags of its Dropout/"
                "BatchNorm layers and the gradient checks were seen; run a forward without torch.compile to check each layer."
            )
        if getattr(self.model, "_compiled_call_impl", None) is not None:
            notes.append(
                "model.compile() was called in place: those forwards bypass every hook and are not seen at all; "
                "monitor torch.compile(model) (a wrapper) instead, or run some forwards without compile."
            )
        return notes

    def _report(self, local: bool = False) -> Report:
        prof = self.profile(local=True)  # each rank judges its own statistics; findings are gathered below
        modules = dict(self.model.named_modules())
        for layer in prof.layers.values():
            bn = modules.get(layer["module"]) if "bn_mean_z" in layer else None
            tracked = getattr(bn, "num_batches_tracked", None)
            if isinstance(tracked, torch.Tensor):
                layer["bn_batches_tracked"] = int(tracked)  # report time: the one place the monitor syncs
        with self._lock:
            distinct = [n for store in self._stores.values() if (n := store.distinct_rows()) is not None]
            findings = activation_findings(
                list(prof.layers.values()), self.options, self._input_origins(prof), max(distinct) if distinct else None
            )
            findings += self._modes.findings()
        if self.reference is not None:
            findings += drift_findings(prof, self.reference, self.options)
        # Execution order (a module's first sampled output), then registration order for the rest.
        order = {info.name: (1 << 20) + info.order for info in self._info.values()}
        for layer in reversed(prof.layers.values()):
            order[layer["module"]] = layer["order"]
        if self._grads is not None:
            with self._lock:
                findings += self._grads.findings(order)
        kept = [f for f in findings if not is_allowed(f, self._allow)]
        detailed = sort_findings(kept, order)
        summary = self._summary(len(findings) - len(kept))
        if not local and distributed.active():  # collectives: every rank's findings, tagged with their ranks
            detailed, summary = distributed.gather_findings(detailed, summary)
            detailed, prof = sort_findings(detailed, order), self.profile()
        report = Report(group_findings(detailed), summary, detailed)
        report.attach(profile=prof, history=self._history.freeze(), reference=self.reference)  # for save_html
        return distributed.stamp(report)

    def _input_origins(self, prof: Profile) -> NonFiniteInputs:
        """Where non-finite values entered each module (its caller, first bad input) and other outputs that went bad
        (called under the lock, by report()).

        A finite-preserving layer (ReLU, max pooling, a reshape...) has no input sum: its output was
        non-finite only if its input was, so its first non-finite output stands for its first bad input.
        """
        names = {info.order: info.name for info in self._info.values()}
        first: dict[str, int] = {}
        outputs: dict[str, int] = {}
        for store in self._stores.values():
            for index, step in store.bad_inputs().items():
                name = names.get(index // 2)
                if name is not None:
                    into = outputs if index % 2 else first
                    into[name] = min(step, into.get(name, step))
        preserving = {info.name for info in self._info.values() if info.finite_preserving}
        for layer in prof.layers.values():
            step = layer.get("first_nonfinite_forward")
            if step is not None and not layer["function"] and layer["module"] in preserving:
                first[layer["module"]] = min(step, first.get(layer["module"], step))
        order = {key[0]: value for key, value in self._order_ranks().items() if key[1] == "<outputs>"}
        return NonFiniteInputs(dict(self._callers), first, outputs, order)

    def hook_count(self) -> int:
        """Hooks this monitor holds right now (0 after exit); the soak test checks it stays constant."""
        held = len(self._handles) + 2 * len(self._exits) + len(self._special_hooks) + len(self._unregistered_parents)
        return held + (self._pre_handle is not None) + (self._post_handle is not None)

    def tensor_count(self) -> int:
        grads = 0 if self._grads is None else self._grads.tensor_count()
        return sum(store.tensor_count() for store in self._stores.values()) + grads


def _inert() -> Monitor:
    """A monitor of an empty module, never attached: hooks bound to it return at once."""
    return Monitor(nn.Module())
