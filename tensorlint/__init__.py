"""tensorlint: a tensor-semantics linter and runtime monitor for PyTorch.

The static half (this package minus ``tensorlint.runtime``) never imports torch.
"""

__version__ = "0.1.0"
