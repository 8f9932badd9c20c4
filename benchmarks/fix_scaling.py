"""Fix-heavy files of growing size: the cost of computing (check) and applying (--fix)
fixes must grow linearly with the file (issue 9, item 7).

    python benchmarks/fix_scaling.py [LINES ...]   # default: 1000 10000 100000

Each file is a module of small functions, one fixable TL301 finding every 6 lines.
Prints CPU seconds for libcst's parse (the floor), a check (findings with their fix
edits) and a full `--fix` (apply, re-check until stable), the check's ratio to the parse
(constant when fixes cost linear time: libcst's own parse grows a little faster than
linearly), and the cost per 1,000 lines relative to the smallest size."""

from __future__ import annotations

import sys
import time

import libcst as cst

from tensorlint.engine import LintSettings, lint_source
from tensorlint.fixer import fix_text
from tensorlint.selection import resolve_all


def generate(lines: int) -> str:
    out = ["import torch", ""]
    i = 0
    while len(out) < lines:
        out += [f"def f{i}(x):", f"    a = torch.FloatTensor([{i}, 2])", "    y = x + 1", "    z = y * 2", "    return a + z", ""]
        i += 1
    return "\n".join(out) + "\n"


def cpu(func) -> float:
    start = time.process_time()
    func()
    return time.process_time() - start


def main(sizes: list[int]) -> None:
    settings = LintSettings(enabled=resolve_all(("ALL",)))
    base = None
    print("| lines | fixes | parse s | check s | --fix s | check / parse | check s per 1k lines | --fix s per 1k lines |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for lines in sizes:
        source = generate(lines)
        parse = cpu(lambda: cst.parse_module(source))
        found: list = []
        check = cpu(lambda: found.extend(lint_source(source, "x.py", settings)))
        outcome: list = []
        fixing = cpu(lambda: outcome.append(fix_text(source, "x.py", settings, False)))
        assert outcome[0].error is None and outcome[0].applied == sum(d.fix is not None for d in found)
        per_check, per_fix = check / lines * 1000, fixing / lines * 1000
        base = base or (per_check, per_fix)
        print(
            f"| {lines:,} | {len(found):,} | {parse:.2f} | {check:.2f} | {fixing:.2f} | {check / parse:.1f}x "
            f"| {per_check:.3f} ({per_check / base[0]:.2f}x) | {per_fix:.3f} ({per_fix / base[1]:.2f}x) |",
            flush=True,
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1000, 10000, 100000])
