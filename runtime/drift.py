"""Drift: PSI and mean shift of each layer's activations against a reference profile.

PSI over 480 fine bins grows with sample size, so the fine bins are first grouped
into about ``psi_groups`` bins of equal reference mass (the usual decile binning).
"""

from __future__ import annotations

import math

from .findings import Finding
from .options import Options
from .profile import HIST_FIELDS, INPUT, Profile, ProfileError, canonical, dense_hist, unwrapped

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


def check_architecture(reference: Profile, arch: dict[str, str]) -> None:
    """Refuse a reference profile recorded on another architecture (same names are not enough).

    Compares every module's class and parameter shapes, ignoring the ``module.`` prefix of
    DataParallel/DDP. Profiles saved before the architecture was recorded are accepted.
    """
    recorded = reference.meta.get("architecture")
    if not isinstance(recorded, dict):
        return
    ref, here = unwrapped(recorded), unwrapped(arch)
    differ = [name for name in ref.keys() & here.keys() if ref[name] != here[name]]
    missing = sorted(ref.keys() - here.keys())
    extra = sorted(here.keys() - ref.keys())
    if not (differ or missing or extra):
        return
    examples = [f"`{n or '(root)'}` is {here[n]} here but {ref[n]} in the profile" for n in sorted(differ)[:3]]
    examples += [f"`{n}` is only in the profile" for n in missing[:2]] + [f"`{n}` is only in this model" for n in extra[:2]]
    raise ProfileError(
        f"the reference profile was recorded on a different architecture ({len(differ)} modules differ, "
        f"{len(missing)} missing, {len(extra)} new): " + "; ".join(examples) + ". Record a new profile on this model."
    )


def drift_findings(live: Profile, reference: Profile, opts: Options) -> list[Finding]:
    if any(reference.meta.get(k) != getattr(opts, k) for k in HIST_FIELDS):
        raise ValueError("the reference profile was recorded with different histogram options")
    refs = {canonical(key): layer for key, layer in reference.layers.items()}
    refs.update(reference.layers)
    seen: set[int] = set()
    out = []
    for key, layer in live.layers.items():
        ref = reference.layers.get(key)
        if ref is None:
            ref = refs.get(canonical(key))
        if ref is None or id(ref) in seen:
            continue  # under DataParallel both "" and "module" map to the bare model's root
        seen.add(id(ref))
        if min(layer["samples"], ref["samples"]) < opts.drift_min_samples or layer["mean"] is None or ref["mean"] is None:
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
                (
                    "The model's input "
                    if layer["function"] == INPUT
                    else f"Activations {'of ' + layer['function'] + ' ' if layer['function'] else ''}"
                )
                + "drifted from the reference "
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
