"""TL000: the file could not be read or parsed."""

from tensorlint.diagnostics import Severity
from tensorlint.rules.base import Rule


class SyntaxErrorRule(Rule):
    """## What it does
    Reports a file that tensorlint could not decode or parse, instead of stopping the run.

    ## Why is this bad?
    A file that does not parse cannot be checked at all: every other rule is silent on
    it. Python would also refuse to import it. Files that never mention `torch` are not
    parsed, so they produce no finding of any kind.

    ## Example
    ```python
    import torch
    def f(x)
        return torch.relu(x)
    ```

    ## Use instead
    ```python
    import torch
    def f(x):
        return torch.relu(x)
    ```

    ## Fix safety
    There is no fix: the author must repair the syntax or the encoding.
    """

    code = "TL000"
    name = "syntax-error"
    summary = "File could not be decoded or parsed"
    severity = Severity.ERROR
