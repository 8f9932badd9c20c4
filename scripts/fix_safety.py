"""Fix safety on a real codebase: apply every fix, safe and unsafe, to a copy, then check it.

    python scripts/fix_safety.py PATH [PATH ...] [--jobs N] [--keep DIR]

PATH is copied to a temporary folder (only `*.py` files), then

1. `tensorlint check --select ALL --output-format json --no-cache --isolated` lists the
   findings and their fixes (the sites a fix may touch);
2. `tensorlint check --fix --unsafe-fixes --select ALL --no-cache --isolated FILES` applies
   them (FILES: those with an applicable fix; the whole tree stays in place for
   cross-file context);
3. every file the fix run changed must still compile under the running Python;
4. a second `--fix --unsafe-fixes` run on the changed files must change nothing;
5. the AST diff of each changed file (node by node, `ast.dump` without positions) must lie
   at the reported fix sites: every node that differs, and every statement inserted or
   removed, must touch the lines of one of the file's fix edits.

It prints the files, fixes per rule, each failure, and the time; exit code 1 on any
failure. The checked code is never imported or run (only compiled).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

DEFAULT_EXCLUDES = frozenset(__import__("tensorlint.discovery").discovery.DEFAULT_EXCLUDES)

Site = tuple[int, int]  # first and last row (1-based) in the original text


# ---------------------------------------------------------------------------
# AST diff limited to sites (also used by tests/test_fuzz.py)


def _line_map(old: str, new: str) -> list[tuple[int, int]]:
    """For each row of `new` (index 0 is row 1), the range of rows of `old` it stands for:
    an unchanged row maps to itself, a changed or inserted one to the old rows around it."""
    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    mapping: list[tuple[int, int]] = [(0, 0)] * (len(new_lines) + 1)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for j in range(j1, j2):
            if tag == "equal":
                mapping[j] = (i1 + (j - j1) + 1,) * 2
            else:  # the old rows replaced, or the rows either side of an insertion
                mapping[j] = (i1 + 1, i2) if i2 > i1 else (i1, i1 + 1)
    mapping[len(new_lines)] = (len(old_lines), len(old_lines) + 1)
    return mapping


def _span(node, fallback: Site) -> Site:
    start = getattr(node, "lineno", None)
    if start is None:
        return fallback
    return start, getattr(node, "end_lineno", None) or start


def _touches(span: Site, sites: list[Site]) -> bool:
    return any(span[0] <= b and a <= span[1] for a, b in sites)


def ast_changes_outside(old: str, new: str, sites: list[Site]) -> list[str]:
    """The AST differences between `old` and `new` that touch none of `sites` (rows of
    `old`), described; empty when every change lies at a reported site."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old_tree, new_tree = ast.parse(old), ast.parse(new)
    mapping = _line_map(old, new)
    problems: list[str] = []

    def new_span(node, fallback: Site) -> Site:
        first, last = _span(node, fallback)
        lo = mapping[min(first, len(mapping)) - 1][0]
        hi = mapping[min(last, len(mapping)) - 1][1]
        return lo, max(lo, hi)

    def leaf(o, n, o_span: Site, n_span: Site, what: str) -> None:
        """A difference: where the old node was (exact), or for an inserted node, the
        old rows around where it went in."""
        span = o_span if o is not None else n_span
        if not _touches(span, sites):
            problems.append(f"{what} at old rows {span[0]}-{span[1]} (no fix site there)")

    def compare(o, n, o_span: Site, n_span: Site) -> None:
        if type(o) is not type(n):
            leaf(o, n, o_span, n_span, f"{type(o).__name__} -> {type(n).__name__} changed")
            return
        if isinstance(o, ast.AST):
            o_span, n_span = _span(o, o_span), new_span(n, n_span)
            if ast.dump(o) == ast.dump(n):
                return
            for field in o._fields:
                compare(getattr(o, field, None), getattr(n, field, None), o_span, n_span)
        elif isinstance(o, list):
            compare_lists(o, n, o_span, n_span)
        elif o != n:
            leaf(o, n, o_span, n_span, f"value {o!r} -> {n!r} changed")

    def compare_lists(o: list, n: list, o_span: Site, n_span: Site) -> None:
        if len(o) == len(n) and all(type(a) is type(b) for a, b in zip(o, n)):
            for a, b in zip(o, n):
                compare(a, b, o_span, n_span)
            return
        dump = lambda x: ast.dump(x) if isinstance(x, ast.AST) else repr(x)  # noqa: E731
        matcher = difflib.SequenceMatcher(None, [dump(x) for x in o], [dump(x) for x in n], autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                continue
            if tag == "replace" and i2 - i1 == j2 - j1:
                for a, b in zip(o[i1:i2], n[j1:j2]):
                    compare(a, b, o_span, n_span)
                continue
            for a in o[i1:i2]:
                leaf(a, None, _span(a, o_span), n_span, f"{type(a).__name__} removed")
            for b in n[j1:j2]:
                span = new_span(b, n_span)
                leaf(None, b, span, span, f"{type(b).__name__} inserted")

    compare(old_tree, new_tree, (1, max(1, old.count("\n") + 1)), (1, max(1, new.count("\n") + 1)))
    return problems


def edit_sites(diagnostics: list[dict]) -> list[Site]:
    """Rows each fix edit of the JSON findings replaces."""
    sites = []
    for d in diagnostics:
        for e in (d.get("fix") or {}).get("edits", []):
            sites.append((e["location"]["row"], e["end_location"]["row"]))
    return sites


# ---------------------------------------------------------------------------
# The run


def _tensorlint(args: list[str], cwd: Path, jobs: int | None, paths: list[Path] | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1")
    env.pop("TENSORLINT_OUTPUT_FORMAT", None)
    extra = ["--jobs", str(jobs)] if jobs else []
    targets = [str(p.relative_to(cwd)) for p in paths] if paths is not None else ["."]
    cmd = [sys.executable, "-m", "tensorlint", "check", *targets, "--select", "ALL", "--no-cache", "--isolated", *extra, *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)


def _copy_tree(sources: list[Path], dest: Path) -> list[Path]:
    files = []
    for source in sources:
        root = dest / source.name
        candidates = [source] if source.is_file() else sorted(source.rglob("*.py"))
        for path in candidates:
            if not path.is_file() or path.is_symlink() or DEFAULT_EXCLUDES.intersection(path.relative_to(source.parent).parts):
                continue  # folders tensorlint skips by default (build, dist, ...) are not counted
            target = root if source.is_file() else root / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            files.append(target)
    return files


def _read(path: Path) -> bytes:
    return path.read_bytes()


def _decode(data: bytes) -> str | None:
    try:
        from tensorlint.source import decode

        return decode(data)[0]
    except Exception:  # noqa: BLE001 - undecodable: tensorlint leaves such files alone
        return None


def check(sources: list[Path], jobs: int | None = None, keep: Path | None = None, out=sys.stdout) -> dict:
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="fix_safety_")) if keep is None else keep
    tmp.mkdir(parents=True, exist_ok=True)
    tmp = tmp.resolve()
    try:
        files = _copy_tree(sources, tmp)
        before = {p: _read(p) for p in files}
        listed = _tensorlint(["--output-format", "json"], tmp, jobs)
        if listed.returncode not in (0, 1):
            raise SystemExit(f"tensorlint check failed ({listed.returncode}):\n{listed.stderr[-3000:]}")
        findings = json.loads(listed.stdout or "[]")
        by_file: dict[Path, list[dict]] = {}
        for d in findings:
            by_file.setdefault(Path(d["filename"]).resolve(), []).append(d)
        fixable = Counter(d["code"] for d in findings if d.get("fix") and d["fix"]["applicability"] in ("safe", "unsafe"))

        # Only files with an applicable fix can change: the fix runs are given just those
        # (the rest of the tree is still there for cross-file context).
        to_fix = sorted({Path(d["filename"]).resolve() for d in findings
                         if d.get("fix") and d["fix"]["applicability"] in ("safe", "unsafe")})
        first = _tensorlint(["--fix", "--unsafe-fixes"], tmp, jobs, to_fix) if to_fix else None
        if first is None:
            first = subprocess.CompletedProcess([], 0, "", "")
        if first.returncode not in (0, 1):
            raise SystemExit(f"tensorlint --fix failed ({first.returncode}):\n{first.stderr[-3000:]}")
        after = {p: _read(p) for p in files}
        changed = [p for p in files if after[p] != before[p]]

        failures: list[str] = [
            f"fix run: {line}" for line in first.stderr.splitlines()
            if "a fix produced invalid code" in line or "internal error" in line
        ]
        fixed_rules: Counter = Counter()
        for path in changed:
            rel = path.relative_to(tmp)
            old, new = _decode(before[path]), _decode(after[path])
            if old is None or new is None:
                failures.append(f"{rel}: the fixed file cannot be decoded")
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    compile(new, str(rel), "exec", dont_inherit=True)
            except (SyntaxError, ValueError) as exc:
                failures.append(f"{rel}: the fixed file does not compile: {exc}")
                continue
            diagnostics = by_file.get(path.resolve(), [])
            for d in diagnostics:
                if d.get("fix") and d["fix"]["applicability"] in ("safe", "unsafe"):
                    fixed_rules[d["code"]] += 1
            outside = ast_changes_outside(old, new, edit_sites(diagnostics))
            failures += [f"{rel}: {p}" for p in outside[:5]]

        snapshot = {p: _read(p) for p in files}
        # A file the first run left unchanged is checked again as it was: only the changed
        # ones can be changed by a second run.
        second = _tensorlint(["--fix", "--unsafe-fixes"], tmp, jobs, changed) if changed else first
        if second.returncode not in (0, 1):
            failures.append(f"second --fix run failed ({second.returncode}): {second.stderr[-2000:]}")
        for p in files:
            if _read(p) != snapshot[p]:
                failures.append(f"{p.relative_to(tmp)}: a second --fix run changed it again (not idempotent)")

        elapsed = time.perf_counter() - started
        result = {
            "files": len(files),
            "findings": len(findings),
            "fixable": dict(fixable.most_common()),
            "changed_files": len(changed),
            "failures": failures,
            "seconds": round(elapsed, 1),
            "not_checked": [f"{Path(d['filename']).relative_to(tmp)}: {d['message']}" for d in findings if d["code"] == "TL000"],
            "fix_summary": next((line for line in reversed(first.stdout.splitlines()) if line.startswith("Fixed")), ""),
            "fixable_in_changed_files": dict(fixed_rules.most_common()),
        }
        print(f"files: {len(files)}  findings: {len(findings)}  files changed by --fix: {len(changed)}", file=out)
        print(f"fix run: {result['fix_summary']}", file=out)
        print("fixes per rule (findings with a safe or unsafe fix):", file=out)
        for code, count in sorted(fixable.items()):
            print(f"  {code}: {count}", file=out)
        print(f"TL000 findings (files not compiled or not checked): {len(result['not_checked'])}", file=out)
        for line in result["not_checked"][:20]:
            print(f"  {line}", file=out)
        print(f"failures: {len(failures)}", file=out)
        for failure in failures:
            print(f"  {failure}", file=out)
        print(f"time: {elapsed:.1f} s", file=out)
        return result
    finally:
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="work in DIR and keep it")
    parser.add_argument("--json", type=Path, default=None, help="also write the result as JSON")
    args = parser.parse_args(argv)
    for p in args.paths:
        if not p.exists():
            print(f"fix_safety: {p}: no such file or folder", file=sys.stderr)
            return 2
    result = check([p.resolve() for p in args.paths], args.jobs, args.keep)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
