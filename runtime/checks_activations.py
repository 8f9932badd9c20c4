"""Findings read off the per-layer statistics: saturation, dead units, non-finite values, BatchNorm mismatch."""

from __future__ import annotations

from dataclasses import dataclass, field

from .classify import zero_gradient_when_negative
from .findings import Finding
from .options import Options
from .profile import INPUT

# The function name under which the output of a ``torch.compile(model)`` call is profiled: the
# layers inside compiled code call no hooks, so only the model's input and output are seen.
COMPILED = "<compiled>"


def _where(layer: dict) -> str:
    return f"{layer['function']} in this module" if layer["function"] else "this layer"


def saturation(layer: dict, opts: Options) -> Finding | None:
    frac = layer.get("saturation_fraction")
    if frac is None or frac <= opts.saturation_fraction:
        return None
    if layer["activation"] == "softmax" and layer.get("model_output"):
        return None  # the model's own output probabilities: a confident classifier, not a saturated layer
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


def dead_units(layer: dict, opts: Options, distinct_rows: int | None = None) -> Finding | None:
    """``distinct_rows``: distinct model-input rows the sampled forwards saw (None: the input held no tensor)."""
    frac = layer.get("dead_fraction")
    if frac is None or frac <= opts.dead_layer_fraction:
        return None
    if distinct_rows is not None and distinct_rows < opts.dead_min_rows:
        return None  # a few repeated inputs say nothing about how often a unit is active
    name = layer.get("activation_name") or ""
    head = f"{layer['dead_units']} of {layer['units']} units ({_where(layer)}) were positive less than {opts.dead_unit_activity:.0%} of the time"
    if zero_gradient_when_negative(name):
        message = f"{head}, so they output zero and pass no gradient; check the init, the learning rate or the bias, or use LeakyReLU/GELU."
    else:
        message = (
            f"{head}: {name} still passes a small gradient below zero, but these units are stuck in its negative regime "
            "and carry almost no signal; check the init, the learning rate or the bias."
        )
    return Finding(
        "dead-units",
        layer["module"],
        "warning",
        message,
        {
            "activation": layer["activation"],
            "activation_name": name or None,
            "dead_units": layer["dead_units"],
            "units": layer["units"],
            "fraction": frac,
            "unit_activity_threshold": opts.dead_unit_activity,
            "threshold": opts.dead_layer_fraction,
            "examples": layer["dead_examples"],
            "sampled_calls": layer["calls"],
            "distinct_input_rows": distinct_rows,
        },
        count=layer["calls"],
    )


def bn_mismatch(layer: dict, opts: Options) -> Finding | None:
    z, ratio = layer.get("bn_mean_z"), layer.get("bn_var_ratio")
    if z is None or layer.get("bn_rows", 0) < opts.bn_min_rows:
        return None  # too few pooled samples to tell stale statistics from an unusual batch
    if layer.get("bn_batches_tracked", opts.bn_min_tracked) < opts.bn_min_tracked:
        return None  # running statistics still warming up from their initial 0/1: early in training, expected
    if (z <= opts.bn_mismatch_z and 1 / opts.bn_var_ratio <= ratio <= opts.bn_var_ratio):
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
            "rows": layer["bn_rows"],
        },
    )


@dataclass
class NonFiniteInputs:
    """Where non-finite values entered modules, gathered by the monitor's forward pre-hooks.

    ``callers`` maps a module to the module whose forward called it; ``first_bad_input``
    maps a module to the first forward in which one of its floating-point inputs was
    already NaN or Inf.
    """

    callers: dict[str, str] = field(default_factory=dict)
    first_bad_input: dict[str, int] = field(default_factory=dict)
    # outputs other than the first floating-point one (tuple items, complex tensors): first bad forward
    first_bad_output: dict[str, int] = field(default_factory=dict)
    output_order: dict[str, int] = field(default_factory=dict)  # execution order of those checks

    def input_bad(self, module: str, step: int) -> bool:
        first = self.first_bad_input.get(module)
        return first is not None and first <= step


def _label(layer: dict) -> str:
    name = layer["module"] or "(root)"
    return f"{name}::{layer['function']}" if layer["function"] else name


def _producer(first: dict, step: int, inputs: NonFiniteInputs) -> tuple[str, str | None] | None:
    """Whose own code made the value that ``first`` received already non-finite, or None if it made it itself.

    A functional call's input comes from its module's own code; a module's input comes from
    its caller's code. Walk up the callers while their inputs were non-finite too: the
    innermost one whose input was finite produced the value between its child calls. The
    second item is the model input's owner ("" with ``None``) when even the root's input was bad.
    """
    if first["function"] and first["function"] != COMPILED:
        return None  # a watched functional op: the report already names the module whose code ran it
    if not inputs.input_bad(first["module"], step):
        return None
    origin = inputs.callers.get(first["module"])
    if origin is None:  # the outermost module itself received a non-finite input
        return first["module"], None
    seen = set()
    while inputs.input_bad(origin, step) and origin not in seen:
        seen.add(origin)
        caller = inputs.callers.get(origin)
        if caller is None:
            return origin, None
        origin = caller
    return origin, origin


