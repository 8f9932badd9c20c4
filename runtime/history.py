"""Bounded history of the monitor's on-device statistics: *when* a layer's distribution moved.

The accumulators in ``StatStore`` and ``GradientChecks`` are cumulative (counts, sums,
Chan moments, histograms). A snapshot is therefore enough to recover what happened
between two snapshots: histograms subtract, moments un-merge. Every ``stride``-th sampled
forward the history clones the accumulators once per device (two kernels: a coarsened
histogram and a stack of the moments); nothing is read back to the host until a report
asks for it. When ``slots`` snapshots are held, every other one is dropped, which merges
adjacent pairs of intervals, and the stride doubles; memory stays
O(slots x call sites x coarse bins) however long the run.

Gradients are snapshotted the same way on sampled optimizer steps (one clone of the
per-parameter running sum of ||g||).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from .options import Options
from .profile import canonical, layer_key

_MOMENTS = ("n", "mean", "m2", "sat", "nonzero", "bad")


def coarse_factor(bins: int, target: int = 120) -> int:
    """How many fine histogram bins one history bin sums (a divisor of ``bins``, about bins / target)."""
    factor = max(1, bins // target)
    while bins % factor:
        factor -= 1
    return factor


@dataclass
class _Series:
    """Snapshots of one source, at most ``slots``; full means: drop every other one and double the stride."""

    slots: int
    stride: int = 1
    seen: int = 0  # events (sampled forwards / sampled optimizer steps) offered so far
    due: int = 1  # take a snapshot when ``seen`` reaches this
    steps: list[int] = field(default_factory=list)  # forward / optimizer step of each snapshot
    tensors: list[Any] = field(default_factory=list)  # device tensors of each snapshot
    host: list[Any] = field(default_factory=list)  # host bookkeeping of each snapshot (counts from shapes)

    def offer(self) -> bool:
        self.seen += 1
        return self.seen >= self.due

    def take(self, step: int, tensors: Any, host: Any) -> None:
        if len(self.steps) >= self.slots:
            # Cumulative snapshots: keeping the later one of each pair merges two intervals into one.
            self.steps, self.tensors, self.host = self.steps[1::2], self.tensors[1::2], self.host[1::2]
            self.stride *= 2
        self.steps.append(step)
        self.tensors.append(tensors)
        self.host.append(host)
        self.due = self.seen + self.stride

    def frozen(self) -> _Series:
        """A copy of the lists (the snapshot tensors are never modified in place, so they are shared)."""
        return _Series(self.slots, self.stride, self.seen, self.due, list(self.steps), list(self.tensors), list(self.host))


class History:
    """Per-call-site histograms and moments over sampled forwards, and per-parameter gradient norms over steps."""

    def __init__(self, opts: Options, slots: int = 32, target_bins: int = 120):
        if slots < 4:
            raise ValueError("history slots must be >= 4")
        self.opts = opts
        self.slots = slots
        self.factor = coarse_factor(opts.hist_bins, target_bins)
        self.bins = opts.hist_bins // self.factor
        self._stores: dict[int, Any] = {}  # id(store) -> StatStore, every device seen
        self._forwards = _Series(slots)
        self._grads = _Series(slots)
        self._grad_source: Any = None
        self._grad_seen = 0
        self._last_forward = -1
        self._grad_taken = 0

    # ---- hot path (every sampled forward / optimizer step) -------------------------------------
    def after_forward(self, stores: dict[int, Any], forward: int) -> None:
        """Called once per sampled forward, after the stores merged it; snapshots on every ``stride``-th."""
        self._last_forward = forward
        if not self._forwards.offer():
            return
        snap, host = self._snapshot(stores)
        self._forwards.take(forward, snap, host)

    def _snapshot(self, stores: dict[int, Any]) -> tuple[dict, dict]:
        snap = {}
        with torch.no_grad(), torch._C.DisableTorchFunction():
            for store in stores.values():
                k = len(store.keys)
                acc = store._acc
                if not k or "hist" not in acc:
                    continue
                fine = acc["hist"][:k]
                hist = fine.view(k, self.bins, self.factor).sum(-1) if self.factor > 1 else fine.clone()
                moments = torch.stack([acc[name][:k] for name in _MOMENTS], dim=1)
                snap[id(store)] = (hist, moments)
                self._stores.setdefault(id(store), store)
        host = {key: (list(s.samples[: len(s.keys)]), list(s.sampled_calls[: len(s.keys)])) for key, s in self._stores.items()}
        return snap, host

    def after_grad_step(self, grads: Any) -> None:
        """Called after ``GradientChecks.before_step``; snapshots the running sum of ||g|| on sampled steps."""
        if grads is None or grads.sampled_steps == self._grad_seen or "l2" not in grads._acc:
            return
        self._grad_seen = grads.sampled_steps
        self._grad_source = grads
        if not self._grads.offer():
            return
        with torch.no_grad(), torch._C.DisableTorchFunction():
            l2 = grads._acc["l2"].clone()
        sampled = [p.sampled for p in grads._params.values()]
        self._grads.take(grads.steps - 1, l2, sampled)
        self._grad_taken = grads.sampled_steps

    # ---- report time --------------------------------------------------------------------------
    def freeze(self) -> FrozenHistory:
        """A consistent view for a report (cheap: copies lists, not tensors)."""
        forwards = self._forwards.frozen()
        if self._last_forward >= 0 and (not forwards.steps or forwards.steps[-1] != self._last_forward):
            # the sampled forwards since the last snapshot: one more, open interval
            snap, host = self._snapshot(self._stores)
            forwards.steps.append(self._last_forward)
            forwards.tensors.append(snap)
            forwards.host.append(host)
        grads = self._grads.frozen()
        source = self._grad_source
        if source is not None and (not grads.steps or grads.steps[-1] != source.steps - 1) and self._grad_seen > self._grad_taken:
            with torch.no_grad(), torch._C.DisableTorchFunction():
                grads.steps.append(source.steps - 1)
                grads.tensors.append(source._acc["l2"].clone())
                grads.host.append([p.sampled for p in source._params.values()])
        return FrozenHistory(self, forwards, grads)

    def tensor_count(self) -> int:
        return 2 * sum(len(s) for s in self._forwards.tensors) + len(self._grads.tensors)


class FrozenHistory:
    """History as of one report; ``to_dict()`` pulls it to the host (a sync: report time only)."""

    def __init__(self, history: History, forwards: _Series, grads: _Series):
        self._h = history
        self._forwards = forwards
        self._grads = grads
        self._cached: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        if self._cached is None:
            self._cached = self._build()
        return self._cached

    def _build(self) -> dict[str, Any]:
        h, opts = self._h, self._h.opts
        width = 2 * opts.hist_range / h.bins
        edges = [opts.hist_scale * math.sinh(-opts.hist_range + i * width) for i in range(h.bins + 1)]
        out: dict[str, Any] = {
            "bins": h.bins,
            "edges": edges,
            "forwards": list(self._forwards.steps),
            "stride": self._forwards.stride,
            "layers": self._layers(),
            "grad_steps": list(self._grads.steps),
            "grad_stride": self._grads.stride,
            "grads": self._grad_norms(),
        }
        return out

    def _layers(self) -> dict[str, dict[str, Any]]:
        """Per layer key: per interval, the coarse histogram, mean, std, saturated and zero fractions.

        Host arithmetic in float64 torch: snapshots are cumulative, so an interval is the
        difference of two snapshots (moments un-merged with Chan et al.'s formula), and the
        call sites of one layer are merged back (histograms add, moments merge).
        """
        series, h = self._forwards, self._h
        if not series.steps:
            return {}
        S, B = len(series.steps), h.bins
        hists, moments, samples, calls, names, modules = [], [], [], [], [], []
        for key, store in h._stores.items():
            K = len(store.keys)
            H = torch.zeros(S, K, B, dtype=torch.float64)
            M = torch.zeros(S, K, len(_MOMENTS), dtype=torch.float64)
            N = torch.zeros(S, K, dtype=torch.float64)
            C = torch.zeros(S, K, dtype=torch.float64)
            for j, (snap, host) in enumerate(zip(series.tensors, series.host)):
                if key not in snap:
                    continue
                hist, mom = snap[key]
                k = hist.shape[0]
                H[j, :k] = hist.double().cpu()
                M[j, :k] = mom.double().cpu()
                s, c = host.get(key, ([], []))
                N[j, : len(s)] = torch.tensor(s, dtype=torch.float64)
                C[j, : len(c)] = torch.tensor(c, dtype=torch.float64)
            hists.append(H)
            moments.append(M)
            samples.append(N)
            calls.append(C)
            for module, function, _occurrence in store.keys:
                names.append(layer_key(module, function))
                modules.append((module, function))
        if not names:
            return {}
        H, M, N, C = (torch.cat(x, dim=1) for x in (hists, moments, samples, calls))

        def diff(x: torch.Tensor) -> torch.Tensor:
            return x - torch.cat([torch.zeros_like(x[:1]), x[:-1]])

        dH = diff(H).clamp_(min=0)
        n2, mean2, m22 = M[..., 0], M[..., 1], M[..., 2]
        n1, mean1, m21 = (torch.cat([torch.zeros_like(v[:1]), v[:-1]]) for v in (n2, mean2, m22))
        dn = n2 - n1
        mean_i = torch.where(dn > 0, (n2 * mean2 - n1 * mean1) / dn.clamp(min=1), 0.0)
        m2_i = (m22 - m21 - (mean_i - mean1) ** 2 * n1 * dn / n2.clamp(min=1)).clamp_(min=0)
        m2_i = torch.where(dn > 0, m2_i, 0.0)
        dsat, dnonzero = diff(M[..., 3]), diff(M[..., 4])
        dN, dC = diff(N), diff(C)

        groups: dict[str, int] = {}
        for name in names:
            groups.setdefault(name, len(groups))
        g = torch.tensor([groups[name] for name in names])
        G = len(groups)

        def per_layer(x: torch.Tensor) -> torch.Tensor:  # (S, K, ...) -> (S, G, ...): call sites of a layer added
            return torch.zeros((S, G, *x.shape[2:]), dtype=x.dtype).index_add_(1, g, x)

        n = per_layer(dn)
        mean = per_layer(dn * mean_i) / n.clamp(min=1)
        m2 = per_layer(m2_i + dn * (mean_i - mean[:, g]) ** 2)
        std = (m2 / n.clamp(min=1)).sqrt()
        c, smp = per_layer(dC), per_layer(dN)
        sat = per_layer(dsat) / c.clamp(min=1)
        zero = 1.0 - per_layer(dnonzero) / smp.clamp(min=1)
        hist = per_layer(dH).round_()
        host = {k: v.t().tolist() for k, v in dict(n=n, mean=mean, std=std, c=c, smp=smp, sat=sat, zero=zero).items()}
        hist_h = hist.transpose(0, 1).tolist()
        first = {}
        for i, name in enumerate(names):
            first.setdefault(name, i)
        layers: dict[str, dict[str, Any]] = {}
        for name, j in groups.items():
            module, function = modules[first[name]]
            has = [v > 0 for v in host["n"][j]]
            layers[name] = {
                "module": module,
                "function": function or None,
                "hist": hist_h[j],
                "mean": [_finite(v) if ok else None for v, ok in zip(host["mean"][j], has)],
                "std": [_finite(v) if ok else None for v, ok in zip(host["std"][j], has)],
                "saturation": [v if ok > 0 else None for v, ok in zip(host["sat"][j], host["c"][j])],
                "zero": [v if ok > 0 else None for v, ok in zip(host["zero"][j], host["smp"][j])],
            }
        return layers

    def _grad_norms(self) -> dict[str, list[float | None]]:
        """Per module, per interval: sqrt(sum over its parameters of (mean ||g|| over the interval's sampled steps)^2)."""
        series, grads = self._grads, self._h._grad_source
        if not series.steps or grads is None:
            return {}
        params = list(grads._params.values())
        rows = [t.double().cpu().tolist() for t in series.tensors]
        out: dict[str, list[float | None]] = {}
        for p in params:
            if not p.dense:
                continue
            norms = out.setdefault(p.module, [0.0] * len(rows))
            prev_l2, prev_n = 0.0, 0
            for j, (l2, sampled) in enumerate(zip(rows, series.host)):
                n = sampled[p.index] if p.index < len(sampled) else 0
                if n > prev_n and norms[j] is not None:
                    g = (l2[p.index] - prev_l2) / (n - prev_n)
                    norms[j] = norms[j] + g * g if math.isfinite(g) else None
                prev_l2, prev_n = l2[p.index], n
        return {m: [None if v is None else math.sqrt(v) for v in vals] for m, vals in out.items() if any(vals)}


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def canonical_layers(layers: dict[str, Any]) -> dict[str, Any]:
    """History keys without a DataParallel/DDP ``module.`` prefix (as profiles are compared)."""
    return {canonical(k): v for k, v in layers.items()}
