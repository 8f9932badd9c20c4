"""What each module and watched function is, decided once at attach time.

Hooks run on every forward of every module, so everything that can be decided from
the module's class (is it dropout? a saturating activation?) is computed here once.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

SATURATING = ("sigmoid", "tanh", "softsign", "hardtanh", "hardsigmoid", "softmax")
# Third-party ReLU-family activation classes, matched on the whole class name (never a substring:
# PixelUnshuffle contains "elu"): transformers' NewGELUActivation, QuickGELUActivation, GELUTanh,
# SiLUActivation, MishActivation, ReLUSquaredActivation; timm's GELU, QuickGELU, Swish, HardSwish...
_RELU_CLASS_NAME = re.compile(
    r"(new|fast|quick|accurate|pytorch|clipped|approximate)?"
    r"(relu|relu6|leakyrelu|gelu|silu|swish|hardswish|mish|hardmish|elu|celu|selu)"
    r"(tanh|squared)?(activation|act|me|jit)?"
)
# Activations whose gradient is exactly zero for negative inputs (a "dead" unit passes none).
_HARD_ZERO = re.compile(r"(f\.|torch\.|tensor\.)?(relu6?|hardtanh)_?|relusquared(activation)?")

# Layers that cannot turn finite inputs into NaN or Inf (no parameters, no overflow: clamps, maxima,
# bounded functions, reshapes). When one outputs NaN/Inf its input already held it, so the monitor
# infers "input non-finite" from its output instead of summing its whole input (exact types only:
# a subclass may compute anything).
_FINITE_PRESERVING = frozenset({
    nn.ReLU, nn.ReLU6, nn.Hardtanh, nn.Identity, nn.Flatten, nn.Unflatten,
    nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
    nn.Sigmoid, nn.Tanh, nn.Hardsigmoid, nn.Softsign, nn.Softmax,
})  # fmt: skip

_DROPOUT_TYPES = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
_RELU_TYPES = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ELU, nn.CELU, nn.SELU,
    nn.GELU, nn.SiLU, nn.Mish, nn.Hardswish,
)  # fmt: skip


@dataclass(frozen=True)
class Activation:
    """An activation whose outputs we test: ``kind`` plus bounds/dim where they matter."""

    kind: str  # one of SATURATING, or "relu" for the ReLU family
    low: float = 0.0
    high: float = 1.0
    dim: int | None = None
    name: str = ""  # the class or function, e.g. "LeakyReLU" or "F.gelu"


def zero_gradient_when_negative(name: str) -> bool:
    """ReLU/ReLU6 pass no gradient below zero; LeakyReLU, GELU, SiLU, ELU... still pass some."""
    return not name or _HARD_ZERO.fullmatch(name.lower()) is not None


@dataclass
class ModuleInfo:
    """Per-module facts the hot path needs without touching the module class again."""

    name: str
    order: int
    is_dropout: bool
    is_batchnorm: bool
    activation: Activation | None
    collect: bool  # gather activation statistics for its output
    paramless_leaf: bool  # functional calls inside it are its implementation, not user code
    rnn_dropout: bool = False  # nn.LSTM/GRU/RNN with dropout between stacked layers (inside the fused kernel)
    lstm: bool = False  # a one-layer nn.LSTM whose gates can be recomputed on sampled forwards
    finite_preserving: bool = False  # finite inputs give finite outputs (see _FINITE_PRESERVING)
    special: bool = False  # dropout, BatchNorm, RNN dropout or LSTM: checked on every forward, not only sampled ones


def has_rnn_dropout(module: nn.Module) -> bool:
    """``nn.LSTM(num_layers > 1, dropout > 0)`` and friends apply dropout inside their kernel when training."""
    return isinstance(module, nn.RNNBase) and module.dropout > 0 and module.num_layers > 1


def module_activation(module: nn.Module) -> Activation | None:
    """Classify a module as saturating/ReLU-family from its type, or its class name for third-party ones."""
    name = type(module).__name__
    if isinstance(module, _RELU_TYPES):  # before Hardtanh: ReLU6 subclasses it
        return Activation("relu", name=name)
    if isinstance(module, nn.Sigmoid):
        return Activation("sigmoid")
    if isinstance(module, nn.Tanh):
        return Activation("tanh")
    if isinstance(module, nn.Softsign):
        return Activation("softsign")
    if isinstance(module, nn.Hardtanh):
        return Activation("hardtanh", float(module.min_val), float(module.max_val))
    if isinstance(module, nn.Hardsigmoid):
        return Activation("hardsigmoid")
    if isinstance(module, nn.Softmax):
        return Activation("softmax", dim=module.dim)
    is_leaf = next(module.children(), None) is None and next(module.parameters(recurse=False), None) is None
    if is_leaf and _RELU_CLASS_NAME.fullmatch(name.lower()):
        return Activation("relu", name=name)  # e.g. transformers' NewGELUActivation
    return None


def describe(name: str, module: nn.Module, order: int, is_root: bool) -> ModuleInfo:
    has_children = next(module.children(), None) is not None
    has_params = next(module.parameters(recurse=False), None) is not None
    is_dropout = isinstance(module, _DROPOUT_TYPES)
    is_batchnorm = isinstance(module, nn.modules.batchnorm._BatchNorm)
    rnn_dropout = has_rnn_dropout(module)
    lstm = isinstance(module, nn.LSTM) and module.num_layers == 1 and not module.bidirectional and not module.proj_size
    return ModuleInfo(
        name=name,
        order=order,
        is_dropout=is_dropout,
        is_batchnorm=is_batchnorm,
        activation=module_activation(module),
        collect=is_root or not has_children,
        paramless_leaf=not has_children and not has_params,
        rnn_dropout=rnn_dropout,
        lstm=lstm,
        finite_preserving=type(module) in _FINITE_PRESERVING and not has_children,
        special=is_dropout or is_batchnorm or rnn_dropout or lstm,
    )


def saturation_bounds(act: Activation, preactivation: float) -> tuple[float, float]:
    """Output values at or beyond which a unit counts as saturated.

    Derived from a pre-activation magnitude (DeepDiagnosis uses |x| >= 5), so each
    activation's epsilon matches the same input-space threshold.
    """
    p = preactivation
    if act.kind in ("sigmoid", "softmax"):
        s = 1.0 / (1.0 + math.exp(-p))
        return 1.0 - s, s
    if act.kind == "tanh":
        t = math.tanh(p)
        return -t, t
    if act.kind == "softsign":
        t = p / (1.0 + p)
        return -t, t
    if act.kind == "hardsigmoid":
        return 0.0, 1.0
    return act.low, act.high  # hardtanh: clipped values have exactly zero gradient


class Binder:
    """Reads an argument by name whether it arrived positionally or by keyword.

    Under torch.compile ``training`` reaches a TorchFunctionMode positionally, so a
    plain ``kwargs.get`` would silently read the default.
    """

    def __init__(self, names: tuple[str, ...], defaults: dict[str, Any]):
        self._index = {n: i for i, n in enumerate(names)}
        self._defaults = defaults

    @classmethod
    def of(cls, func: Callable) -> Binder:
        params = inspect.signature(func).parameters.values()
        return cls(tuple(p.name for p in params), {p.name: p.default for p in params if p.default is not p.empty})

    def get(self, args: tuple, kwargs: dict, name: str) -> Any:
        if name in kwargs:
            return kwargs[name]
        i = self._index[name]
        return args[i] if i < len(args) else self._defaults.get(name)


@dataclass(frozen=True)
class WatchedFunction:
    """A functional op the TorchFunctionMode inspects."""

    name: str
    role: str  # "dropout" | "batch_norm" | "sdpa" | "activation"
    binder: Binder
    activation: Activation | None = None
    training_arg: str = "training"
    p_arg: str = "p"


def _aten_binder(*names: str, **defaults: Any) -> Binder:
    return Binder(names, defaults)


def _watched() -> dict[Callable, WatchedFunction]:
    """Functional dropout, batch norm and activations, as a TorchFunctionMode sees them."""
    table: dict[Callable, WatchedFunction] = {}
    for fn in (F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout, F.feature_alpha_dropout):
        table[fn] = WatchedFunction(f"F.{fn.__name__}", "dropout", Binder.of(fn))
    aten_dropout = _aten_binder("input", "p", "train")
    for fn in (torch.dropout, torch.alpha_dropout, torch.feature_dropout, torch.feature_alpha_dropout):
        table[fn] = WatchedFunction(f"torch.{fn.__name__}", "dropout", aten_dropout, training_arg="train")
    sdpa = _aten_binder(
        "query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale", "enable_gqa",
        attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False,
    )  # fmt: skip
    table[F.scaled_dot_product_attention] = WatchedFunction(
        "F.scaled_dot_product_attention", "sdpa", sdpa, training_arg="", p_arg="dropout_p"
    )
    table[F.batch_norm] = WatchedFunction("F.batch_norm", "batch_norm", Binder.of(F.batch_norm))
    aten_bn = _aten_binder("input", "weight", "bias", "running_mean", "running_var", "training")
    table[torch.batch_norm] = WatchedFunction("torch.batch_norm", "batch_norm", aten_bn)

    unary = _aten_binder("input")
    softmax = _aten_binder("input", "dim", dim=None)
    for kind, fns in (
        ("sigmoid", (torch.sigmoid, torch.Tensor.sigmoid, torch.Tensor.sigmoid_, torch.sigmoid_)),
        ("tanh", (torch.tanh, torch.Tensor.tanh, torch.Tensor.tanh_, torch.tanh_)),
        ("relu", (torch.relu, torch.Tensor.relu, torch.relu_, torch.Tensor.relu_, F.relu, F.relu_, F.gelu)),
        ("relu", (F.silu, F.elu, F.leaky_relu, F.mish, F.hardswish, F.relu6)),
        ("softsign", (F.softsign,)),
        ("hardsigmoid", (F.hardsigmoid,)),
    ):
        for fn in fns:
            table[fn] = WatchedFunction(_qualname(fn), "activation", unary, Activation(kind, name=_qualname(fn)))
    for fn in (torch.softmax, torch.Tensor.softmax, F.softmax):
        table[fn] = WatchedFunction(_qualname(fn), "activation", softmax, Activation("softmax"))
    table[F.hardtanh] = WatchedFunction("F.hardtanh", "activation", Binder.of(F.hardtanh), Activation("hardtanh"))
    return table


def _qualname(fn: Callable) -> str:
    """Name a watched function the way users write it: ``torch.tanh``, ``Tensor.tanh``, ``F.relu``."""
    module = getattr(fn, "__module__", None)
    owner = "Tensor" if module is None else ("F" if module in (F.__name__, "torch._C._nn") else "torch")
    return f"{owner}.{fn.__name__}"


WATCHED = _watched()
