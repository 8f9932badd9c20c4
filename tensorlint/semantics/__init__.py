"""Shared semantic helpers: every rule asks these, none re-derives them.

- ``scopes``: which names are bound where, tracked while the one traversal runs.
- ``names``: qualified-name resolution through every import style and re-binding.
- ``tensors``: three-valued "is this expression a tensor".
- ``modules``: "is this class an nn.Module", "is this function one of its methods".
"""
