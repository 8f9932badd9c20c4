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

# Per-slot scalar accumulators (columns of one matrix) and their initial values.
_COLUMNS = ("n", "mean", "m2", "low", "high", "nonzero", "sat", "bad", "first_bad")
_INITIAL = (0.0, 0.0, 0.0, math.inf, -math.inf, 0.0, 0.0, 0.0, math.inf)
_FLOAT32_MAX = torch.finfo(torch.float32).max
_ALL_DIMS = tuple(tuple(range(n)) for n in range(8))  # full reductions with out= need the dims spelled out


def strided_sample(x: torch.Tensor, cap: int) -> torch.Tensor:
    """A view of at most ``cap`` elements of ``x``, taken with a fixed odd stride.

    Deterministic (no RNG is touched, so dropout masks stay bitwise identical) and
    odd so it does not alias with power-of-two channel or spatial sizes. The copy into
    the float32 staging matrix does any dtype conversion (bf16/fp16 under autocast).
    """
    n = x.numel()
    if n <= cap:
        return x.reshape(-1)
    step = ((n + cap - 1) // cap) | 1
    if x.is_contiguous():  # one view op instead of a flattening view and a slice
        return x.as_strided(((n - 1) // step + 1,), (step,))
    return x.reshape(-1)[::step]


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
    steps = [1] * x.ndim
    steps[0] = -(-n // rows)
    kept = x.numel() // n * -(-n // steps[0])
    if kept > 2 * cap and x.ndim >= 3:
        unit = unit_dim % x.ndim
        others = [d for d in range(1, x.ndim) if d != unit]
        step = math.ceil((kept / cap) ** (1.0 / len(others)))
        for d in others:
            steps[d] = step
    if x.is_contiguous():  # one strided view instead of a slice per dimension
        sizes = [-(-size // step) for size, step in zip(x.shape, steps)]
        return x.as_strided(sizes, [stride * step for stride, step in zip(x.stride(), steps)])
    return x[tuple(slice(None, None, step) for step in steps)]


def _count_distinct(values: torch.Tensor) -> torch.Tensor:
    """How many distinct values a 1-D tensor holds, as a device scalar (no synchronisation)."""
    held = values.sort().values
    return torch.ne(held[1:], held[:-1]).sum() + 1


@torch.inference_mode(False)
def persistent(t: torch.Tensor) -> torch.Tensor:
    """A normal (non-inference) copy, safe to update in place whatever mode the next forward runs in."""
    return t.clone()


def by_unit(x: torch.Tensor, dim: int) -> torch.Tensor:
    """``x`` as a contiguous (positions, units) matrix, units along ``dim``.

    Per-unit sums over dim 0 of this matrix are 2-5x faster on the CPU than sums over the
    other dimensions of a strided view (measured on conv-net activations); the copy is of the
    small strided sample only.
    """
    units = x.shape[dim]
    if x.ndim == 2 and dim % 2 == 1:  # already (positions, units)
        return x
    return x.movedim(dim, -1).reshape(-1, units)


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
        self._matrix: torch.Tensor | None = None  # (slots, len(_COLUMNS)) per-slot scalar accumulators
        self._acc: dict[str, torch.Tensor] = {}  # column views of _matrix, and "hist"; grown with the slots
        self._staging: torch.Tensor | None = None
        self._row_views: list[torch.Tensor] = []
        self._views: dict[tuple[int, int], torch.Tensor] = {}  # (row, length) -> view of the staging row's head
        # Staged samples are zero beyond their length: per staging row, how far it was written
        # since it was last zeroed (a static graph writes each row with the same length every time).
        self._written: list[int] = []
        self._band_cache: dict[tuple[int, ...], tuple | None] = {}
        self._softmax_high: dict[int, float] = {}
        self._ring: torch.Tensor | None = None  # fingerprints of recent model-input rows (observe_rows)
        self._distinct: torch.Tensor | None = None
        self._ring_pos = 0
        self._ring_filled = 0
        self._ring_fresh = 0  # rows written since the ring's distinct values were last counted  # softmax slot -> the probability that counts as saturated
        # Module inputs: per module index, the first forward whose floating-point input was non-finite.
        self._inputs: list[int] = []  # module index of each staged input sum, in call order
        self._input_pos: list[int] = []  # where in ``_sums`` each staged input's sum was written
        self._sums: torch.Tensor | None = None  # float32 sums of one merge period, written in place (out=)
        self._sum_views: list[torch.Tensor] = []  # 0-d views of ``_sums``, built once
        self._sums_used = 0
        self._first_bad_input: torch.Tensor | None = None
        self._last_input: tuple[torch.Tensor, int, int] | None = None  # (input, its version, where its sum is in _sums)

    # ---- layout -------------------------------------------------------------------------
    @torch.inference_mode(False)
    def _grow(self, slots: int, rows: int) -> None:
        """Make room for ``slots`` accumulators and ``rows`` staged calls, keeping what is there.

        Outside inference mode, so buffers created during an ``inference_mode`` forward
        can still be updated in place by later training forwards. The per-slot scalars are
        the columns of one matrix (``_acc[name]`` is a column view), so a merge reads and
        writes them with one operation each.
        """
        d, f = self.device, self._float
        if slots > self._capacity:
            k = slots + self._GROW - self._capacity
            fresh = torch.tensor([_INITIAL] * k, dtype=f, device=d)
            hist = torch.zeros(k, self.opts.hist_bins, device=d)
            if self._matrix is not None:
                fresh, hist = torch.cat([self._matrix, fresh]), torch.cat([self._acc["hist"], hist])
            self._matrix = fresh
            self._acc = {name: fresh[:, i] for i, name in enumerate(_COLUMNS)}
            self._acc["hist"] = hist
            self._capacity += k
        if rows > self._staged_capacity:
            old, used = self._staging, len(self._written)
            self._staged_capacity = rows + self._GROW
            self._staging = torch.zeros(self._staged_capacity, self.opts.max_elements, device=d)
            if old is not None and used:
                self._staging[:used].copy_(old[:used])  # rows staged earlier in this forward, zero-padded
            self._row_views = list(self._staging.unbind(0))
            self._views = {}

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
            self._grow(len(self.keys), row + 1)
        flat = strided_sample(x, self.opts.max_elements)
        m = flat.numel()
        written = self._written
        if row == len(written):
            written.append(0)
        if m < written[row]:
            self._row_views[row][m : written[row]].zero_()  # keep the padding zero (rare: a row shorter than last time)
        written[row] = m
        target = self._views.get((row, m))
        if target is None:
            if len(self._views) > 4096:  # shapes that keep changing (variable sequence lengths)
                self._views.clear()
            target = self._views[(row, m)] = self._row_views[row][:m]
        target.copy_(flat)
        self._rows.append(slot)
        self._lengths.append(m)
        self.samples[slot] += m
        self.sampled_calls[slot] += 1
        act = self.activations[slot]
        if act is None:
            return
        if act.kind == "softmax":
            high = self._softmax_high.get(slot)
            if high is None:
                high = self._softmax_high[slot] = saturation_bounds(act, self.opts.saturation_preactivation)[1]
            rows = x.amax(dim=-1 if act.dim is None else act.dim)
            self._row_saturation[row] = torch.count_nonzero(rows >= high) / max(1, rows.numel())
        elif act.kind == "relu":
            self._count_units(slot, x)

    def observe_input(self, index: int, x: torch.Tensor) -> None:
        """Stage the float32 sum of a module's input: one reduction kernel, non-finite iff the input is.

        The sum is NaN or Inf whenever any element is; only a finite input whose total exceeds
        3.4e38 would read as non-finite, far beyond any usable activation. It is written into a
        buffer the store keeps (``out=``): a small tensor allocated here would live until the
        merge, in the middle of the model's activations, and on glibc's malloc that was enough
        to make the heap give memory back to the kernel and fault it in again (page faults
        measured in benchmarks/runtime_overhead.py).
        """
        self._inputs.append(index)
        last = self._last_input
        inference = x.is_inference()  # no version counter: an in-place change could not be told apart
        if not inference and last is not None and last[0] is x and last[1] == x._version:
            self._input_pos.append(last[2])  # a parent's input handed on unchanged to its first child
            return
        pos = self._sums_used
        if pos >= len(self._sum_views):
            self._grow_sums(pos + 1)
        data = x.detach() if x.requires_grad else x
        if not data.ndim:
            data = data.reshape(1)
        dims = _ALL_DIMS[data.ndim] if data.ndim < len(_ALL_DIMS) else tuple(range(data.ndim))
        torch.sum(data, dim=dims, dtype=torch.float32, out=self._sum_views[pos])
        self._sums_used = pos + 1
        self._input_pos.append(pos)
        if not inference:
            self._last_input = (x, x._version, pos)

    @torch.inference_mode(False)
    def _grow_sums(self, size: int) -> None:
        old = self._sums
        fresh = torch.zeros(size + 2 * self._GROW, dtype=torch.float32, device=self.device)
        if old is not None:
            fresh[: old.numel()].copy_(old)
        self._sums = fresh
        self._sum_views = list(fresh.unbind(0))

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
        positions = tuple(self._input_pos)
        if positions == tuple(range(len(positions))):  # every input summed once, in order
            sums = self._sums[: len(positions)]
        else:
            sums = self._sums.index_select(0, self._cached(("input-pos", positions), lambda: torch.tensor(positions)))
        steps = torch.where(torch.isfinite(sums), math.inf, float(step)).to(self._float)
        idx = self._cached(("inputs", indices), lambda: torch.tensor(indices))
        self._first_bad_input.scatter_reduce_(0, idx, steps, reduce="amin")
        self._inputs.clear()
        self._input_pos.clear()
        self._sums_used = 0
        self._last_input = None

    def bad_inputs(self) -> dict[int, int]:
        """{module index: first forward with a non-finite input} (a host sync: report time only)."""
        if self._first_bad_input is None:
            return {}
        return {i: int(v) for i, v in enumerate(self._first_bad_input.double().cpu().tolist()) if math.isfinite(v)}

    def _count_units(self, slot: int, x: torch.Tensor) -> None:
        dim = 0 if x.ndim == 1 else unit_dim(x.ndim)
        part = spread_rows(x, dim, self.opts.max_unit_elements)
        active = torch.gt(by_unit(part, dim), 0).sum(0) if part.ndim > 1 else (part > 0).long()
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
        rows = by_unit(part, 1)
        nb = rows.shape[0]
        inv = torch.add(running_var, eps).rsqrt_()
        u = torch.sub(rows, running_mean).mul_(inv)
        mean = u.sum(0, dtype=self._float).div_(nb)
        var = u.mul_(u).sum(0, dtype=self._float).div_(nb).addcmul_(mean, mean, value=-1).clamp_(min=0)
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

    # ---- model-input diversity (dead-units needs several distinct inputs) --------------------
    _RING = 64  # fingerprints of the latest model-input rows kept on the device

    def observe_rows(self, x: torch.Tensor) -> None:
        """Fingerprint up to 64 rows of a model input into a ring of the latest 64 fingerprints, on the device.

        A fingerprint is a fixed random projection of (at most 256 strided values of) the row,
        rounded to float32: equal rows give equal fingerprints. Before the ring overwrites
        itself, its number of distinct values is folded into a running maximum (a few small
        kernels once per 64 rows); nothing is read back until ``distinct_rows()``.
        """
        rows = x.reshape(1, -1) if x.ndim < 2 else x
        n = rows.shape[0]
        if n > self._RING:
            rows = rows[:: -(-n // self._RING)]
        rows = rows.reshape(rows.shape[0], -1)
        if rows.shape[1] > 256:
            rows = rows[:, :: -(-rows.shape[1] // 256)]
        k, c = rows.shape
        if not k or not c:
            return
        weights = self._cached(
            ("fingerprint", c), lambda: torch.randn(c, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        )
        fingerprints = torch.mul(rows, weights).sum(1).float()  # float64 products: never in place on the input
        if self._ring is None:
            with torch.inference_mode(False):
                self._ring = torch.zeros(self._RING, device=self.device)
                self._distinct = torch.zeros((), dtype=torch.long, device=self.device)
        pos, ring = self._ring_pos, self._ring
        if self._ring_fresh + k > self._RING:  # about to overwrite rows not counted yet: count what the ring holds
            torch.maximum(self._distinct, _count_distinct(ring[: self._ring_filled]), out=self._distinct)
            self._ring_fresh = 0
        self._ring_fresh += k
        first = min(k, self._RING - pos)
        ring[pos : pos + first].copy_(fingerprints[:first])
        if k > first:
            ring[: k - first].copy_(fingerprints[first:])
        self._ring_pos = (pos + k) % self._RING
        self._ring_filled = min(self._RING, self._ring_filled + k)

    def distinct_rows(self) -> int | None:
        """The most distinct model-input rows the ring held at once (report time: a host sync); None if none were seen."""
        if self._ring is None:
            return None
        return max(int(self._distinct), len(set(self._ring[: self._ring_filled].tolist())))

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

    def _band(self, slots: tuple[int, ...]) -> tuple[torch.Tensor | None, torch.Tensor] | None:
        """Rows whose activation saturates in a band: (their row indices, None meaning every row; per row
        (centre, half-width)). None when no row has such a band (ReLUs, softmax, plain layers)."""
        if slots in self._band_cache:
            return self._band_cache[slots]
        rows, out = [], []
        for row, s in enumerate(slots):
            act = self.activations[s]
            if act is not None and act.kind not in ("relu", "softmax"):
                low, high = saturation_bounds(act, self.opts.saturation_preactivation)
                rows.append(row)
                out.append(((low + high) / 2, (high - low) / 2))
        found = None
        if rows:
            bounds = self._cached(("bounds", slots), lambda: torch.tensor(out, dtype=torch.float32))
            index = None if len(rows) == len(slots) else self._cached(("band-rows", slots), lambda: torch.tensor(rows))
            found = (index, bounds)
        if len(self._band_cache) > 64:
            self._band_cache.clear()
        self._band_cache[slots] = found
        return found

    def _valid(self, lengths: tuple[int, ...]) -> torch.Tensor:
        """(rows, max_elements) boolean: True where a staged row holds a sample (host tensor, for ``_cached``)."""
        return torch.arange(self.opts.max_elements)[None, :] < torch.tensor(lengths)[:, None]

    def _histograms(self, clean: torch.Tensor, finite: torch.Tensor, excluded: torch.Tensor, lengths: tuple[int, ...]) -> torch.Tensor:
        """One fixed-bin histogram per row, in a single counting kernel.

        Bins cover asinh(x / scale): magnitudes on a log scale with the sign kept, so the
        edges never depend on data and every profile is comparable. Values beyond the
        range land in the end bins; non-finite values and the padding beyond each row's
        length (``excluded`` 1, ``finite`` 0) go to an overflow bin that is discarded.
        """
        opts, (k, _) = self.opts, clean.shape
        bins = opts.hist_bins
        z = torch.mul(clean, 1.0 / opts.hist_scale).asinh_()
        idx = z.add_(opts.hist_range).mul_(bins / (2 * opts.hist_range)).floor_().clamp_(0, bins - 1)
        rows = self._cached(("offsets", k, bins), lambda: torch.arange(k, dtype=torch.float32)[:, None] * bins)
        to_overflow = self._cached(("overflow", k, bins), lambda: (k - torch.arange(k, dtype=torch.float32)[:, None]) * bins)
        idx = idx.mul_(finite).add_(rows).addcmul_(excluded, to_overflow).long().reshape(-1)
        if self.device.type == "cpu":
            counts = torch.bincount(idx, minlength=k * bins + 1)
        else:  # CUDA bincount syncs to size its output; index_put_ accumulates asynchronously and deterministically
            ones = self._cached(("ones", idx.numel()), lambda: torch.ones(idx.numel()))
            counts = torch.zeros(k * bins + 1, device=self.device).index_put_((idx,), ones, accumulate=True)
        return counts[: k * bins].reshape(k, bins)

    def merge(self, step: int) -> None:
        """Compute all staged rows' statistics and fold them into the accumulators (Chan et al.), vectorised.

        Rows of one slot staged twice before a merge (two threads sampling the same layer at
        once) are merged in separate passes, in order: one vectorised update per slot per pass,
        so neither row's statistics overwrite the other's.
        """
        self._merge_inputs(step)
        rows = self._rows
        k = len(rows)
        if not k:
            return
        self._grow(len(self.keys), k)
        try:
            if len(set(rows)) == k:
                self._merge_rows(0, k, step)
            else:
                start, seen = 0, set()
                for i, slot in enumerate(rows):
                    if slot in seen:
                        self._merge_rows(start, i, step)
                        start, seen = i, set()
                    seen.add(slot)
                self._merge_rows(start, k, step)
        finally:
            self._rows.clear()
            self._lengths.clear()
            self._row_saturation.clear()

    def _merge_rows(self, a: int, b: int, step: int) -> None:
        """Fold staged rows ``a:b`` (distinct slots) into the accumulators.

        Branch-free and without host synchronisation, with float masks rather than boolean
        ones (several times faster on the CPU): ``x - x`` is NaN exactly where ``x`` is NaN or
        Inf, so one subtraction finds the non-finite values, and the staged samples are zero
        beyond their lengths.
        """
        f, cap, k = self._float, self.opts.max_elements, b - a
        slots, lengths = tuple(self._rows[a:b]), tuple(self._lengths[a:b])
        x = self._staging[a:b]
        bad = torch.sub(x, x).nan_to_num_(nan=1.0)  # 1 where NaN or Inf, else 0
        clean = torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        if min(lengths) == cap:  # no padding
            excluded = bad
            finite = torch.rsub(bad, 1.0)
        else:
            excluded = torch.add(bad, self._cached(("padding", lengths), lambda: (~self._valid(lengths)).float()))
            finite = torch.rsub(excluded, 1.0)
        bad_b = bad.sum(1, dtype=f)
        n_b = self._cached(("lengths", lengths), lambda: torch.tensor(lengths, dtype=f)) - bad_b
        mean_b = clean.sum(1, dtype=f) / n_b.clamp(min=1)
        dev = torch.sub(clean, mean_b[:, None].float()).mul_(finite)
        m2_b = dev.mul_(dev).sum(1, dtype=f)
        # Extremes of the finite values: excluded positions are pushed to the largest float32, and
        # a row with no finite value at all leaves the accumulators alone (+/-inf).
        empty = n_b == 0
        low = torch.where(empty, math.inf, torch.add(clean, excluded, alpha=_FLOAT32_MAX).amin(1).to(f))
        high = torch.where(empty, -math.inf, torch.add(clean, excluded, alpha=-_FLOAT32_MAX).amax(1).to(f))
        sat_b = torch.zeros(k, dtype=f, device=self.device)
        band = self._band(slots)
        if band is not None:
            index, bounds = band
            xs, ok = (clean, finite) if index is None else (clean.index_select(0, index), finite.index_select(0, index))
            saturated = (torch.sub(xs, bounds[:, :1]).abs_() >= bounds[:, 1:]).float().mul_(ok).sum(1, dtype=f)
            frac = saturated / (n_b if index is None else n_b.index_select(0, index)).clamp(min=1)
            sat_b = frac if index is None else sat_b.index_copy_(0, index, frac)
        for row, value in self._row_saturation.items():
            if a <= row < b:
                sat_b[row - a] = value
        hist = self._histograms(clean, finite, excluded, lengths)

        if slots == tuple(range(k)):  # a static graph: rows are the slots, in execution order
            idx_s = None
            old = self._matrix[:k]
        else:
            idx_s = self._cached(("slots", slots), lambda: torch.tensor(slots))
            old = self._matrix.index_select(0, idx_s)
        n_a, mean_a, m2_a, low_a, high_a, nonzero_a, sat_a, bad_a, first_bad_a = old.unbind(1)
        n = n_a + n_b
        delta = mean_b - mean_a
        weight = n_b / n.clamp(min=1)
        any_bad = bad_b > 0
        new = torch.stack([
            n,
            mean_a + delta * weight,
            m2_a + m2_b + delta * delta * n_a * weight,
            torch.fmin(low_a, low),
            torch.fmax(high_a, high),
            nonzero_a + clean.sign().abs_().sum(1, dtype=f),  # count_nonzero, faster: clean is finite, its padding zero
            sat_a + sat_b,
            bad_a + any_bad,
            torch.fmin(first_bad_a, torch.where(any_bad, float(step), math.inf)),
        ], 1)  # fmt: skip
        if idx_s is None:
            self._matrix[:k].copy_(new)
            self._acc["hist"][:k].add_(hist)
        else:
            self._matrix.index_copy_(0, idx_s, new)
            self._acc["hist"].index_add_(0, idx_s, hist.to(self._acc["hist"].dtype))

    # ---- report time ----------------------------------------------------------------------
    def snapshot(self) -> list[dict]:
        """Pull every accumulator to the host (the only synchronisation the monitor makes)."""
        k = len(self.keys)
        if not k:
            return []
        self._grow(k, 0)
        columns = self._matrix[:k].double().cpu().t().tolist()
        host = dict(zip(_COLUMNS, columns))
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
        """How many device tensors the store holds (the accumulator matrix, histograms, staging, caches); the soak test checks it stays flat."""
        bands = sum(2 for found in self._band_cache.values() if found is not None)
        ring = 0 if self._ring is None else 2
        return 3 + (self._first_bad_input is not None) + (self._sums is not None) + len(self._cache) + bands + ring + len(self.units) + 2 * len(self.channels)
