"""Recall and false alarms of tensorlint.runtime on real architectures built from configs.

    python benchmarks/runtime_recall.py            # prints a markdown table

Planted faults x architectures (transformers GPT-2/BERT/T5/ViT from tiny configs, a
torchvision-style ResNet-18 with BasicBlocks, an LSTM tagger): a fault counts as found
when the report has the expected kind at the expected module (or, for kinds judged per
layer group, any of the expected modules). The correct workflows (train, evaluate, then
infer, with gradient checks on every step) must give 0 warnings and 0 errors. Nothing
is downloaded.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "runtime"))
from resnet_helpers import ResNet18  # noqa: E402

from tensorlint.runtime import Monitor  # noqa: E402


class LSTMTagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(64, 16)
        self.lstm = nn.LSTM(16, 32, num_layers=2, dropout=0.2, batch_first=True)
        self.fc = nn.Linear(32, 4)

    def forward(self, x):
        return self.fc(self.lstm(self.emb(x))[0][:, -1])


class Arch:
    """A model with its batches, loss and the modules each planted fault should be found at."""

    def __init__(self, name: str):
        self.name = name
        torch.manual_seed(0)
        import transformers

        transformers.utils.logging.set_verbosity_error()
        t = transformers
        if name == "gpt2":
            cfg = t.GPT2Config(vocab_size=128, n_positions=32, n_embd=32, n_layer=2, n_head=2, bos_token_id=0, eos_token_id=0)
            self.model = t.GPT2LMHeadModel(cfg)
            self.nan_at, self.dead_at = "transformer.h.0.mlp.c_fc", "transformer.h.0.mlp.act"
            self.attention = [m.attn.c_attn for m in self.model.transformer.h]
        elif name == "bert":
            cfg = t.BertConfig(vocab_size=128, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=64, max_position_embeddings=32)  # fmt: skip
            self.model = t.BertForSequenceClassification(cfg)
            self.nan_at, self.dead_at = "bert.encoder.layer.0.intermediate.dense", "bert.encoder.layer.0.intermediate.intermediate_act_fn"
            self.attention = [(m.attention.self.query, m.attention.self.key) for m in self.model.bert.encoder.layer]
        elif name == "t5":
            cfg = t.T5Config(vocab_size=128, d_model=32, d_kv=16, d_ff=64, num_layers=2, num_heads=2, decoder_start_token_id=0)
            self.model = t.T5ForConditionalGeneration(cfg)
            self.nan_at, self.dead_at = "encoder.block.0.layer.1.DenseReluDense.wi", "encoder.block.0.layer.1.DenseReluDense.act"
            self.attention = [(m.layer[0].SelfAttention.q, m.layer[0].SelfAttention.k) for m in self.model.encoder.block]
        elif name == "vit":
            cfg = t.ViTConfig(image_size=16, patch_size=4, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                              intermediate_size=64, num_labels=3)  # fmt: skip
            self.model = t.ViTForImageClassification(cfg)
            self.nan_at, self.dead_at = "vit.layers.0.mlp.fc1", "vit.layers.0.mlp.activation_fn"
            self.attention = [(m.attention.q_proj, m.attention.k_proj) for m in self.model.vit.layers]
        elif name == "resnet18":
            self.model = ResNet18()
            self.nan_at, self.dead_at = "layer1.0.conv2", "layer1.0.relu"
            self.attention = None
        else:
            self.model = LSTMTagger()
            self.nan_at, self.dead_at = "lstm", None
            self.attention = None
        self.gen = torch.Generator().manual_seed(1)

    # ---- data ---------------------------------------------------------------------------------------
    def batch(self, shift: float = 0.0) -> dict:
        g = self.gen
        if self.name in ("gpt2", "bert", "t5"):
            hi = 16 if shift else 128  # drift: a narrow token distribution
            ids = torch.randint(0, hi, (8, 16), generator=g)
            return {"input_ids": ids}
        if self.name == "vit":
            return {"pixel_values": torch.randn(16, 3, 16, 16, generator=g) + shift}
        if self.name == "resnet18":
            return {"x": torch.randn(16, 3, 16, 16, generator=g) + shift}
        return {"x": torch.randint(0, 16 if shift else 64, (8, 12), generator=g)}

    def forward(self, batch: dict, labels: bool = False):
        m = self.model
        if self.name in ("gpt2", "t5"):
            ids = batch["input_ids"]
            return m(input_ids=ids, labels=ids if labels else None, **({} if labels or self.name == "gpt2" else {"decoder_input_ids": ids[:, :4]}))
        if self.name == "bert":
            return m(input_ids=batch["input_ids"], labels=torch.zeros(8, dtype=torch.long) if labels else None)
        if self.name == "vit":
            return m(pixel_values=batch["pixel_values"], labels=torch.zeros(16, dtype=torch.long) if labels else None)
        return m(batch["x"])

    def loss(self, batch: dict, scale: float = 1.0) -> torch.Tensor:
        out = self.forward(batch, labels=True)
        if isinstance(out, torch.Tensor):
            loss = nn.functional.cross_entropy(out, torch.zeros(out.shape[0], dtype=torch.long))
        else:
            loss = out.loss
        return loss * scale


def train(arch: Arch, steps: int = 6, opt=None, scale: float = 1.0, mon=None) -> None:
    opt = opt or torch.optim.AdamW(arch.model.parameters(), lr=1e-3)
    arch.model.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = arch.loss(arch.batch(), scale)
        loss.backward()
        if mon is not None:
            mon.observe_loss(loss)
        opt.step()


def evaluate(arch: Arch, batches: int = 3, shift: float = 0.0, eval_mode: bool = True) -> None:
    if eval_mode:
        arch.model.eval()
    with torch.no_grad():
        for _ in range(batches):
            arch.forward(arch.batch(shift))


def found(report, kind: str, modules: list[str] | None) -> bool:
    hits = report.modules(kind)
    return bool(hits) if modules is None else any(m in hits for m in modules)


# ---- planted faults: (label, expected kind, applies?, run -> report, expected modules) ----------------------------
def fault_forgot_eval(arch: Arch):
    with Monitor(arch.model, grad_every=1) as mon:
        train(arch, steps=2)
        evaluate(arch, eval_mode=False)
    stochastic = any(
        (isinstance(m, nn.Dropout) and m.p > 0) or (isinstance(m, nn.RNNBase) and m.dropout > 0)
        or isinstance(m, nn.modules.batchnorm._BatchNorm) for m in arch.model.modules()
    ) or getattr(getattr(arch.model, "config", None), "attention_probs_dropout_prob", 0) > 0
    if not stochastic:
        return None  # e.g. ViT's default config has no dropout: eval() changes nothing
    kind = "batchnorm-train-at-inference" if arch.name == "resnet18" else "dropout-active-at-inference"
    return found(mon.report(), kind, None)


def fault_train_in_eval(arch: Arch):
    with Monitor(arch.model, grad_every=1) as mon:
        train(arch, steps=2)
        evaluate(arch)
        opt = torch.optim.AdamW(arch.model.parameters(), lr=1e-3)
        for _ in range(2):  # training resumes without model.train()
            opt.zero_grad()
            arch.loss(arch.batch()).backward()
            opt.step()
    return found(mon.report(), "train-in-eval-mode", None)


def fault_nan_weight(arch: Arch):
    with torch.no_grad():
        module = arch.model.get_submodule(arch.nan_at)
        weight = module.weight if hasattr(module, "weight") else module.weight_ih_l0
        weight.view(-1)[0] = float("nan")
    with Monitor(arch.model, every=1) as mon:
        evaluate(arch, batches=1)
    return found(mon.report(), "non-finite", [arch.nan_at])


def fault_dead_units(arch: Arch):
    if arch.dead_at is None:
        return None
    with torch.no_grad():
        if arch.name == "resnet18":
            arch.model.layer1[0].bn1.bias.fill_(-100.0)
        else:
            producer = arch.model.get_submodule(arch.nan_at)
            if producer.bias is not None:
                producer.bias.fill_(-100.0)
            else:  # T5's wi has no bias: every pre-activation exactly 0, never positive
                producer.weight.zero_()
    with Monitor(arch.model, every=1) as mon:
        evaluate(arch, batches=2)
    return found(mon.report(), "dead-units", [arch.dead_at])


def fault_peaked_attention(arch: Arch):
    if arch.attention is None:
        return None
    with torch.no_grad():
        for item in arch.attention:
            for layer in item if isinstance(item, tuple) else (item,):
                layer.weight.mul_(100.0)
    with Monitor(arch.model, every=1) as mon:
        evaluate(arch, batches=1)
    return found(mon.report(), "saturation", None)


def fault_drift(arch: Arch, tmp: Path):
    arch.model.eval()
    with Monitor(arch.model, every=1) as mon:
        evaluate(arch, batches=6)
    path = tmp / f"{arch.name}.json"
    mon.profile().save(path)
    with Monitor(arch.model, every=1, reference=str(path)) as mon:
        evaluate(arch, batches=6, shift=1.0)
    return found(mon.report(), "drift", None)


def fault_vanishing(arch: Arch):
    with Monitor(arch.model, grad_every=1) as mon:
        train(arch, steps=4, scale=1e-12)
    return found(mon.report(), "vanishing-gradient", None)


def fault_missing_from_optimizer(arch: Arch):
    params = list(arch.model.named_parameters())
    first_module = params[1][0].rpartition(".")[0]  # skip the first (often an embedding shared with a head)
    kept = [p for n, p in params if not n.startswith(first_module + ".")]
    with Monitor(arch.model, grad_every=1) as mon:
        train(arch, steps=4, opt=torch.optim.AdamW(kept, lr=1e-3))
    return found(mon.report(), "unchanged-parameter", [first_module])


def fault_nan_loss(arch: Arch):
    with Monitor(arch.model, grad_every=1) as mon:
        train(arch, steps=2, scale=float("nan"), mon=mon)
    report = mon.report()
    return found(report, "loss", None) and found(report, "non-finite-gradient", None)


FAULTS: list[tuple[str, Callable]] = [
    ("forgotten eval()", fault_forgot_eval),
    ("training continues in eval()", fault_train_in_eval),
    ("NaN weight (right module)", fault_nan_weight),
    ("dead units (right module)", fault_dead_units),
    ("peaked attention (sdpa)", fault_peaked_attention),
    ("input drift", fault_drift),
    ("vanishing gradient", fault_vanishing),
    ("layer missing from optimizer", fault_missing_from_optimizer),
    ("NaN loss", fault_nan_loss),
]
ARCHS = ["gpt2", "bert", "t5", "vit", "resnet18", "lstm"]


def correct_workflow(name: str) -> int:
    """Warnings and errors from a correct train / evaluate / infer run with gradient checks on every step."""
    arch = Arch(name)
    with Monitor(arch.model, grad_every=1, every=2) as mon:
        train(arch, steps=24, mon=mon)
        evaluate(arch, batches=3)
        arch.model.train()
        train(arch, steps=16, mon=mon)
        evaluate(arch, batches=2)
    return sum(1 for f in mon.report().findings if f.severity in ("error", "warning"))


def main() -> None:
    import tempfile

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    tmp = Path(tempfile.mkdtemp())
    rows = {}
    for fault, run in FAULTS:
        rows[fault] = {}
        for name in ARCHS:
            arch = Arch(name)
            result = run(arch, tmp) if run is fault_drift else run(arch)
            rows[fault][name] = "n/a" if result is None else ("found" if result else "**missed**")
    print("| planted fault | " + " | ".join(ARCHS) + " |")
    print("| --- | " + " | ".join("---" for _ in ARCHS) + " |")
    for fault, cells in rows.items():
        print(f"| {fault} | " + " | ".join(cells[a] for a in ARCHS) + " |")
    alarms = {name: correct_workflow(name) for name in ARCHS}
    print("| correct workflow: warnings + errors | " + " | ".join(str(alarms[a]) for a in ARCHS) + " |")
    applicable = [c for cells in rows.values() for c in cells.values() if c != "n/a"]
    print(f"\nrecall {sum(c == 'found' for c in applicable)}/{len(applicable)}; false alarms {sum(alarms.values())}")


if __name__ == "__main__":
    main()
