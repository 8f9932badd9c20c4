"""Module structure mistakes that nothing reports until the model is quietly worse."""

import torch.nn as nn


class Tower(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = [nn.Linear(8, 8), nn.Dropout(0.5)]  # plain list: .eval(), .to(), state_dict miss them
        self.head = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(32))  # 16 features in, BN sized 32

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.head(x)
