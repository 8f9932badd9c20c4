"""A small training script with runtime-only bugs, for `tensorlint diagnose` (no code changes needed).

    tensorlint diagnose examples/diagnose/buggy_training.py --epochs 3

The script trains a classifier and validates it each epoch. Nothing in the source is
wrong to a linter; the bugs only show while it runs:

- the features arrive unscaled (values in the hundreds), so the first sigmoid layer is pinned
  at 0/1 (`saturation`);
- `evaluate()` sets the mode from a registry flag that was left at "train" (it never calls
  `model.eval()` itself), so validation batches overwrite the
  BatchNorm running statistics (`batchnorm-train-at-inference`) and dropout masks the
  validation outputs (`dropout-active-at-inference`).

Expected output (`tensorlint diagnose` prints the report after the script's own output):

    epoch 0 val_acc 0.59
    epoch 1 val_acc 0.71
    epoch 2 val_acc 0.74
    tensorlint diagnose: monitored 1 model(s): model (42 forwards, 30 optimizer steps)
                                   tensorlint runtime: 3 finding(s), 42 forwards (6 sampled)
    ┏━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━┳━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
    ┃ severity ┃ kind                         ┃ module ┃ count ┃ message                                                   ┃
    ┡━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
    │ error    │ batchnorm-train-at-inference │ 2      │    12 │ BatchNorm ran in training mode with gradients disabled,   │
    │          │                              │        │       │ so evaluation batches overwrite its running statistics;   │
    │          │                              │        │       │ call model.eval() before evaluating.                      │
    │ warning  │ saturation                   │ 1      │     6 │ 98% of outputs sit at the asymptotes of sigmoid (this     │
    │          │                              │        │       │ layer), so its gradients vanish; normalise or rescale the │
    │          │                              │        │       │ pre-activations (e.g. BatchNorm/LayerNorm, smaller init). │
    │ warning  │ dropout-active-at-inference  │ 4      │    12 │ dropout (p=0.3) in training mode ran while gradients were │
    │          │                              │        │       │ disabled, so inference outputs are randomly masked; call  │
    │          │                              │        │       │ model.eval() before evaluating or pass                    │
    │          │                              │        │       │ training=self.training.                                   │
    └──────────┴──────────────────────────────┴────────┴───────┴───────────────────────────────────────────────────────────┘

The script itself exits 0, and so does `tensorlint diagnose`; with `--fail-on warning` it exits 1
(for CI). A script's own non-zero exit code is always kept.
"""

import argparse

import torch
from torch import nn

REGISTRY = {"mode": "train"}


def build_model() -> nn.Module:
    return nn.Sequential(nn.Linear(20, 64), nn.Sigmoid(), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.3), nn.Linear(64, 2))


def batches(n: int, scale: float):
    g = torch.Generator().manual_seed(0)
    for _ in range(n):
        x = torch.randn(32, 20, generator=g) * scale  # unscaled raw features
        yield x, (x[:, 0] > 0).long()


def evaluate(model: nn.Module, scale: float) -> float:
    model.train(REGISTRY["mode"] == "train")  # the flag was never switched to "eval"
    correct = total = 0
    with torch.no_grad():
        for x, y in batches(4, scale):
            correct += int((model(x).argmax(1) == y).sum())
            total += len(y)
    return correct / total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=300.0)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = build_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        model.train()
        for x, y in batches(10, args.scale):
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        print(f"epoch {epoch} val_acc {evaluate(model, args.scale):.2f}")


if __name__ == "__main__":
    main()
