"""Grammar fuzzing (issue 9): generated programs run through every rule and every fix.

Three sources of programs: hypothesmith's `from_grammar()` and `from_node()` (any valid
Python, with torch imports in front so that the linter parses and walks it), and a
generator that splices torch snippets the rules match into odd syntactic positions
(decorators, lambdas, comprehensions, f-strings, walrus, match, nested classes, default
arguments, with-items, async code, global scope ...). For each program nothing may

- raise or crash;
- report a location outside the text (findings and fix edits);
- write a fix that does not compile under the running Python (the fixer's guard firing
  counts as a failure: it means some fix produced invalid code);
- produce a non-idempotent fix (a second fix run changes nothing);
- change text outside the reported range: what a fix edit changes lies inside its
  finding's range, and the AST diff of one fix round touches only the edits' lines;
- give non-deterministic output (every program is linted twice, and a fix is a pure
  function of the findings; a separate test runs the CLI under two hash seeds).

CI runs a few hundred examples (well under a minute). For a long run:

    TENSORLINT_FUZZ_EXAMPLES=20000 pytest -p no:cacheprovider tests/test_fuzz.py

(the count is split between the three sources: 25% grammar, 10% node, 65% splice).
With TENSORLINT_FUZZ_LOG=FILE every failure is appended to FILE as JSON and the run goes
on, so a long run lists all of them; counts are appended to FILE at the end.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import textwrap
import time
import warnings
from collections import Counter
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
hypothesmith = pytest.importorskip("hypothesmith")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from lintutil import REPO, run_cli, settings_for  # noqa: E402

from tensorlint.diagnostics import Diagnostic  # noqa: E402
from tensorlint.engine import lint_source, location_to_offset  # noqa: E402
from tensorlint.fixer import apply_edits, applicable, fix_text  # noqa: E402
from tensorlint.source import line_starts, split_lines  # noqa: E402

_spec = importlib.util.spec_from_file_location("fix_safety", REPO / "scripts" / "fix_safety.py")
fix_safety = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fix_safety)

TOTAL = int(os.environ.get("TENSORLINT_FUZZ_EXAMPLES", "0") or 0)
LOG = os.environ.get("TENSORLINT_FUZZ_LOG")
SHARES = {"grammar": (0.25, 60), "node": (0.10, 30), "splice": (0.65, 200)}  # long-run share, CI count


def _examples(kind: str) -> int:
    share, ci = SHARES[kind]
    return max(1, int(TOTAL * share)) if TOTAL else ci


def _settings(kind: str):
    return settings(
        max_examples=_examples(kind),
        deadline=None,
        database=None,
        derandomize=not TOTAL,  # CI: the same examples every run
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


SETTINGS = settings_for(("ALL",))
PATH = "fuzzed.py"
HEADER = (
    "import torch\n"
    "import torch.nn as nn\n"
    "import torch.nn.functional as F\n"
    "from torch.utils.data import DataLoader\n"
    "from torchvision import models\n"
    "from torchvision.transforms import v2\n"
)

STATS: Counter = Counter()


# ---------------------------------------------------------------------------
# The properties


def _compiles(source: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(source, PATH, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _check_location(text: str, row: int, column: int, what: str) -> None:
    lines = split_lines(text)
    assert 1 <= row <= len(lines), f"{what}: row {row} outside 1..{len(lines)}"
    assert 1 <= column <= len(lines[row - 1]) + 1, f"{what}: column {column} outside row {row} ({lines[row - 1]!r})"


def _check_diagnostics(text: str, diagnostics: list[Diagnostic]) -> None:
    for d in diagnostics:
        _check_location(text, d.location.row, d.location.column, f"{d.code} start")
        _check_location(text, d.end_location.row, d.end_location.column, f"{d.code} end")
        assert d.location <= d.end_location, f"{d.code}: start after end"
        if d.fix is None:
            continue
        for e in d.fix.edits:
            _check_location(text, e.location.row, e.location.column, f"{d.code} edit start")
            _check_location(text, e.end_location.row, e.end_location.column, f"{d.code} edit end")
            assert e.location <= e.end_location, f"{d.code}: edit start after end"


def _changed_region(old: str, new: str) -> tuple[int, int]:
    """The span of `old` that differs from `new` once their common prefix and suffix are cut."""
    prefix = 0
    while prefix < min(len(old), len(new)) and old[prefix] == new[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    return prefix, len(old) - suffix


def _check_fix_ranges(text: str, diagnostics: list[Diagnostic], unsafe: bool) -> None:
    """Each fix edit changes text only inside the range its finding reports (once the
    common prefix and suffix of old and new text are cut), and the AST diff of a fix
    round touches only the lines of its edits."""
    starts = line_starts(text)
    sites = []
    for d in diagnostics:
        if not applicable(d, unsafe):
            continue
        reported = location_to_offset(starts, d.location), location_to_offset(starts, d.end_location)
        for e in d.fix.edits:
            start, end = location_to_offset(starts, e.location), location_to_offset(starts, e.end_location)
            lo, hi = _changed_region(text, text[:start] + e.content + text[end:])
            assert lo >= hi or reported[0] <= lo and hi <= reported[1], (
                f"{d.code}: the fix changes {text[lo:hi]!r} at offset {lo}, outside the reported "
                f"{text[reported[0]:reported[1]]!r}"
            )
            sites.append((e.location.row, e.end_location.row))
    fixed, count = apply_edits(text, diagnostics, unsafe)
    if count and _compiles(fixed):  # invalid rounds are refused by the fixer (checked below)
        outside = fix_safety.ast_changes_outside(text, fixed, sites)
        assert not outside, f"fix round changes the AST away from its edits: {outside}"


def check_program(source: str) -> None:
    """Every property above, for one program (that CPython compiles)."""
    first = lint_source(source, PATH, SETTINGS)
    again = lint_source(source, PATH, SETTINGS)
    assert first == again, "non-deterministic findings"
    STATS["programs"] += 1
    STATS["findings"] += len(first)
    for d in first:
        STATS[f"rule {d.code}"] += 1
    _check_diagnostics(source, first)
    unsafe_only = any(applicable(d, True) and not applicable(d, False) for d in first)
    for unsafe in (False, True) if unsafe_only else (True,):  # no unsafe fix: one run covers both
        if not any(applicable(d, unsafe) for d in first):
            continue
        _check_fix_ranges(source, first, unsafe)
        outcome = fix_text(source, PATH, SETTINGS, unsafe, diagnostics=first)
        assert outcome.error is None, f"the fixer's guard fired (unsafe={unsafe}): {outcome.error}"
        assert _compiles(outcome.text), f"fixed text does not compile (unsafe={unsafe}):\n{outcome.text}"
        _check_diagnostics(outcome.text, outcome.diagnostics)
        second = fix_text(outcome.text, PATH, SETTINGS, unsafe)
        assert second.applied == 0 and second.text == outcome.text, (
            f"fix is not idempotent (unsafe={unsafe}):\n{outcome.text}\n---\n{second.text}"
        )
        STATS[f"fixes applied ({'unsafe' if unsafe else 'safe'})"] += outcome.applied


def _run(kind: str, source: str) -> None:
    if not LOG:
        check_program(source)
        return
    STATS[f"{kind} run"] += 1
    if STATS[f"{kind} run"] % 100 == 0:  # progress of a long run
        with open(LOG, "a") as log:
            log.write(json.dumps({"progress": kind, "count": STATS[f"{kind} run"], "at": time.strftime("%H:%M:%S")}) + "\n")
    try:
        check_program(source)
    except Exception as exc:  # noqa: BLE001 - long run: record and go on
        STATS["failures"] += 1
        with open(LOG, "a") as log:
            log.write(json.dumps({"kind": kind, "error": f"{type(exc).__name__}: {exc}"[:2000], "source": source}) + "\n")


# ---------------------------------------------------------------------------
# hypothesmith


def _with_header(source: str) -> str:
    """Torch imports in front (else the linter skips the file); the program alone when
    that does not compile (a `from __future__` import must come first)."""
    withheader = HEADER + source
    return withheader if _compiles(withheader) else source


def _with_snippet(source: str, statement: str | None) -> str:
    """Half the time a spliced torch statement after the generated code, so that rules
    meet whatever names and scopes the generated program left behind."""
    if statement is None:
        return source
    joined = source + ("" if source.endswith(("\n", "\r")) or not source else "\n") + statement + "\n"
    return joined if _compiles(joined) else source


@_settings("grammar")
@given(hypothesmith.from_grammar(), st.none() | st.deferred(lambda: statements()))
def test_fuzz_from_grammar(source, statement):
    assume(_compiles(source))
    STATS["grammar"] += 1
    _run("grammar", _with_snippet(_with_header(source), statement))


@_settings("node")
@given(hypothesmith.from_node(), st.none() | st.deferred(lambda: statements()))
def test_fuzz_from_node(source, statement):
    assume(_compiles(source))
    STATS["node"] += 1
    _run("node", _with_snippet(_with_header(source), statement))


# ---------------------------------------------------------------------------
# Torch snippets spliced into odd positions

ATOMS = ["x", "logits", "1", "0.5", "self.fc(x)", "batch[0]", "(a, b)", "[]", "x[..., 1:]", "'s'", "None", "-x", "*args"]
# `{e}` is a hole for another expression.
SNIPPETS = [
    "torch.tensor({e})",
    "torch.tensor({e}, dtype=torch.float16, requires_grad=True)",
    "nn.Dropout({e})",
    "nn.Dropout(p=10)",
    "nn.Dropout(0.5)({e})",
    "F.dropout({e}, 0.5)",
    "F.dropout({e}, p=0.1, training=True)",
    "torch.dropout({e}, p=0.5, training=True)",
    "torch.log(1 + {e})",
    "torch.log(1 + torch.exp({e}))",
    "torch.exp({e}) - 1",
    "torch.log(torch.sum(torch.exp({e}), dim=-1))",
    "torch.log(F.softmax({e}, dim=-1))",
    "torch.log(torch.sigmoid({e}))",
    "F.softmax({e})",
    "F.softmax({e}, axis=-1)",
    "F.cross_entropy(F.softmax({e}, dim=1), labels)",
    "F.binary_cross_entropy(torch.sigmoid({e}), target)",
    "nn.CrossEntropyLoss()({e}.softmax(-1), labels)",
    "nn.BCELoss()({e}.sigmoid(), target)",
    "nn.BatchNorm2d(64, 0.8)",
    "nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(32))",
    "nn.Sequential(nn.Conv2d(64, 128, 3, padding=1), nn.BatchNorm2d(128), nn.ReLU())",
    "nn.Linear(128, 10)({e})",
    "torch.FloatTensor([1, 2])",
    "torch.LongTensor({e})",
    "torch.Tensor(3)",
    "torch.zeros(3, require_grad=True)",
    "torch.load({e})",
    "torch.load(path, weights_only=False)",
    "torch.qr({e})",
    "torch.cuda.amp.GradScaler()",
    "torch.cuda.amp.autocast(enabled=True)",
    "torch.utils.checkpoint.checkpoint(block, {e})",
    "models.resnet50(pretrained=True)",
    "models.resnet18(pretrained=False)",
    "v2.Compose([v2.RandomHorizontalFlip(), v2.ToTensor()])",
    "DataLoader({e}, batch_size=64, shuffle=True)",
    "{e}.clone().detach()",
    "{e}.softmax(-1)",
    "model.eval",
    "model({e})",
    "optimizer.zero_grad(set_to_none=False)",
]
# Expression positions.
EXPR_CONTEXTS = [
    "{e}",
    "({e})",
    "lambda: {e}",
    "lambda x=({e}): x",
    "[{e} for _ in range(3)]",
    "{{k: {e} for k in d}}",
    "({e} for _ in y if {e})",
    "{{{e}, {e}}}",
    "(y := {e})",
    "{e} if c else {e}",
    "not {e}",
    "f({e}, k={e})",
    "f(*{e}, **{e})",
    "x[{e}]",
    "x[{e}:{e}]",
    "[*{e}]",
    "await {e}",
    "(yield {e})",
    "{e} @ {e}",
    "{e} < {e} <= {e}",
    "f'{{{e}}}'",
    "f'{{{e}!r:>{{w}}}}'",
    'f"{{{e}}}"',
    "(\n    {e}  # comment\n    , 1)",
    "{e}.to('cuda')",
]
# Statement positions: `{e}` an expression, `{body}` a block.
STMT_CONTEXTS = [
    "{e}",
    "y = {e}",
    "y: torch.Tensor = {e}",
    "a = b = {e}",
    "y += {e}",
    "y, z = {e}, {e}",
    "self.drop = {e}",
    "a = 1; {e}; b = 2",
    "y = \\\n    {e}",
    "assert {e}, {e}",
    "del y[{e}]",
    "return {e}",
    "global g\ng = {e}",
    "print({e}, file=None)  # noqa: E501",
    "raise ValueError({e})",
    "if (y := {e}):\n{body}",
    "if c:\n{body}\nelif {e}:\n{body}\nelse:\n{body}",
    "while {e}:\n{body}",
    "for y in {e}:\n{body}",
    "with {e} as y:\n{body}",
    "with torch.no_grad(), {e}:\n{body}",
    "with torch.no_grad():\n{body}",
    "try:\n{body}\nexcept {e}:\n{body}\nfinally:\n{body}",
    "match {e}:\n    case [a, *_]:\n{body2}\n    case {{'k': v}} if {e}:\n{body2}\n    case _:\n{body2}",
    "@{e}\ndef fn(a={e}, *, b: {e} = None) -> {e}:\n{body}",
    "def fn(self, x):\n{body}",
    "async def fn():\n{body}",
    "async def fn():\n    async with {e} as y:\n{body2}\n    async for y in {e}:\n{body2}\n    return [z async for z in {e}]",
    "@torch.no_grad()\ndef predict(model, x):\n{body}",
    "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = {e}\n"
    "    def forward(self, x):\n{body2}",
    "class Outer:\n    class Inner(nn.Module):\n        attr = {e}\n        def forward(self, x):\n            return {e}",
    "@dataclass\nclass C({e}):\n{body}",
    "for epoch in range(3):\n    model.train()\n    for x, y in loader:\n        loss = {e}\n        loss.backward()\n"
    "    model.eval()\n{body}",
    "if __name__ == '__main__':\n{body}",
]
STATEMENTS = [
    "model.eval()",
    "model.train()",
    "model.eval",
    "model = Net()\nmodel.load_state_dict(torch.load('net.pt'))",
    "with torch.no_grad():\n    loss = criterion(model(x), y)\n    loss.backward()",
    "with torch.no_grad():\n    preds = model(x)",
    "optimizer.zero_grad(set_to_none=False)",
    "p.require_grad = False",
    "self.blocks = [nn.Linear(64, 64) for _ in range(4)]",
    "self.heads = {'cls': nn.Linear(64, 10)}",
    "pass",
    "x = torch.tensor(x)",
    "probs = logits.sigmoid()\nloss = nn.BCELoss()(probs, target)",
    "probs = F.softmax(logits, dim=1)\nloss = F.cross_entropy(probs, labels)",
    "y = x.clone().detach()  # noqa",
    "y = torch.FloatTensor(x)  # noqa: TL301",
]


def _indent(text: str, level: int) -> str:
    return textwrap.indent(text, "    " * level)


@st.composite
def expressions(draw, depth: int = 0):
    if depth >= 3 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(ATOMS))
    template = draw(st.sampled_from(SNIPPETS + EXPR_CONTEXTS))
    if "{e}" not in template:
        return template
    inner = draw(expressions(depth + 1))
    return template.format(e=inner)


@st.composite
def statements(draw, depth: int = 0):
    if depth >= 2 or draw(st.integers(0, 2)) == 0:
        if draw(st.booleans()):
            return draw(st.sampled_from(STATEMENTS))
        return f"y = {draw(expressions())}"
    template = draw(st.sampled_from(STMT_CONTEXTS))
    expression = draw(expressions())
    body = draw(st.lists(statements(depth + 1), min_size=1, max_size=3))
    block = "\n".join(body)
    return template.format(e=expression, body=_indent(block, 1), body2=_indent(block, 2))


@st.composite
def spliced_programs(draw):
    header = draw(st.sampled_from([HEADER, HEADER + "import torchvision.models as models\n", "import torch\n"]))
    body = draw(st.lists(statements(), min_size=1, max_size=6))
    if draw(st.booleans()):  # everything inside a function: `return`, `yield`, `await` become valid
        prefix = draw(st.sampled_from(["def main(model, x):\n", "async def main(model, x):\n", "class Trainer:\n    def step(self, x):\n"]))
        level = 2 if prefix.startswith("class") else 1
        return header + prefix + _indent("\n".join(body), level) + "\n"
    return header + "\n".join(body) + draw(st.sampled_from(["\n", "", "\n\n", "  # trailing\n", "\r\n"]))


@_settings("splice")
@given(spliced_programs())
def test_fuzz_spliced_torch_snippets(source):
    STATS["splice generated"] += 1
    assume(_compiles(source))
    STATS["splice"] += 1
    _run("splice", source)


def test_fuzz_cli_output_is_the_same_under_two_hash_seeds(tmp_path):
    """Non-determinism across processes (set/dict order under hash randomisation): the
    same generated files, linted twice by the CLI with different PYTHONHASHSEED."""
    programs: list[str] = []

    @settings(max_examples=60, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(spliced_programs())
    def collect(source):
        if _compiles(source):
            programs.append(source)

    collect()
    assert len(programs) >= 20
    for i, source in enumerate(programs):
        (tmp_path / f"p{i}.py").write_text(source)
    outputs = []
    for seed in ("1", "2"):
        proc = run_cli("check", ".", "--select", "ALL", "--no-cache", "--isolated", "--output-format", "json",
                       cwd=tmp_path, env={"PYTHONHASHSEED": seed})
        assert proc.returncode in (0, 1), proc.stderr
        outputs.append(json.loads(proc.stdout))
    assert len(outputs[0]) > 20  # the snippets do fire rules
    assert outputs[0] == outputs[1]


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    started = time.perf_counter()
    yield
    if LOG:
        with open(LOG, "a") as log:
            log.write(json.dumps({"stats": dict(STATS), "seconds": round(time.perf_counter() - started, 1)}) + "\n")
    print(f"\nfuzz counts: {dict(STATS)}", file=sys.stderr)


def _planted(code: str, where: tuple[int, int, int, int], edit: tuple[str, int, int, int, int] | None = None):
    from tensorlint.diagnostics import Applicability, Edit, Fix, Location, Severity

    fix = None
    if edit is not None:
        content, r1, c1, r2, c2 = edit
        fix = Fix(Applicability.SAFE, "planted", (Edit(content, Location(r1, c1), Location(r2, c2)),))
    return Diagnostic(code, "planted", "planted", Severity.ERROR, Location(*where[:2]), Location(*where[2:]), fix)


def test_the_properties_catch_planted_faults():
    """The checks can fail: a location past the text, a fix that changes text away from
    its finding, and a fix whose AST change lies away from its edit."""
    text = "import torch\ny = torch.log(1 + x)\nz = 2\n"
    check_program(text)  # the real findings pass
    with pytest.raises(AssertionError, match="row 9 outside"):
        _check_diagnostics(text, [_planted("TL999", (9, 1, 9, 2))])
    with pytest.raises(AssertionError, match="column 40 outside"):
        _check_diagnostics(text, [_planted("TL999", (2, 1, 2, 40))])
    at_finding = _planted("TL999", (2, 5, 2, 21), ("torch.log1p(x)", 2, 5, 2, 21))
    _check_fix_ranges(text, [at_finding], unsafe=False)
    away = _planted("TL999", (2, 5, 2, 21), ("torch.log1p(x)\nz = 3", 2, 5, 3, 6))  # also rewrites `z = 2`
    with pytest.raises(AssertionError, match="outside the reported"):
        _check_fix_ranges(text, [away], unsafe=False)
