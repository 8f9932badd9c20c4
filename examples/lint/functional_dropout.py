"""Functional dropout that ignores the module's mode (TL101)."""

import torch.nn as nn
import torch.nn.functional as F


class Head(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.fc = nn.Linear(dim, dim)

    def forward(self, x):
        # defaults to training=True: still dropping after model.eval()
        x = F.dropout(self.fc(x), p=0.1)
        # defaults to training=False: never drops, even in training
        return F.alpha_dropout(x, 0.1)


class GoodHead(Head):
    def forward(self, x):
        return F.dropout(self.fc(x), p=0.1, training=self.training)
