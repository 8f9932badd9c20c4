"""Helpers shared by the runtime tests (a unique module name: ``conftest`` may clash across test folders)."""

from __future__ import annotations

import torch


def kinds(report, severities=("error", "warning", "info")):
    """{(kind, module)} of a report's findings at the given severities."""
    return {(f.kind, f.module) for f in report.findings if f.severity in severities}


def only(report, kind):
    """The single finding of ``kind``; fails loudly when there are none or several."""
    found = [f for f in report.findings if f.kind == kind]
    assert len(found) == 1, f"expected one {kind}, got {report.findings}"
    return found[0]


def train_steps(model, make_input, steps=3, lr=0.01):
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        out = model(make_input())
        out.float().pow(2).mean().backward()
        opt.step()
    return opt
