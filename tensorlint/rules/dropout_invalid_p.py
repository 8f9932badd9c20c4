"""TL003: a literal dropout probability outside [0, 1]."""

from __future__ import annotations

import libcst as cst

from tensorlint.rules.base import Rule
from tensorlint.semantics.modules import UNKNOWN, call_argument, literal_number

# qualified name -> (position of the probability among positional args, its keyword)
_DROPOUT_CALLS = {
    **{f"torch.nn.{name}": (0, "p") for name in (
        "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout",
    )},
    **{f"torch.nn.functional.{name}": (1, "p") for name in (
        "dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
    )},
    **{f"torch.{name}": (1, "p") for name in (
        "dropout", "dropout_", "alpha_dropout", "alpha_dropout_", "feature_dropout", "feature_dropout_",
        "feature_alpha_dropout", "feature_alpha_dropout_",
    )},
    # layers that take a `dropout=` probability (keyword only here: their positional
    # layouts differ) and raise, or drop nonsensically, outside [0, 1]
    **{f"torch.nn.{name}": (None, "dropout") for name in (
        "RNN", "LSTM", "GRU", "MultiheadAttention", "Transformer", "TransformerEncoderLayer",
        "TransformerDecoderLayer",
    )},
}
_LAST_NAMES = frozenset(q.rsplit(".", 1)[-1] for q in _DROPOUT_CALLS)


class DropoutInvalidP(Rule):
    """## What it does
    Flags a literal dropout probability outside `[0, 1]`: the `p` of `nn.Dropout*`,
    `nn.AlphaDropout`, `nn.FeatureAlphaDropout`, `F.dropout*`, `F.alpha_dropout`,
    `F.feature_alpha_dropout` and `torch.dropout`-style functions (by position or
    keyword), and the `dropout=` keyword of `nn.RNN`/`LSTM`/`GRU`,
    `nn.MultiheadAttention` and the `nn.Transformer*` layers. Negative literals such as
    `-0.1` count; computed values never do.

    ## Why is this bad?
    PyTorch raises `ValueError: dropout probability has to be between 0 and 1` only when
    the line runs, which may be a rarely taken branch or the first evaluation after
    hours of training. A value such as `p=10` usually means a percentage was meant
    (`p=0.1`); `nn.MultiheadAttention(dropout=1.5)` is even accepted at construction
    and fails only in training mode.

    ## Example
    ```python
    self.drop = nn.Dropout(p=10)
    ```

    ## Use instead
    ```python
    self.drop = nn.Dropout(p=0.1)
    ```

    ## Fix safety
    There is no fix: the intended probability is unknown.
    """

    code = "TL003"
    name = "dropout-invalid-p"
    summary = "Dropout probability literal outside [0, 1]"

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if type(func) is cst.Attribute:
            if func.attr.value not in _LAST_NAMES:
                return  # cheap reject; bare names may be aliases (`dropout as drop`)
        elif type(func) is not cst.Name:
            return
        qualname = self.ctx.qualified_name(func)
        spec = _DROPOUT_CALLS.get(qualname) if qualname else None
        if spec is None:
            return
        arg = call_argument(node, *spec)
        if arg is None or arg is UNKNOWN:
            return
        value = literal_number(arg.value)
        if value is None or 0.0 <= value <= 1.0:
            return
        shown = self.ctx.code_for(arg.value)
        last = qualname.rsplit(".", 1)[-1]
        self.report(
            arg.value,
            f"Dropout probability `{shown}` is outside [0, 1] and raises when `{last}` runs; "
            f"use a probability such as `0.1`",
        )
