"""Findings read off the per-layer statistics: saturation, dead units, non-finite values, BatchNorm mismatch."""

from __future__ import annotations

from .findings import Finding
from .options import Options


def _where(layer: dict) -> str:
    return f"{layer['function']} in this module" if layer["function"] else "this layer"


def saturation(layer: dict, opts: Options) -> Finding | None:
    frac = layer.get("saturation_fraction")
    if frac is None or frac <= opts.saturation_fraction:
        return None
    what = "of softmax rows put almost all mass on one entry" if layer["activation"] == "softmax" else "of outputs sit at the asymptotes"
    return Finding(
        "saturation",
        layer["module"],
        "warning",
        f"{frac:.0%} {what} of {layer['activation']} ({_where(layer)}), so its gradients vanish; "
        "normalise or rescale the pre-activations (e.g. BatchNorm/LayerNorm, smaller init).",
        {
            "activation": layer["activation"],
            "function": layer["function"],
            "fraction": frac,
            "threshold": opts.saturation_fraction,
            "preactivation": opts.saturation_preactivation,
            "sampled_calls": layer["calls"],
        },
        count=layer["calls"],
    )


def dead_units(layer: dict, opts: Options) -> Finding | None:
    frac = layer.get("dead_fraction")
    if frac is None or frac <= opts.dead_layer_fraction:
        return None
    return Finding(
        "dead-units",
        layer["module"],
        "warning",
        f"{layer['dead_units']} of {layer['units']} units ({_where(layer)}) were active less than "
        f"{opts.dead_unit_activity:.0%} of the time, so they pass no gradient; check the init, the learning rate "
        "or the bias, or use LeakyReLU/GELU.",
        {
            "dead_units": layer["dead_units"],
            "units": layer["units"],
            "fraction": frac,
            "unit_activity_threshold": opts.dead_unit_activity,
            "threshold": opts.dead_layer_fraction,
            "examples": layer["dead_examples"],
            "sampled_calls": layer["calls"],
        },
        count=layer["calls"],
    )


def bn_mismatch(layer: dict, opts: Options) -> Finding | None:
    z, ratio = layer.get("bn_mean_z"), layer.get("bn_var_ratio")
    if z is None or (z <= opts.bn_mismatch_z and 1 / opts.bn_var_ratio <= ratio <= opts.bn_var_ratio):
        return None
    return Finding(
        "bn-stats-mismatch",
        layer["module"],
        "warning",
        f"In eval mode the inputs of this BatchNorm are {z:.2f} running stds from its running mean on average, with "
        f"{ratio:.2f}x its running variance, so its running statistics are stale or the data shifted; "
        "recompute them on representative data.",
        {
            "mean_z": z,
            "max_z": layer["bn_max_z"],
            "worst_channel": layer["bn_worst_channel"],
            "var_ratio": ratio,
            "z_threshold": opts.bn_mismatch_z,
            "var_ratio_threshold": opts.bn_var_ratio,
            "samples": layer["bn_samples"],
        },
    )


def non_finite(layers: list[dict]) -> Finding | None:
    """One finding for the first layer, in execution order, that produced NaN or Inf."""
    bad = [layer for layer in layers if layer["nonfinite_calls"]]
    if not bad:
        return None
    first = min(bad, key=lambda layer: (layer["first_nonfinite_forward"], layer["order"]))
    step = first["first_nonfinite_forward"]
    others = [layer["module"] + (f"::{layer['function']}" if layer["function"] else "") for layer in bad if layer is not first]
    return Finding(
        "non-finite",
        first["module"],
        "error",
        f"{_where(first).capitalize()} was the first to output NaN or Inf, at forward {step}; inspect its inputs and "
        "weights there (log of zero, division, overflow in half precision, a too-high learning rate).",
        {
            "forward": step,
            "function": first["function"],
            "sampled_calls_with_nonfinite": first["nonfinite_calls"],
            "later_layers": len(others),
            "examples": others[:5],
        },
        count=first["nonfinite_calls"],
    )


def activation_findings(layers: list[dict], opts: Options) -> list[Finding]:
    out = [f for layer in layers for check in (saturation, dead_units, bn_mismatch) if (f := check(layer, opts))]
    nf = non_finite(layers)
    return out + ([nf] if nf else [])
