"""TL900: a `# noqa` code that suppresses nothing, or names no rule (the check lives in noqa.py)."""

from tensorlint.diagnostics import Applicability, Severity
from tensorlint.noqa import UNUSED_NOQA_CODE, UNUSED_NOQA_NAME
from tensorlint.rules.base import Rule


class UnusedNoqa(Rule):
    """## What it does
    Flags codes in `# noqa: ...` comments that suppress nothing, and codes meant for
    tensorlint that name no rule, as ruff's RUF100 does:

    - *unknown*: a code that starts with `TL` and holds a digit but is no rule's code
      (`# noqa: TL00l`, `# noqa: TL1`: noqa takes whole codes, not prefixes), or a
      misspelt rule name (`# noqa: tensor-copy-constuct`). The message suggests the
      closest rule. A file-wide `# tensorlint: noqa: ...` is checked for unknown codes too.
    - *unused*: the code of an enabled rule that reported nothing on that line.

    Codes of other tools (`E501`, `F401`, `BLE001`) and a bare `# noqa` are never
    judged: they may be meant for flake8, ruff or pylint. Codes of rules that are not
    enabled in this run are not called unused (another run with `--extend-select` may
    need them); ruff calls those "non-enabled", tensorlint says nothing. A directive that
    lists `TL900` itself is left alone.

    ## Why is this bad?
    A misspelt code (`TL00l` for `TL001`) suppresses nothing, silently: the finding it
    was meant to hide comes back, or worse, the author believes a check is off that is
    on. A stale code, left after the code was fixed, hides the next real finding of that
    rule on the line.

    ## Example
    ```python
    y = x.detach().clone()  # noqa: TL001
    z = torch.tensor(x)  # noqa: TL00l
    ```

    ## Use instead
    ```python
    y = x.detach().clone()
    z = torch.tensor(x)  # noqa: TL001
    ```

    ## Fix safety
    The fix is safe: it only edits a comment. It removes the unused and unknown codes
    and keeps the others (`# noqa: TL001, TL101` becomes `# noqa: TL001`); when none is
    left it removes the directive (and a comment line that held only it). When text
    follows the codes (`# noqa: TL001; kept for ...`), there is no fix.

    ## Default
    On by default, unlike ruff's RUF100. RUF100 is off because in a project that also
    runs flake8 it would call every flake8 plugin's code unknown; tensorlint judges only
    its own codes, so that noise cannot arise, and a misspelt `TL` code is always a
    mistake. What it reports is exact by construction: the same comparison that applies
    the suppressions. Files that could not be parsed (TL000) are not judged, nor are
    files that never mention `torch` (they are not checked at all). Turn it off
    with `ignore = ["TL900"]`.
    """

    code = UNUSED_NOQA_CODE
    name = UNUSED_NOQA_NAME
    summary = "`# noqa` code that suppresses nothing or names no rule"
    severity = Severity.WARNING
    fix_applicability = Applicability.SAFE
