"""On-device activation statistics: running moments, extremes, fractions and fixed-bin histograms.

Every figure stays a device tensor until ``snapshot()``: a forward only launches
kernels, never waits for them, so the monitor costs no host synchronisation on CUDA.
Per-call samples are staged in one matrix and merged into per-slot accumulators once
per sampled forward (Chan et al.'s parallel formula, vectorised over slots), which
keeps the number of kernel launches per layer small.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .classify import Activation, saturation_bounds
from .options import Options

# A slot is one call site: (module name, function name or "" for the module output, occurrence in the forward).
SlotKey = tuple[str, str, int]


def strided_sample(x: torch.Tensor, cap: int) -> torch.Tensor:
    """A view of at most ``cap`` elements of ``x``, taken with a fixed odd stride.

    Deterministic (no RNG is touched, so dropout masks stay bitwise identical) and
    odd so it does not alias with power-of-two channel or spatial sizes. The copy into
    the float32 staging matrix does any dtype conversion (bf16/fp16 under autocast).
    """
    flat = x.reshape(-1)
    n = flat.numel()
    return flat[:: ((n + cap - 1) // cap) | 1] if n > cap else flat


def spread_rows(x: torch.Tensor, unit_dim: int, cap: int, min_rows: int = 32) -> torch.Tensor:
    """A view of ``x`` with every unit (channel/feature) kept, rows and positions strided over the whole tensor.

    Per-unit figures need all units, not every position of a huge batch; taking evenly
    spread rows (at least ``min_rows`` of them when the batch has them) rather than the
    leading ones keeps one unusual first image from standing for the whole batch.
    """
    if x.numel() <= cap or x.ndim < 2:
        return x
    n = x.shape[0]
    per_row = max(1, x.numel() // n)
    rows = min(n, max(cap // per_row, min_rows))
    x = x[:: -(-n // rows)]
    if x.numel() > 2 * cap and x.ndim >= 3:
        others = [d for d in range(1, x.ndim) if d != unit_dim % x.ndim]
        step = math.ceil((x.numel() / cap) ** (1.0 / len(others)))
        index = [slice(None)] * x.ndim
        for d in others:
            index[d] = slice(None, None, step)
        x = x[tuple(index)]
    return x


@torch.inference_mode(False)
def persistent(t: torch.Tensor) -> torch.Tensor:
    """A normal (non-inference) copy, safe to update in place whatever mode the next forward runs in."""
    return t.clone()


def unit_dim(ndim: int) -> int:
    """Which dimension holds the units: channels for images, features for sequences and vectors."""
    return 1 if ndim == 2 or ndim >= 4 else -1


@dataclass
class _Units:
    """Per-unit activity counts of one ReLU-family call site."""

    active: torch.Tensor
    positions: int = 0  # observations per unit, accumulated on the host from shapes


@dataclass
class _Channels:
    """Per-channel moments of an eval-mode BatchNorm input, standardised by its running statistics."""

    n: int
    mean: torch.Tensor
    m2: torch.Tensor
    rows: int = 0  # batch rows (images, sequences) pooled so far


class StatStore:
    """Accumulators for every call site observed on one device; memory is O(slots x bins).

    Each sampled call only copies at most ``max_elements`` strided values into one row of
    a staging matrix; moments, extremes, counts and histograms of all rows are computed
    together when the forward ends. Kernel launches per forward are therefore nearly
    independent of the number of layers, which is what keeps CPU overhead low.
    """

    _GROW = 16

    def __init__(self, device: torch.device, opts: Options):
        self.device = device
        self.opts = opts
        self.keys: list[SlotKey] = []
        self.activations: list[Activation | None] = []
        self.index: dict[SlotKey, int] = {}
        self.samples: list[int] = []  # elements seen per slot (host ints, from shapes)
        self.sampled_calls: list[int] = []
        self.units: dict[int, _Units] = {}
        self.channels: dict[int, _Channels] = {}
        self.model_outputs: set[int] = set()  # softmax slots whose result the model returned
        self._rows: list[int] = []  # slot of each staged row, in call order
        self._lengths: list[int] = []
        self._row_saturation: dict[int, torch.Tensor] = {}  # softmax rows, computed per call
        self._capacity = 0
        self._staged_capacity = 0
        self._float = torch.float32 if device.type == "mps" else torch.float64
        self._cache: dict[tuple, torch.Tensor] = {}
        self._acc: dict[str, torch.Tensor] = {}  # per-slot accumulators, grown with the slots
        # Module inputs: per module index, the first forward whose floating-point input was non-finite.
        self._inputs: list[int] = []  # module index of each staged input sum, in call order
        self._input_sums: list[torch.Tensor] = []
        self._first_bad_input: torch.Tensor | None = None
        self._last_input: tuple[torch.Tensor, int, torch.Tensor] | None = None  # (input, its version, its sum)

    # ---- layout -------------------------------------------------------------------------
    @torch.inference_mode(False)
    def _grow(self, slots: int, rows: int) -> None:
        """Make room for ``slots`` accumulators and ``rows`` staged calls, keeping what is there.

        Outside inference mode, so buffers created during an ``inference_mode`` forward
        can still be updated in place by later training forwards.
        """
        d, f = self.device, self._float
        if slots > self._capacity:
            k = slots + self._GROW - self._capacity
            fresh = {
                "n": torch.zeros(k, dtype=f, device=d),
                "mean": torch.zeros(k, dtype=f, device=d),
                "m2": torch.zeros(k, dtype=f, device=d),
                "low": torch.full((k,), math.inf, device=d),
                "high": torch.full((k,), -math.inf, device=d),
                "nonzero": torch.zeros(k, dtype=f, device=d),
                "sat": torch.zeros(k, dtype=f, device=d),
                "bad": torch.zeros(k, dtype=f, device=d),
                "first_bad": torch.full((k,), math.inf, dtype=f, device=d),
                "hist": torch.zeros(k, self.opts.hist_bins, device=d),
            }
            for name, tensor in fresh.items():
                old = self._acc.get(name)
                self._acc[name] = tensor if old is None else torch.cat([old, tensor])
            self._capacity += k
        if rows > self._staged_capacity:
            self._staged_capacity = rows + self._GROW
            self._staging = torch.zeros(self._staged_capacity, self.opts.max_elements, device=d)

    def slot(self, key: SlotKey, activation: Activation | None) -> int:
        found = self.index.get(key)
        if found is not None:
            return found
        found = self.index[key] = len(self.keys)
        self.keys.append(key)
        self.activations.append(activation)
        self.samples.append(0)
        self.sampled_calls.append(0)
        return found

    # ---- per call -----------------------------------------------------------------------
    def observe(self, slot: int, x: torch.Tensor) -> None:
        """Stage a strided sample of one output (one copy kernel); per-unit counts for ReLUs."""
        row = len(self._rows)
        if row >= self._staged_capacity:
            staged = self._staging[:row].clone() if row else None
            self._grow(len(self.keys), row + 1)
            if staged is not None:
                self._staging[:row].copy_(staged)
        flat = strided_sample(x, self.opts.max_elements)
        m = flat.numel()
        self._staging[row, :m].copy_(flat)
        self._rows.append(slot)
        self._lengths.append(m)
        self.samples[slot] += m
        self.sampled_calls[slot] += 1
        act = self.activations[slot]
        if act is not None and act.kind == "softmax":
            high = saturation_bounds(act, self.opts.saturation_preactivation)[1]
            rows = x.amax(dim=-1 if act.dim is None else act.dim)
            self._row_saturation[row] = torch.count_nonzero(rows >= high) / max(1, rows.numel())
        elif act is not None and act.kind == "relu":
            self._count_units(slot, x)

    def observe_input(self, index: int, x: torch.Tensor) -> None:
        """Stage the float32 sum of a module's input: one reduction kernel, non-finite iff the input is.

        The sum is NaN or Inf whenever any element is; only a finite input whose total exceeds
        3.4e38 would read as non-finite, far beyond any usable activation.
        """
        self._inputs.append(index)
        if x.is_inference():  # no version counter: an in-place change could not be told apart
            self._input_sums.append(x.sum(dtype=torch.float32))
            return
        last = self._last_input
        if last is not None and last[0] is x and last[1] == x._version:
            self._input_sums.append(last[2])  # a parent's input handed on unchanged to its first child
            return
        total = x.detach().sum(dtype=torch.float32)
        self._last_input = (x, x._version, total)
        self._input_sums.append(total)

    @torch.inference_mode(False)
    def _grow_inputs(self, size: int) -> None:
        old = self._first_bad_input
        if old is None or old.numel() < size:
            fresh = torch.full((size + self._GROW - (0 if old is None else old.numel()),), math.inf, dtype=self._float, device=self.device)
            self._first_bad_input = fresh if old is None else torch.cat([old, fresh])

    def _merge_inputs(self, step: int) -> None:
        """Fold the staged input sums into the per-module first-non-finite-input forward (no host sync)."""
        if not self._inputs:
            return
        indices = tuple(self._inputs)
        self._grow_inputs(max(indices) + 1)
        bad = ~torch.isfinite(torch.stack(self._input_sums))
        steps = torch.where(bad, float(step), math.inf).to(self._float)
        idx = self._cached(("inputs", indices), lambda: torch.tensor(indices))
        self._first_bad_input.scatter_reduce_(0, idx, steps, reduce="amin")
        self._inputs.clear()
        self._input_sums.clear()
        self._last_input = None

    def bad_inputs(self) -> dict[int, int]:
        """{module index: first forward with a non-finite input} (a host sync: report time only)."""
        if self._first_bad_input is None:
            return {}
        return {i: int(v) for i, v in enumerate(self._first_bad_input.double().cpu().tolist()) if math.isfinite(v)}

    def _count_units(self, slot: int, x: torch.Tensor) -> None:
        dim = 0 if x.ndim == 1 else unit_dim(x.ndim)
        part = spread_rows(x, dim, self.opts.max_unit_elements)
        dims = [d for d in range(part.ndim) if d != dim % part.ndim]
        active = torch.count_nonzero(part > 0, dim=dims) if dims else (part > 0).long()
        units = self.units.get(slot)
        if units is None or units.active.shape != active.shape:
            units = self.units[slot] = _Units(persistent(torch.zeros_like(active)))
        units.active.add_(active)
        units.positions += part.numel() // max(1, active.numel())

    def observe_channels(self, slot: int, x: torch.Tensor, running_mean: torch.Tensor, running_var: torch.Tensor, eps: float) -> None:
        """Pool an eval BatchNorm's input per channel, standardised by its running statistics.

        Standardising first keeps the one-pass sums well conditioned; plain sums are several
        times faster on CPU than ``var_mean`` over non-trailing dimensions.
        """
        part = spread_rows(x, 1, self.opts.max_unit_elements)
        shape = [1, -1] + [1] * (part.ndim - 2)
        inv = torch.add(running_var, eps).rsqrt_()
        u = torch.sub(part, running_mean.view(shape)).mul_(inv.view(shape))
        dims = [d for d in range(part.ndim) if d != 1]
        nb = part.numel() // max(1, part.shape[1])
        mean = u.sum(dims).div_(nb).to(self._float)
        var = u.mul_(u).sum(dims).div_(nb).to(self._float).sub_(mean * mean).clamp_(min=0)
        found = self.channels.get(slot)
        if found is None or found.mean.shape != mean.shape:
            self.channels[slot] = _Channels(nb, persistent(mean), persistent(var.mul_(nb)), part.shape[0])
            return
        found.rows += part.shape[0]
        n = found.n + nb
        delta = mean.sub_(found.mean)
        found.mean.add_(delta, alpha=nb / n)
        found.m2.add_(var, alpha=nb).addcmul_(delta, delta, value=found.n * nb / n)
        found.n = n

    # ---- per sampled forward --------------------------------------------------------------
    def _cached(self, key: tuple, build: Callable[[], torch.Tensor]) -> torch.Tensor:
        """Device tensors derived from the host layout (row lengths, slot indices, bounds).

        Built once per distinct layout, so steady-state forwards copy nothing host-to-device.
        """
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > 64:
                self._cache.clear()
            host = build()
            if self.device.type == "cuda":
                host = host.pin_memory()
            found = self._cache[key] = persistent(host.to(self.device, non_blocking=True))
        return found

    def _bounds(self, slots: tuple[int, ...]) -> torch.Tensor:
        """Per-row (centre, half-width) of the saturation band; rows that cannot saturate get +inf."""

        def build() -> torch.Tensor:
            out = []
            for s in slots:
                act = self.activations[s]
                if act is None or act.kind in ("relu", "softmax"):
                    out.append((0.0, math.inf))
                else:
                    low, high = saturation_bounds(act, self.opts.saturation_preactivation)
                    out.append(((low + high) / 2, (high - low) / 2))
            return torch.tensor(out, dtype=torch.float32)

        return self._cached(("bounds", slots), build)

    def _histograms(self, clean: torch.Tensor, finite: torch.Tensor) -> torch.Tensor:
        """One fixed-bin histogram per row, in a single counting kernel.

        Bins cover asinh(x / scale): magnitudes on a log scale with the sign kept, so the
        edges never depend on data and every profile is comparable. Values beyond the
        range land in the end bins; non-finite and padding values are discarded.
        """
        opts, (k, _) = self.opts, clean.shape
        bins = opts.hist_bins
        z = torch.mul(clean, 1.0 / opts.hist_scale).asinh_()
        idx = z.add_(opts.hist_range).mul_(bins / (2 * opts.hist_range)).floor_().clamp_(0, bins - 1)
        idx.add_(self._cached(("offsets", k, bins), lambda: torch.arange(k, dtype=torch.float32)[:, None] * bins))
        idx = torch.where(finite, idx, float(k * bins)).long().reshape(-1)
        if self.device.type == "cpu":
            counts = torch.bincount(idx, minlength=k * bins + 1)
        else:  # CUDA bincount syncs to size its output; index_put_ accumulates asynchronously and deterministically
            ones = self._cached(("ones", idx.numel()), lambda: torch.ones(idx.numel()))
            counts = torch.zeros(k * bins + 1, device=self.device).index_put_((idx,), ones, accumulate=True)
        return counts[: k * bins].reshape(k, bins)

    def merge(self, step: int) -> None:
        """Compute all staged rows' statistics and fold them into the accumulators (Chan et al.), vectorised."""
        self._merge_inputs(step)
        k = len(self._rows)
        if not k:
            return
        self._grow(len(self.keys), k)
        f, cap = self._float, self.opts.max_elements
        slots, lengths = tuple(self._rows), tuple(self._lengths)
        valid = self._cached(("valid", lengths), lambda: torch.arange(cap)[None, :] < torch.tensor(lengths)[:, None])
        x = self._staging[:k]
        finite = torch.isfinite(x).logical_and_(valid)
        clean = torch.where(finite, x, 0.0)
        n_b = finite.sum(1).to(f)
        mean_b = clean.sum(1).to(f) / n_b.clamp(min=1)
        dev = torch.where(finite, clean - mean_b[:, None].float(), 0.0)
        m2_b = (dev * dev).sum(1).to(f)
        bounds = self._bounds(slots)
        saturated = (torch.sub(clean, bounds[:, :1]).abs_() >= bounds[:, 1:]).logical_and_(finite).sum(1)
        sat_b = saturated.to(f) / n_b.clamp(min=1)
        for row, frac in self._row_saturation.items():
            sat_b[row] = frac
        bad_b = (~finite).logical_and_(valid).any(1)

        if slots == tuple(range(k)):  # a static graph: rows are the slots, in execution order
            idx_s, take = None, (lambda acc: acc[:k])
        else:
            idx_s = self._cached(("slots", slots), lambda: torch.tensor(slots))
            take = lambda acc: acc.index_select(0, idx_s)  # noqa: E731
        acc = self._acc
        n_a, mean_a = take(acc["n"]), take(acc["mean"])
        n = n_a + n_b
        delta = mean_b - mean_a
        weight = n_b / n.clamp(min=1)
        new = {
            "n": n,
            "mean": mean_a + delta * weight,
            "m2": take(acc["m2"]) + m2_b + delta * delta * n_a * weight,
            "low": torch.fmin(take(acc["low"]), torch.where(finite, x, math.inf).amin(1)),
            "high": torch.fmax(take(acc["high"]), torch.where(finite, x, -math.inf).amax(1)),
            "nonzero": take(acc["nonzero"]) + torch.count_nonzero(clean, dim=1),
            "hist": take(acc["hist"]) + self._histograms(clean, finite),
            "sat": take(acc["sat"]) + sat_b,
            "bad": take(acc["bad"]) + bad_b,
            "first_bad": torch.fmin(take(acc["first_bad"]), torch.where(bad_b, float(step), math.inf)),
        }
        for name, value in new.items():
            if idx_s is None:
                acc[name][:k].copy_(value)
            else:
                acc[name].index_copy_(0, idx_s, value.to(acc[name].dtype))
        self._rows.clear()
        self._lengths.clear()
        self._row_saturation.clear()

    # ---- report time ----------------------------------------------------------------------
    def snapshot(self) -> list[dict]:
        """Pull every accumulator to the host (the only synchronisation the monitor makes)."""
        k = len(self.keys)
        self._grow(k, 0)
        host = {
            name: self._acc[name][:k].double().cpu().tolist()
            for name in ("n", "mean", "m2", "low", "high", "nonzero", "sat", "bad", "first_bad")
        }
        hist = self._acc["hist"][:k].double().cpu().tolist()
        rows = []
        for i, (module, function, occurrence) in enumerate(self.keys):
            units = self.units.get(i)
            chans = self.channels.get(i)
            row = {name: values[i] for name, values in host.items()}
            row.update(
                module=module,
                function=function,
                occurrence=occurrence,
                slot=i,
                model_output=i in self.model_outputs,
                activation=self.activations[i],
                samples=self.samples[i],
                calls=self.sampled_calls[i],
                hist=hist[i],
                unit_active=None if units is None else units.active.double().cpu().tolist(),
                unit_positions=0 if units is None else units.positions,
                channel_mean=None if chans is None else chans.mean.cpu().tolist(),
                channel_var=None if chans is None else (chans.m2 / max(1, chans.n)).cpu().tolist(),
                channel_n=0 if chans is None else chans.n,
                channel_rows=0 if chans is None else chans.rows,
            )
            rows.append(row)
        return rows

    def tensor_count(self) -> int:
        """How many device tensors the store holds; the soak test checks it stays flat."""
        return 11 + (self._first_bad_input is not None) + len(self._cache) + len(self.units) + 2 * len(self.channels)
