"""Drift against a saved profile, from the command line: record once, compare every later run.

    tensorlint diagnose --every 1 --save-profile reference.json examples/diagnose/serve_drift.py
    tensorlint diagnose --every 1 --reference reference.json examples/diagnose/serve_drift.py --upstream-v2

The first run serves batches like the training data and saves the per-layer activation
profile (JSON). The second run simulates an upstream pipeline change (`--upstream-v2`
doubles and shifts the features); the same script, unchanged, now reports `drift` at the
model's input and in every layer after it.

Expected output of the second run:

    served 20 batches
    tensorlint diagnose: monitored 1 model(s): model (20 forwards, 0 optimizer steps, drift vs reference)
                                   tensorlint runtime: 1 finding(s), 20 forwards (20 sampled)
    ┏━━━━━━━━━━┳━━━━━━━┳━━━━━━━━━━━━━━━━━━┳━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓
    ┃ severity ┃ kind  ┃ module           ┃ count ┃ message                                                                ┃
    ┡━━━━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━━━━━━━╇━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┩
    │ warning  │ drift │ (root) (+3 more) │   100 │ 4 modules, first `(root)`: The model's input drifted from the          │
    │          │       │                  │       │ reference (major: PSI 0.85, mean shift +0.99 reference stds); check    │
    │          │       │                  │       │ the input pipeline or whether the data changed. Same cause in `0`,     │
    │          │       │                  │       │ `1`, `2`.                                                              │
    └──────────┴───────┴──────────────────┴───────┴────────────────────────────────────────────────────────────────────────┘

(`examples/runtime/drift.py` shows the same check through the Python API.)
"""

import argparse

import torch
from torch import nn


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream-v2", action="store_true", help="the changed feature pipeline")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 4)).eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for _ in range(20):
            x = torch.randn(64, 16, generator=g)
            if args.upstream_v2:
                x = x * 2.0 + 1.0
            model(x)
    print("served 20 batches")


if __name__ == "__main__":
    main()
