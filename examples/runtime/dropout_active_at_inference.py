"""dropout-active-at-inference: no_grad is not eval(); functional dropout defaults to training=True."""

import torch
import torch.nn.functional as F
from torch import nn

from tensorlint.runtime import Monitor


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(32, 4)

    def forward(self, x):
        return self.fc(F.dropout(x, 0.1))  # noqa: TL101 - nanoGPT#240, planted on purpose


torch.manual_seed(0)
model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Dropout(0.2), Head())
with Monitor(model) as mon, torch.no_grad():  # evaluation without model.eval()
    model(torch.randn(8, 16))  # noqa: TL103 (planted for the runtime monitor)
mon.report().print()
