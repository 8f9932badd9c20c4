"""Trainer integrations: ``hf.TensorlintCallback`` (transformers) and ``lightning.TensorlintCallback``.

Each module imports its framework on import; this package imports neither.
"""
