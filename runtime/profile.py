"""Per-layer activation statistics on the host: what ``Monitor.profile()`` returns and drift compares against.

Saved as JSON (never pickle), so a reference profile can be reviewed, diffed and
loaded without executing anything.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import torch

from .options import Options

FORMAT = "tensorlint.runtime.profile/1"
HIST_FIELDS = ("hist_bins", "hist_range", "hist_scale")
INPUT = "<input>"  # the function name under which the model's own input is profiled (key "::<input>")
WRAPPERS = ("DataParallel", "DistributedDataParallel")


class ProfileError(ValueError):
    """A profile file that cannot be used: unreadable, not a profile, malformed, or from another model."""


def architecture(model: torch.nn.Module) -> dict[str, str]:
    """{qualified name: class and direct parameter shapes}: what a reference profile must match."""
    out = {}
    for name, module in model.named_modules():
        shapes = ",".join("x".join(map(str, p.shape)) for p in module.parameters(recurse=False))
        out[name] = f"{type(module).__name__}[{shapes}]" if shapes else type(module).__name__
    return out


def canonical(key: str) -> str:
    """A layer key without the ``module.`` prefix that ``nn.DataParallel``/DDP add."""
    if key.startswith("module."):
        return key[len("module.") :]
    if key == "module":
        return ""
    if key.startswith("module::"):
        return key[len("module") :]
    return key


def unwrapped(arch: dict[str, str]) -> dict[str, str]:
    """An architecture as the bare model sees it (DataParallel/DDP root dropped, prefix stripped)."""
    if arch.get("", "").split("[")[0] in WRAPPERS:
        return {canonical(k): v for k, v in arch.items() if k}
    return arch


def layer_key(module: str, function: str) -> str:
    """Profile key: the module's qualified name, plus ``::function`` for functional activations."""
    return f"{module}::{function}" if function else module


def _merge_moments(rows: list[dict]) -> tuple[float, float, float]:
    """Chan et al.'s parallel merge of (n, mean, M2) over the call sites of one layer."""
    n, mean, m2 = 0.0, 0.0, 0.0
    for r in rows:
        nb = r["n"]
        if nb <= 0:
            continue
        total = n + nb
        delta = r["mean"] - mean
        mean += delta * nb / total
        m2 += r["m2"] + delta * delta * n * nb / total
        n = total
    return n, mean, m2


def _sum_lists(lists: list[list[float] | None]) -> list[float] | None:
    present = [v for v in lists if v is not None]
    if not present or any(len(v) != len(present[0]) for v in present):
        return present[0] if present else None
    return [sum(col) for col in zip(*present)]


def _units(rows: list[dict], opts: Options) -> dict[str, Any]:
    """Dead units per call site; a reused module (BasicBlock's ``relu``) reports its worst call site."""
    best: dict[str, Any] = {}
    for r in sorted(rows, key=lambda r: r["order"]):
        active, positions = r["unit_active"], r["unit_positions"]
        if active is None or positions <= 0:
            continue
        rates = [a / positions for a in active]
        dead = [i for i, rate in enumerate(rates) if rate < opts.dead_unit_activity]
        found = {
            "units": len(rates),
            "dead_units": len(dead),
            "dead_fraction": len(dead) / len(rates),
            "dead_examples": dead[:8],
            "dead_call_site": r["occurrence"],
        }
        if not best or found["dead_fraction"] > best["dead_fraction"]:
            best = found
    return best


def _channels(rows: list[dict]) -> dict[str, Any]:
    """Mean |live mean| and geometric-mean live variance, both in running-statistics units (1 = matched)."""
    chans = [r for r in rows if r["channel_mean"] is not None]
    if not chans:
        return {}
    r = max(chans, key=lambda c: c["channel_rows"])
    z = [abs(m) for m in r["channel_mean"]]
    ratios = [max(v, 1e-12) for v in r["channel_var"]]
    worst = max(range(len(z)), key=z.__getitem__)
    return {
        "bn_mean_z": sum(z) / len(z),
        "bn_max_z": z[worst],
        "bn_worst_channel": worst,
        "bn_var_ratio": math.exp(sum(math.log(v) for v in ratios) / len(ratios)),
        "bn_samples": r["channel_n"],
        "bn_rows": r["channel_rows"],
        # per channel (the first 256): live mean in running stds from the running mean, live/running variance
        "bn_channel_z": [_finite(float(f"{m:.4g}")) for m in r["channel_mean"][:256]],
        "bn_channel_var_ratio": [_finite(float(f"{v:.4g}")) for v in r["channel_var"][:256]],
    }


def _finite(x: float) -> float | None:
    """JSON has no NaN/Infinity; a layer that never produced a finite value has no such figure."""
    return x if math.isfinite(x) else None


