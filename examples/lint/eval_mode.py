"""Inference that forgets model.eval(), and training that never leaves eval mode."""

import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.fc(x))


def evaluate(model: Net, batches):
    # fine here: every caller in this file has called model.eval() first
    with torch.no_grad():
        return [model(x) for x in batches]


def predict(batches):
    model = Net()
    with torch.no_grad():  # no_grad does not switch dropout or BatchNorm off (TL103: --extend-select TL103)
        return [model(x) for x in batches]


def train(model: Net, batches, epochs: int):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    for _ in range(epochs):
        for x in batches:
            loss = model(x).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()  # and never model.train() again: epoch 2 trains in eval mode
        evaluate(model, batches)
