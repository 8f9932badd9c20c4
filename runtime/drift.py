"""Drift: PSI and mean shift of each layer's activations against a reference profile.

PSI over 480 fine bins grows with sample size, so the fine bins are first grouped
into about ``psi_groups`` bins of equal reference mass (the usual decile binning).
"""

from __future__ import annotations

import math

from .findings import Finding
from .options import Options
from .profile import HIST_FIELDS, Profile, dense_hist

_EPS = 1e-4


def reference_groups(ref: list[float], groups: int) -> list[int]:
    """Fine-bin indices where each group of roughly equal reference mass starts."""
    total = sum(ref)
    starts, cum, target = [0], 0.0, total / groups
    for i, c in enumerate(ref[:-1]):
        cum += c
        if cum >= target * len(starts) and len(starts) < groups:
            starts.append(i + 1)
    return starts


def psi(live: list[float], ref: list[float], groups: int) -> float:
    """Population stability index between two fine histograms, over reference-quantile groups."""
    starts = reference_groups(ref, groups) + [len(ref)]
    lt, rt = sum(live), sum(ref)
    if lt <= 0 or rt <= 0:
        return 0.0
    value = 0.0
    for a, b in zip(starts, starts[1:]):
        p = max(sum(live[a:b]) / lt, _EPS)
        q = max(sum(ref[a:b]) / rt, _EPS)
        value += (p - q) * math.log(p / q)
    return value


def drift_findings(live: Profile, reference: Profile, opts: Options) -> list[Finding]:
    if any(reference.meta.get(k) != getattr(opts, k) for k in HIST_FIELDS):
        raise ValueError("the reference profile was recorded with different histogram options")
    out = []
    for key, layer in live.layers.items():
        ref = reference.layers.get(key)
        if ref is None or not layer["samples"] or not ref["samples"] or layer["mean"] is None or ref["mean"] is None:
            continue
        value = psi(dense_hist(layer, opts.hist_bins), dense_hist(ref, opts.hist_bins), opts.psi_groups)
        if value < opts.psi_moderate:
            continue
        std = ref["std"] or 0.0
        shift = (layer["mean"] - ref["mean"]) / std if std > 0 else math.inf
        major = value >= opts.psi_major
        out.append(
            Finding(
                "drift",
                layer["module"],
                "warning" if major else "info",
                f"Activations {'of ' + layer['function'] + ' ' if layer['function'] else ''}drifted from the reference "
                f"({'major' if major else 'moderate'}: PSI {value:.2f}, mean shift {shift:+.2f} reference stds); "
                "check the input pipeline or whether the data changed.",
                {
                    "psi": value,
                    "mean_shift_std": shift if math.isfinite(shift) else None,
                    "live_mean": layer["mean"],
                    "reference_mean": ref["mean"],
                    "reference_std": std,
                    "psi_moderate": opts.psi_moderate,
                    "psi_major": opts.psi_major,
                    "function": layer["function"],
                },
                count=layer["calls"],
            )
        )
    return out
