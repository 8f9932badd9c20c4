"""unregistered-module: layers kept in a plain list, invisible to .eval(), .to() and state_dict()."""

import torch
from torch import nn

from tensorlint.runtime import Monitor


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = [nn.Linear(16, 16), nn.Dropout(0.1)]  # noqa: TL108 - planted: should be nn.ModuleList

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return x


torch.manual_seed(0)
model = nn.Sequential(nn.Linear(16, 16), Encoder())
print("parameters in state_dict:", list(model.state_dict()))
with Monitor(model) as mon, torch.no_grad():
    model.eval()
    model(torch.randn(4, 16))
mon.report().print()