def summarise(rows: list[dict], opts: Options) -> dict[str, Any]:
    """Fold the slot rows of one layer (its call sites) into one JSON-ready record."""
    first = rows[0]
    n, mean, m2 = _merge_moments(rows)
    samples = sum(r["samples"] for r in rows)
    calls = sum(r["calls"] for r in rows)
    hist = _sum_lists([r["hist"] for r in rows]) or []
    act = first["activation"]
    bad_rows = [r for r in rows if r["bad"] > 0]
    bad_steps = [r["first_bad"] for r in bad_rows]
    record: dict[str, Any] = {
        "module": first["module"],
        "function": first["function"] or None,
        "activation": act.kind if act is not None else None,
        "activation_name": act.name if act is not None else None,
        "order": min(r["order"] for r in rows),
        "calls": calls,
        "samples": samples,
        "count": n,
        "mean": _finite(mean),
        "std": _finite(math.sqrt(m2 / n)) if n > 0 else 0.0,
        "min": _finite(min(r["low"] for r in rows)),
        "max": _finite(max(r["high"] for r in rows)),
        "zero_fraction": 1.0 - sum(r["nonzero"] for r in rows) / samples if samples else 0.0,
        "saturation_fraction": (
            sum(r["sat"] for r in rows) / calls if act is not None and act.kind != "relu" and calls else None
        ),
        "nonfinite_calls": int(sum(r["bad"] for r in rows)),
        "first_nonfinite_forward": int(min(bad_steps)) if bad_steps else None,
        # [execution order, first forward, sampled calls] of each call site that produced NaN/Inf
        "nonfinite_sites": [[r["order"], int(r["first_bad"]), int(r["bad"])] for r in bad_rows],
        "model_output": any(r.get("model_output") for r in rows),
        "hist": [[i, c] for i, c in enumerate(hist) if c],
    }
    record.update(_units(rows, opts))
    record.update(_channels(rows))
    return record


def _validate(data: dict) -> str | None:
    """What is wrong with a loaded profile's structure, or None; checks what drift reads."""
    meta, layers = data["meta"], data.get("layers")
    if not isinstance(layers, dict):
        return "'layers' is not an object"
    bins = meta.get("hist_bins")
    if not isinstance(bins, int) or isinstance(bins, bool) or bins < 1:
        return "meta.hist_bins is not a positive integer"
    for field in HIST_FIELDS[1:]:
        if not isinstance(meta.get(field), (int, float)) or isinstance(meta.get(field), bool):
            return f"meta.{field} is not a number"
    number = (int, float)
    for key, layer in layers.items():
        if not isinstance(layer, dict):
            return f"layer {key!r} is not an object"
        for field in ("samples", "calls"):
            if not isinstance(layer.get(field), number) or layer[field] < 0:
                return f"layer {key!r}: {field} is not a non-negative number"
        for field in ("mean", "std"):
            if layer.get(field) is not None and not isinstance(layer[field], number):
                return f"layer {key!r}: {field} is not a number"
        hist = layer.get("hist", [])
        if not isinstance(hist, list):
            return f"layer {key!r}: hist is not a list"
        for item in hist:
            if not (isinstance(item, list) and len(item) == 2 and all(isinstance(v, number) for v in item)):
                return f"layer {key!r}: hist entries must be [bin, count] pairs"
            if item[0] != int(item[0]) or not 0 <= item[0] < bins or item[1] < 0:
                return f"layer {key!r}: bin {item[0]} is outside 0..{bins - 1} or has a negative count"
    return None


def dense_hist(record: dict, bins: int) -> list[float]:
    out = [0.0] * bins
    for i, c in record.get("hist", []):
        out[int(i)] = float(c)
    return out


class Profile:
    """Per-layer activation statistics keyed by qualified module name (``::function`` for functional calls)."""

    def __init__(self, layers: dict[str, dict], meta: dict[str, Any]):
        self.layers = layers
        self.meta = meta

    @classmethod
    def from_rows(cls, rows: list[dict], opts: Options, meta: dict[str, Any]) -> Profile:
        grouped: dict[str, list[dict]] = {}
        for row in rows:
            grouped.setdefault(layer_key(row["module"], row["function"]), []).append(row)
        layers = {key: summarise(group, opts) for key, group in grouped.items()}
        layers = dict(sorted(layers.items(), key=lambda kv: kv[1]["order"]))
        meta = {"format": FORMAT, "torch": torch.__version__, **{k: getattr(opts, k) for k in HIST_FIELDS}, **meta}
        return cls(layers, meta)

    def to_dict(self) -> dict[str, Any]:
        return {"meta": self.meta, "layers": self.layers}

    def save(self, path: str | os.PathLike, *, all_ranks: bool = False) -> None:
        """Write the profile as JSON; under torch.distributed only rank 0 writes unless ``all_ranks``."""
        from .distributed import rank

        if not all_ranks and (rank() or 0) != 0:
            return
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.to_dict(), fh, indent=1, allow_nan=False)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Profile:
        """Read a saved profile; every problem with the file raises ``ProfileError`` (a ``ValueError``)."""
        where = os.fspath(path)
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProfileError(f"cannot read the profile {where}: {exc}") from exc
        meta = data.get("meta") if isinstance(data, dict) else None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ProfileError(f"{where} is not a tensorlint runtime profile ({FORMAT})")
        problem = _validate(data)
        if problem:
            raise ProfileError(f"{where} is a damaged profile: {problem}")
        return cls(data["layers"], meta)

    def __len__(self) -> int:
        return len(self.layers)

    def __repr__(self) -> str:
        return f"Profile({len(self.layers)} layers, {self.meta.get('sampled_forwards', 0)} sampled forwards)"
