"""``torch.distributed``: one report and one profile for every rank of a DDP job.

Each rank monitors its own replica and accumulates on its own device, as without DDP.
``Monitor.profile()`` and ``Monitor.report()`` are then collective calls (every rank
must make them, as with any collective):

- the profile merges the ranks' per-call-site accumulators: counts, sums and histograms
  with ``all_reduce(SUM)``, extremes with ``MIN``/``MAX``, the moments (n, mean, M2) with
  ``all_gather`` and Chan et al.'s merge (exact, unlike summing squares); per-unit and
  per-channel vectors, whose sizes differ per layer, with ``all_gather_object``;
- the report gathers every rank's findings (``all_gather_object``) and merges the same
  finding seen on several ranks into one, with ``details["ranks"]``; a finding seen on some
  ranks only says which in its message, so a fault on rank 1 reaches rank 0's report.

Rank 0 prints and writes (``Report.print``/``save_json``/``save_html``, ``Profile.save``);
the others do nothing unless called with ``all_ranks=True``. ``report(local=True)`` and
``profile(local=True)`` skip the collectives and describe this rank alone.

With the NCCL backend the reduced tensors live on the current CUDA device; with gloo on
the CPU. Nothing is exchanged before a report is asked for.
"""

from __future__ import annotations

import math
from typing import Any

import torch

_SUMS = ("samples", "calls", "nonzero", "sat", "bad", "model_output")


def active() -> bool:
    """True inside an initialised process group with more than one rank."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int | None:
    """This process's rank, or None outside torch.distributed."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return None


def _device() -> torch.device:
    import torch.distributed as dist

    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _gather_objects(obj: Any) -> list[Any]:
    import torch.distributed as dist

    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def reduce_profile(rows: list[dict], meta: dict[str, Any], bins: int) -> tuple[list[dict], dict[str, Any]]:
    """Every rank's snapshot rows (one per call site) merged into the union of call sites; collective."""
    if not active():
        return rows, meta
    import torch.distributed as dist

    mine = {(r["module"], r["function"], r["occurrence"]): r for r in rows}
    local = {
        key: {
            "activation": r["activation"],
            "units": (r["unit_active"], r["unit_positions"]),
            "channels": (r["channel_n"], r["channel_mean"], r["channel_var"], r["channel_rows"]),
        }
        for key, r in mine.items()
    }
    everyone = _gather_objects(
        (local, {k: meta.get(k, 0) for k in ("forwards", "sampled_forwards")})
    )
    keys = list(dict.fromkeys(k for sites, _ in everyone for k in sites))
    dev, f64 = _device(), torch.float64

    def column(field: str, missing: float) -> list[float]:
        return [float(mine[k][field]) if k in mine else missing for k in keys]

    sums = torch.tensor([column(f, 0.0) for f in _SUMS], dtype=f64, device=dev)
    hist = torch.tensor([mine[k]["hist"] if k in mine else [0.0] * bins for k in keys], dtype=f64, device=dev)
    lows = torch.tensor([column("low", math.inf), column("first_bad", math.inf), column("order", 1e18)], dtype=f64, device=dev)
    highs = torch.tensor([column("high", -math.inf)], dtype=f64, device=dev)
    moments = torch.tensor([column("n", 0.0), column("mean", 0.0), column("m2", 0.0)], dtype=f64, device=dev)
    dist.all_reduce(sums, op=dist.ReduceOp.SUM)
    dist.all_reduce(hist, op=dist.ReduceOp.SUM)
    dist.all_reduce(lows, op=dist.ReduceOp.MIN)
    dist.all_reduce(highs, op=dist.ReduceOp.MAX)
    parts = [torch.empty_like(moments) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, moments)

    sums_h, hist_h, lows_h, highs_h = (t.cpu().tolist() for t in (sums, hist, lows, highs))
    parts_h = [p.cpu().tolist() for p in parts]
    merged = []
    for i, key in enumerate(keys):
        n, mean, m2 = 0.0, 0.0, 0.0
        for part in parts_h:  # Chan et al., in rank order
            nb, mb, m2b = part[0][i], part[1][i], part[2][i]
            if nb <= 0:
                continue
            total = n + nb
            delta = mb - mean
            mean += delta * nb / total
            m2 += m2b + delta * delta * n * nb / total
            n = total
        site = [sites[key] for sites, _ in everyone if key in sites]
        row = {f: sums_h[j][i] for j, f in enumerate(_SUMS)}
        row.update(
            module=key[0],
            function=key[1],
            occurrence=key[2],
            slot=i,
            n=n,
            mean=mean,
            m2=m2,
            hist=hist_h[i],
            low=lows_h[0][i],
            first_bad=lows_h[1][i],
            order=int(lows_h[2][i]),
            high=highs_h[0][i],
            samples=int(row["samples"]),
            calls=int(row["calls"]),
            model_output=row["model_output"] > 0,
            activation=next((s["activation"] for s in site if s["activation"] is not None), None),
        )
        row.update(_merge_units([s["units"] for s in site]))
        row.update(_merge_channels([s["channels"] for s in site]))
        merged.append(row)
    meta = dict(meta)
    meta["forwards"] = sum(m["forwards"] for _, m in everyone)
    meta["sampled_forwards"] = sum(m["sampled_forwards"] for _, m in everyone)
    meta["world_size"] = len(everyone)
    return merged, meta


