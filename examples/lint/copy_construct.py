"""Copying a tensor with torch.tensor(): the seed notes' first bug (TL001)."""

import torch


def snapshot(weights: torch.Tensor) -> torch.Tensor:
    # UserWarning at run time, and the copy silently leaves the autograd graph.
    return torch.tensor(weights)


def scaled_copy(x: torch.Tensor):
    y = x * 2
    return torch.tensor(y, dtype=torch.float16, requires_grad=True)


def fine(values: list[float]):
    # A list is what torch.tensor() is for: never flagged.
    return torch.tensor(values)