def non_finite(layers: list[dict], inputs: NonFiniteInputs | None = None) -> Finding | None:
    """One finding for the first layer, in execution order, that produced NaN or Inf.

    When that layer's input was already non-finite, the value was made by plain tensor code
    (or an unwatched functional op) in an enclosing forward, and the finding names that module.
    """
    inputs = inputs or NonFiniteInputs()
    bad = [layer for layer in layers if layer["nonfinite_calls"] and layer["function"] != INPUT]
    for module, step in inputs.first_bad_output.items():
        if not inputs.input_bad(module, step):  # made here, not passed through
            order = inputs.output_order.get(module, 1 << 30)
            bad.append({"module": module, "function": None, "order": order, "first_nonfinite_forward": step,
                        "nonfinite_calls": 1, "nonfinite_sites": [[order, step, 1]], "other_output": True})
    if not bad:
        return None

    def first_site(layer: dict) -> tuple[int, int]:
        """(first forward, execution order) of the layer's earliest bad call site: a reused module
        (BasicBlock's ``relu``) is placed by the call that went bad, not by its first call."""
        sites = layer.get("nonfinite_sites") or [[layer["order"], layer["first_nonfinite_forward"], 0]]
        return min((step, order) for order, step, _ in sites)

    first = min(bad, key=first_site)
    step = first_site(first)[0]
    found = None if first.get("other_output") else _producer(first, step, inputs)
    module = first["module"] if found is None else found[0]
    others = [_label(layer) for layer in bad if layer is not first and not (layer["module"] == module and not layer["function"])]
    details = {
        "forward": step,
        "function": first["function"],
        "sampled_calls_with_nonfinite": first["nonfinite_calls"],
        "later_layers": len(others),
        "examples": others[:5],
    }
    if first.get("other_output"):
        message = (
            f"An output of this module other than its first floating-point tensor (a later tuple item, a hidden "
            f"state, or a complex tensor) was the first to hold NaN or Inf, at forward {step}; inspect the code "
            "that computes it (log of zero, division, overflow in half precision)."
        )
        details["other_output"] = True
    elif found is None and first["function"] == COMPILED:
        message = (
            f"The output of the compiled model (torch.compile) held NaN or Inf at forward {step}. The layers inside "
            "compiled code are not observed, so the monitor cannot say which one produced it: run the same input "
            "through the model without torch.compile while monitored to find the first layer."
        )
        details["compiled"] = True
    elif found is None:
        message = (
            f"{_where(first).capitalize()} was the first to output NaN or Inf, at forward {step}; inspect its inputs and "
            "weights there (log of zero, division, overflow in half precision, a too-high learning rate)."
        )
    else:
        child = "the compiled model" if first["function"] == COMPILED else _label(first)
        details.update(input_already_non_finite=True, child=first["module"], produced_in=found[1])
        if found[1] is None:
            message = (
                f"The model's input was already NaN or Inf when it entered `{child}` at forward {step}; "
                "check the data pipeline (missing values, a division or log in preprocessing)."
            )
        else:
            where = f"`{found[1]}`" if found[1] else "the root module"
            message = (
                f"The value was already NaN or Inf when it entered `{child}` at forward {step}: it was produced in "
                f"the forward of {where} itself (e.g. by a functional op or tensor math between its submodule calls); "
                "inspect that code (log of zero or a negative, division by zero, sqrt of a negative, overflow in half precision)."
            )
    return Finding("non-finite", module, "error", message, details, count=first["nonfinite_calls"])


def activation_findings(
    layers: list[dict], opts: Options, inputs: NonFiniteInputs | None = None, distinct_rows: int | None = None
) -> list[Finding]:
    # A layer that produced NaN/Inf is reported once, as non-finite: NaN is neither positive nor
    # saturated, so its dead-unit and saturation figures are consequences, not causes.
    healthy = [layer for layer in layers if not layer["nonfinite_calls"]]
    out = [
        f
        for layer in healthy
        for f in (saturation(layer, opts), dead_units(layer, opts, distinct_rows), bn_mismatch(layer, opts))
        if f
    ]
    nf = non_finite(layers, inputs)
    return out + ([nf] if nf else [])