def _merge_units(units: list[tuple[list | None, int]]) -> dict[str, Any]:
    """Per-unit active counts add up when every rank saw the same units (same layer width)."""
    present = [(a, p) for a, p in units if a is not None and p > 0]
    if not present or any(len(a) != len(present[0][0]) for a, _ in present):
        active, positions = present[0] if present else (None, 0)
        return {"unit_active": active, "unit_positions": positions}
    return {
        "unit_active": [sum(col) for col in zip(*(a for a, _ in present))],
        "unit_positions": sum(p for _, p in present),
    }


def _merge_channels(chans: list[tuple[int, list | None, list | None, int]]) -> dict[str, Any]:
    """Per-channel moments of eval BatchNorm inputs, merged with Chan et al.'s formula across ranks."""
    present = [c for c in chans if c[1] is not None and c[0] > 0]
    if not present or any(len(c[1]) != len(present[0][1]) for c in present):
        n, mean, var, rows = present[0] if present else (0, None, None, 0)
        return {"channel_n": n, "channel_mean": mean, "channel_var": var, "channel_rows": rows}
    n = sum(c[0] for c in present)
    width = len(present[0][1])
    mean = [sum(c[0] * c[1][j] for c in present) / n for j in range(width)]
    var = [sum(c[0] * (c[2][j] + (c[1][j] - mean[j]) ** 2) for c in present) / n for j in range(width)]
    return {"channel_n": n, "channel_mean": mean, "channel_var": var, "channel_rows": sum(c[3] for c in present)}


def _identity(f: Any) -> tuple:
    d = f.details
    return (f.kind, f.module, d.get("check"), d.get("function"), d.get("parameter"))


_SEVERITY = {"error": 0, "warning": 1, "info": 2}


def gather_findings(detailed: list[Any], summary: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """Every rank's findings (one per kind and module), merged and tagged with the ranks they came from; collective.

    Returns the merged findings in rank-0-first order (the caller sorts them) and a summary
    whose counters are totals over ranks, with the per-rank figures under ``"ranks"``.
    """
    if not active():
        return detailed, summary
    counters = ("forwards", "sampled_forwards", "compiled_forwards", "optimizer_steps", "sampled_optimizer_steps", "allowed")
    everyone = _gather_objects((detailed, {k: summary.get(k, 0) for k in counters}, summary.get("internal_errors", [])))
    world = len(everyone)
    merged: dict[tuple, Any] = {}
    ranks: dict[tuple, list[int]] = {}
    for r, (findings, _, _) in enumerate(everyone):
        for f in findings:
            key = _identity(f)
            found = merged.get(key)
            if found is None:
                merged[key] = f
                ranks[key] = [r]
                continue
            ranks[key].append(r)
            found.count += f.count
            if _SEVERITY[f.severity] < _SEVERITY[found.severity]:
                found.severity, found.message = f.severity, f.message
    out = []
    for key, f in merged.items():
        seen = ranks[key]
        f.details = dict(f.details, ranks=seen)
        if len(seen) < world:
            f.message += f" Seen on rank {seen[0]} only." if len(seen) == 1 else f" Seen on ranks {', '.join(map(str, seen))} of {world}."
        out.append(f)
    summary = dict(summary)
    for k in counters:
        summary[k] = sum(s[k] for _, s, _ in everyone)
    summary["world_size"] = world
    summary["ranks"] = [dict(s, rank=r) for r, (_, s, _) in enumerate(everyone)]
    summary["internal_errors"] = [f"rank {r}: {e}" for r, (_, _, errs) in enumerate(everyone) for e in errs]
    return out, summary


def stamp(report: Any) -> Any:
    """Set the report's rank and world size (rank 0 writes; the others only when asked)."""
    report.rank = rank()
    if active():
        import torch.distributed as dist

        report.world_size = dist.get_world_size()
    return report
