"""train-in-eval-mode: evaluate() called model.eval() and the training loop never called train() again."""

import torch
from torch import nn

from tensorlint.runtime import Monitor

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(16, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.01)


def evaluate():
    model.eval()
    with torch.no_grad():
        return model(torch.randn(32, 16)).mean()


with Monitor(model) as mon:
    for epoch in range(3):
        for _ in range(4):  # pytorch/tutorials#1624: train() only before the first epoch
            opt.zero_grad()
            model(torch.randn(32, 16)).pow(2).mean().backward()
            opt.step()
        evaluate()  # noqa: TL104 - planted on purpose; the static rule finds it too
mon.report().print()
