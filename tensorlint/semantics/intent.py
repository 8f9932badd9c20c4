"""What the author says they meant: intent is data, kept in one place.

Rules that would report a deliberate choice ask here first. Two kinds of evidence:
- **Comments and names.** A comment on the statement (above it or at its end, or
  inside the call's parentheses), on an enclosing block header, or on the enclosing
  function or class (its comments and docstring), or the name of that function or
  class, saying that dropout is meant to stay on: "always", "MC dropout",
  "Monte Carlo", "even at eval/inference/test time", "keep dropout on",
  "uncertainty".
- **Known idioms.** Functions whose use of train mode under `no_grad` is the point
  (`torch.optim.swa_utils.update_bn` re-estimates BatchNorm statistics), and the
  names of Monte-Carlo-dropout helpers (`MCDropout`, `mc_forward`, `enable_dropout`),
  and Tacotron 2's pre-net (`Prenet`), whose dropout the Tacotron 2 paper (Shen et
  al., 2018) keeps on at inference time to vary the output.

The comment readers need the statement and enclosing definitions being visited, which
`semantics/guards.py`'s tracker records during the traversal.
"""

from __future__ import annotations

import io
import re
import tokenize

import libcst as cst

# A comment or docstring saying dropout is deliberately active in every mode.
ALWAYS_ON = re.compile(
    r"\balways\b|monte[\s_-]*carlo|\bmc[\s_-]*dropout|\bmcd\b|\bmc\b|uncertaint"
    r"|\beven\s+(?:at|in|during|when|for|on)\s+(?:the\s+)?(?:eval|inference|test|predict|validation|sampling)"
    r"|\b(?:eval|inference|test)(?:uation)?\s+(?:time|mode)\s+too\b"
    r"|keep\w*\s+(?:the\s+)?dropout\s+(?:on|active|enabled)"
    r"|dropout\s+(?:stays|is\s+kept|remains|kept)\s+(?:on|active|enabled)"
    r"|(?:regardless|independent)\w*\s+of\s+(?:the\s+)?(?:mode|training|eval)",
    re.IGNORECASE,
)
# In a docstring (longer prose about the whole function or class), "always" counts only
# next to "dropout".
DOC_ALWAYS_ON = re.compile(
    ALWAYS_ON.pattern.replace(r"\balways\b|", "") + r"|always[^.\n]{0,40}dropout|dropout[^.\n]{0,40}always",
    re.IGNORECASE,
)
# A comment on a statement that explains a hard-coded mode flag (`training=True`): any
# talk of the mode counts, as the flag itself is written out.
MODE_NOTE = re.compile(r"train|eval|deliberate|intention|on purpose", re.IGNORECASE)
# Names of functions and classes whose dropout is meant to stay on.
ALWAYS_ON_NAME = re.compile(
    r"(?i:(?:^|_)mc(?:_|$)|mc_?dropout|monte_?carlo|always|enable_?dropout|^pre_?net$)"
    r"|MCDropout|McDropout|MonteCarlo|EnableDropout|PreNet|Prenet"
)

# Functions that run a model in training mode under no_grad on purpose.
TRAIN_MODE_INFERENCE_IDIOMS = frozenset({"torch.optim.swa_utils.update_bn"})


# A function that re-estimates batch-norm statistics runs forwards in training mode under
# no_grad on purpose: by its name, or by the statistics resets it does.
BN_RECALIBRATION_NAME = re.compile(r"bn|batch_?norm|calib|precise|update_stats|running_stats", re.IGNORECASE)
BN_RECALIBRATION_CODE = re.compile(r"reset_running_stats|momentum\s*=\s*None|update_bn|swa_utils|bn_update")


def recalibrates_batch_norm(function_name: str, function_code: str) -> bool:
    """The function's name or code says it re-estimates batch-norm statistics."""
    return bool(BN_RECALIBRATION_NAME.search(function_name) or BN_RECALIBRATION_CODE.search(function_code))


def says_always_on(text: str | None, pattern: re.Pattern = ALWAYS_ON) -> bool:
    return bool(text) and bool(pattern.search(text))  # type: ignore[arg-type]


def name_says_always_on(name: str | None) -> bool:
    return bool(name) and bool(ALWAYS_ON_NAME.search(name))  # type: ignore[arg-type]


def statement_comments(statement: cst.CSTNode | None) -> list[str]:
    """Comments directly above a statement and at the end of its line (for a compound
    statement: at the end of its header line)."""
    if statement is None:
        return []
    comments = [line.comment.value for line in getattr(statement, "leading_lines", ()) if line.comment is not None]
    trailing = getattr(statement, "trailing_whitespace", None)
    if trailing is None:
        body = getattr(statement, "body", None)
        trailing = getattr(body, "header", None) if isinstance(body, cst.IndentedBlock) else None
        if isinstance(body, cst.SimpleStatementSuite):
            trailing = body.trailing_whitespace
    if trailing is not None and trailing.comment is not None:
        comments.append(trailing.comment.value)
    return comments


