"""Monitor options: every threshold in one place, with the source of its default.

Kept as a dataclass so ``Monitor(model, saturation_fraction=0.6)`` is validated
(unknown names raise ``TypeError``) and the report can echo what it used.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Options:
    """Thresholds and sampling knobs; see docs/runtime.md for the rationale of each."""

    # Sampling: tensor statistics and functional-op checks run on the first forward of each
    # context (grad on/off, inference mode, train/eval) and every ``every``-th one after it,
    # from at most ``max_elements`` strided elements per layer. Module checks run on every forward.
    every: int = 16
    max_elements: int = 1024
    # Profile the model's floating-point input too (drift in the data itself).
    profile_input: bool = True
    # saturation: DeepDiagnosis (ICSE'22) calls a sigmoid/tanh saturated at |pre-activation| >= 5
    # and fires at > 50% of a layer; SageMaker Debugger also fires at > 50%.
    saturation_preactivation: float = 5.0
    saturation_fraction: float = 0.5
    # dead-units: SageMaker Debugger's DeadRelu: a unit active < 1% of the time is dead,
    # the rule fires when > 50% of a layer is dead.
    dead_unit_activity: float = 0.01
    dead_layer_fraction: float = 0.5
    # dead-units needs per-unit counts, so it reads up to this many elements per layer.
    max_unit_elements: int = 8192
    # ... and is judged only once the sampled forwards saw this many distinct model-input rows:
    # a unit positive on half of all inputs looks dead on n distinct ones with probability 2^-n,
    # so on one repeated row about half of a healthy layer looks dead (the rule's threshold);
    # with 4 rows a unit looks dead with probability 1/16, and more than half of 32 such units
    # at once with probability about 1e-12 (see docs/runtime.md).
    dead_min_rows: int = 4
    # drift: PSI conventions (< 0.1 stable, 0.1-0.25 moderate, > 0.25 major).
    psi_moderate: float = 0.1
    psi_major: float = 0.25
    psi_groups: int = 10
    # bn-stats-mismatch (our choice): live channel mean more than this many running stds
    # away on average, or live/running variance ratio beyond this factor.
    bn_mismatch_z: float = 1.0
    bn_var_ratio: float = 4.0
    # ... judged only once this many batch rows (images, sequences) were pooled per channel.
    bn_min_rows: int = 32
    # ... and only once the BatchNorm tracked this many training batches: with the default
    # momentum 0.1, 0.9^30 = 4% of the initial running statistics is left after 30.
    bn_min_tracked: int = 30
    # drift: a layer is compared only when both sides have at least this many sampled values
    # (a per-batch scalar such as a ModelOutput's loss never qualifies over a short run).
    drift_min_samples: int = 256
    # batchnorm-small-batch: Wu & He (2018), BN's ImageNet error climbs steeply below 8 samples.
    bn_min_batch: int = 8
    bn_small_majority: float = 0.5
    # Fixed histogram: bins over asinh(x / hist_scale) in [-hist_range, hist_range]; about
    # 13% relative resolution from 1e-5 to 1e6 in magnitude, shared by every profile.
    hist_bins: int = 480
    hist_range: float = 30.0
    hist_scale: float = 1e-6

    # Gradient and training-dynamics checks (runtime/checks_gradients.py), read at optimizer steps,
    # sampled on the first step and every ``grad_every``-th one after it.
    grad_checks: bool = True
    grad_every: int = 16
    grad_min_samples: int = 3  # sampled steps before a layer is judged
    # vanishing: SageMaker Debugger VanishingGradient and DeepDiagnosis: mean |grad| < 1e-7.
    grad_vanishing: float = 1e-7
    # exploding: AutoTrainer (ICSE'21): ||g_first layer|| / ||g_last layer|| > 70.
    grad_exploding_ratio: float = 70.0
    # weight-update ratio ||dw|| / ||w|| outside [1e-8, 10]: SageMaker Debugger WeightUpdateRatio defaults.
    grad_update_ratio: bool = True
    update_ratio_small: float = 1e-8
    update_ratio_large: float = 10.0
    # unchanged parameter / no gradient after this many steps: SageMaker Debugger UnchangedTensor (3 steps).
    unchanged_steps: int = 3
    # loss not decreasing: SageMaker Debugger LossNotDecreasing (10 steps, 0.1%).
    loss_window: int = 10
    loss_min_decrease: float = 0.001
    loss_history: int = 1024

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError("every must be >= 1")
        if self.max_elements < 16:
            raise ValueError("max_elements must be >= 16")
        if self.dead_min_rows < 1:
            raise ValueError("dead_min_rows must be >= 1")
        if self.grad_every < 1:
            raise ValueError("grad_every must be >= 1")
        if self.loss_history < 2 * self.loss_window + 1:
            raise ValueError("loss_history must be > 2 * loss_window")

    def to_dict(self) -> dict:
        return asdict(self)
