from __future__ import annotations

from abc import ABC
from typing import Optional

import torch
from botorch.models.transforms.utils import normalize_indices
from botorch.posteriors import Posterior, TransformedPosterior
from torch import Tensor
from torch.nn import Module


class OutcomeTransform(Module, ABC):
    """Abstract base class for outcome transforms."""


class Bilog(OutcomeTransform):
    r"""Bilog-transform outcomes."""

    def __init__(self, outputs: Optional[list[int]] = None) -> None:
        super().__init__()
        self._outputs = outputs

    def untransform(
        self, Y: Tensor, Yvar: Optional[Tensor] = None
    ) -> tuple[Tensor, Optional[Tensor]]:
        r"""Un-transform bilog-transformed outcomes"""
        Y_utf = Y.sign() * Y.abs().expm1()
        outputs = normalize_indices(self._outputs, d=Y.size(-1))
        if outputs is not None:
            Y_utf = torch.stack(
                [
                    Y_utf[..., i] if i in outputs else Y[..., i]
                    for i in range(Y.size(-1))
                ],
                dim=-1,
            )
        if Yvar is not None:
            raise NotImplementedError(
                "Bilog does not yet support transforming observation noise"
            )
        return Y_utf, Yvar

    def untransform_posterior(self, posterior: Posterior) -> TransformedPosterior:
        r"""Un-transform the bilog-transformed posterior."""
        if self._outputs is not None:
            raise NotImplementedError(
                "Bilog does not yet support output selection for untransform_posterior"
            )
        return TransformedPosterior(
            posterior=posterior,
            sample_transform=lambda x: x.sign() * x.abs().expm1(),
        )