def inline_comments(node: cst.CSTNode) -> list[str]:
    """Comments inside a (multi-line) expression, e.g. after one of a call's arguments."""
    text = cst.Module(body=[]).code_for_node(node)
    if "#" not in text:
        return []
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(f"({text})\n").readline):
            if token.type == tokenize.COMMENT:
                found.append(token.string)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []
    return found


def docstring(node: cst.FunctionDef | cst.ClassDef) -> str | None:
    body = node.body
    if not isinstance(body, cst.IndentedBlock) or not body.body:
        return None
    first = body.body[0]
    if isinstance(first, cst.SimpleStatementLine) and first.body and isinstance(first.body[0], cst.Expr):
        value = first.body[0].value
        if isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
            text = value.evaluated_value
            return text if isinstance(text, str) else None
    return None


def mode_flag_explained(guards, node: cst.CSTNode) -> bool:
    """A hard-coded mode flag at `node` is explained as deliberate: a comment on its
    statement talks about the mode, or dropout is said to be always on (see
    `dropout_always_on`). `guards` is the file's GuardTracker."""
    comments = statement_comments(guards.statement) + inline_comments(node)
    if any(MODE_NOTE.search(c) or ALWAYS_ON.search(c) for c in comments):
        return True
    return dropout_always_on(guards, node)


def dropout_always_on(guards, node: cst.CSTNode) -> bool:
    """The author says the dropout at `node` is meant to stay on in every mode: in a
    comment on its statement, inside the call, on an enclosing block header, or on the
    enclosing function or class (comments, docstring, name)."""
    comments = statement_comments(guards.statement) + inline_comments(node)
    for compound in guards.compounds:
        comments.extend(statement_comments(compound))
    if any(ALWAYS_ON.search(c) for c in comments):
        return True
    for definition in guards.enclosing_definitions():
        if name_says_always_on(definition.name.value) or says_always_on(docstring(definition), DOC_ALWAYS_ON):
            return True
    return False


# Monte-Carlo dropout: the model is put into training mode on purpose and run several
# times on the same input under no_grad, to sample its predictions (Gal & Ghahramani,
# 2016). Names of functions that do it.
SAMPLING_NAME = re.compile(r"(?:^|_)(?:mc|mcd|sample[sd]?|sampling|uncertaint\w*|bayes\w*|monte_?carlo)(?:_|$)", re.IGNORECASE)


def _bound_names(node: cst.CSTNode) -> set[str]:
    """Names a statement or loop binds anywhere inside it (loop targets, assignments,
    `with ... as`, walrus, comprehension targets, augmented assignments)."""
    found: set[str] = set()

    class _Collect(cst.CSTVisitor):
        def _targets(self, target) -> None:
            for inner in _walk_names(target):
                found.add(inner)

        def visit_For(self, n: cst.For) -> None:
            self._targets(n.target)

        def visit_CompFor(self, n: cst.CompFor) -> None:
            self._targets(n.target)

        def visit_AssignTarget(self, n: cst.AssignTarget) -> None:
            self._targets(n.target)

        def visit_AugAssign(self, n: cst.AugAssign) -> None:
            self._targets(n.target)

        def visit_AnnAssign(self, n: cst.AnnAssign) -> None:
            self._targets(n.target)

        def visit_AsName(self, n: cst.AsName) -> None:
            self._targets(n.name)

        def visit_NamedExpr(self, n: cst.NamedExpr) -> None:
            self._targets(n.target)

    node.visit(_Collect())
    return found


def _walk_names(expr: cst.CSTNode) -> list[str]:
    if isinstance(expr, cst.Name):
        return [expr.value]
    if isinstance(expr, (cst.Tuple, cst.List)):
        return [n for e in expr.elements for n in _walk_names(e.value)]
    if isinstance(expr, cst.StarredElement):
        return _walk_names(expr.value)
    return []


def _read_names(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class _Collect(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.add(n.value)

        def visit_Attribute(self, n: cst.Attribute) -> bool:
            n.value.visit(self)  # `x.view`: `x` is read, `view` is not a name
            return False

    node.visit(_Collect())
    return found


def samples_repeatedly(call: cst.Call, loops) -> bool:
    """`call` runs inside a loop that feeds it the same input on every pass: nothing
    its arguments read is bound inside the loop (`for _ in range(100):
    samples.append(net(x))`). With the model in training mode on purpose, that is
    Monte-Carlo dropout: each pass draws another dropout mask. An evaluation loop
    feeds a new batch each pass (`for x, y in loader: model(x)`), and a generation
    loop feeds back its own output (`idx = ...; model(idx)`)."""
    if not call.args:
        return False
    read: set[str] = set()
    for arg in call.args:
        read |= _read_names(arg.value)
    return any(not (read & _bound_names(loop)) for loop in loops)


def samples_by_name(function_name: str | None) -> bool:
    """The function's name says it samples predictions (`mc_predict`, `sample_outputs`,
    `predict_uncertainty`, `bayesian_forward`)."""
    return bool(function_name) and bool(SAMPLING_NAME.search(function_name) or name_says_always_on(function_name))
