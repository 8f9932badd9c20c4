"""Score tensorlint on the real-bug corpus in tests/realbugs/.

Each case folder holds `case.toml`, a `buggy/` project and, where the fix is known, a
`fixed/` twin. The buggy project must yield every expected finding (code, file, line);
the fixed twin must yield none of the expected codes.

    python scripts/score_realbugs.py               # table + totals
    python scripts/score_realbugs.py --json        # machine output
    python scripts/score_realbugs.py --min-recall 0.8   # exit 1 when recall is lower

Each buggy/ and fixed/ folder is linted as a project of its own, through the CLI
(`python -m tensorlint check --isolated --select ALL --no-cache --output-format json`),
so that cross-file analysis sees exactly the files of the case. `--in-process` lints
each file alone with `tensorlint.engine.lint_source` instead (faster, single-file view).
The exit status is 0 unless --min-recall is given and not met.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "realbugs"


@dataclass(frozen=True)
class Expected:
    code: str
    file: str
    line: int


@dataclass
class Case:
    name: str
    folder: Path
    project: str
    source: str
    description: str
    expected: list[Expected]
    known_miss: str | None = None
    known_false_alarm: str | None = None

    @property
    def buggy(self) -> Path:
        return self.folder / "buggy"

    @property
    def fixed(self) -> Path | None:
        path = self.folder / "fixed"
        return path if path.is_dir() else None

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(e.code for e in self.expected)

    def is_multi_file(self) -> bool:
        return len(python_files(self.buggy)) > 1


@dataclass
class Finding:
    code: str
    file: str
    line: int
    message: str = field(default="", compare=False)


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def load_cases(corpus: Path = CORPUS) -> list[Case]:
    cases = []
    for toml_path in sorted(corpus.glob("*/case.toml")):
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        for key in ("project", "source", "description", "expected"):
            if key not in data:
                raise ValueError(f"{toml_path}: missing key {key!r}")
        expected = [Expected(str(e["code"]), str(e["file"]), int(e["line"])) for e in data["expected"]]
        if not expected:
            raise ValueError(f"{toml_path}: `expected` is empty")
        cases.append(
            Case(
                name=toml_path.parent.name,
                folder=toml_path.parent,
                project=data["project"],
                source=data["source"],
                description=data["description"],
                expected=expected,
                known_miss=data.get("known_miss"),
                known_false_alarm=data.get("known_false_alarm"),
            )
        )
    return cases


_CHECK_ARGS = [
    "check", "--isolated", "--select", "ALL", "--no-cache", "--output-format", "json",
    "--exit-zero", "--no-progress", "-j", "1", ".",
]


def _findings_from_json(text: str, folder: Path) -> list[Finding]:
    root = folder.resolve()
    findings = []
    for item in json.loads(text or "[]"):
        path = Path(item["filename"])
        if not path.is_absolute():
            path = root / path
        rel = path.resolve().relative_to(root).as_posix()
        findings.append(Finding(item["code"], rel, item["location"]["row"], item.get("message", "")))
    return findings


def lint_folder_cli(folder: Path) -> list[Finding]:
    """Lint one case folder as a project, through the CLI in a subprocess."""
    env = dict(os.environ, NO_COLOR="1")
    env.pop("FORCE_COLOR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "tensorlint", *_CHECK_ARGS],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"tensorlint failed on {folder} (rc={proc.returncode}):\n{proc.stderr}")
    return _findings_from_json(proc.stdout, folder)


def lint_folder_cli_in_process(folder: Path) -> list[Finding]:
    """The same CLI run as `lint_folder_cli`, through `tensorlint.cli.main` in this process
    (no interpreter start-up). Changes the working directory while it runs: not thread-safe."""
    import contextlib
    import io

    from tensorlint.cli import main as cli_main

    out, err = io.StringIO(), io.StringIO()
    previous = os.getcwd()
    try:
        os.chdir(folder)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = cli_main(list(_CHECK_ARGS))
    finally:
        os.chdir(previous)
    if rc != 0:
        raise RuntimeError(f"tensorlint failed on {folder} (rc={rc}):\n{err.getvalue()}")
    return _findings_from_json(out.getvalue(), folder)


def lint_folder_in_process(folder: Path) -> list[Finding]:
    """Lint each file of a folder alone, in this process (no cross-file view)."""
    from tensorlint.engine import LintSettings, lint_source
    from tensorlint.selection import resolve_all

    settings = LintSettings(enabled=resolve_all(["ALL"]))
    findings = []
    for path in python_files(folder):
        rel = path.relative_to(folder).as_posix()
        for d in lint_source(path.read_text(encoding="utf-8"), rel, settings):
            findings.append(Finding(d.code, rel, d.location.row, d.message))
    return findings


def lint_folder(folder: Path, in_process: bool = False) -> list[Finding]:
    return lint_folder_in_process(folder) if in_process else lint_folder_cli(folder)


def missing_expected(case: Case, findings: list[Finding]) -> list[Expected]:
    got = {(f.code, f.file, f.line) for f in findings}
    return [e for e in case.expected if (e.code, e.file, e.line) not in got]


def twin_alarms(case: Case, findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.code in case.codes]


def score_case(case: Case, in_process: bool = False) -> dict:
    """One case's result. A linter crash is recorded in `error` (the case counts as
    missed, or its twin as flagged) instead of aborting the whole run."""
    error = None
    try:
        buggy = lint_folder(case.buggy, in_process)
    except RuntimeError as exc:
        buggy, error = [], f"buggy: {exc}"
    missing = missing_expected(case, buggy)
    result = {
        "case": case.name,
        "project": case.project,
        "codes": sorted(case.codes),
        "multi_file": case.is_multi_file(),
        "expected": len(case.expected),
        "missing": [e.__dict__ for e in missing],
        "found": not missing,
        "known_miss": case.known_miss,
        "has_twin": case.fixed is not None,
        "twin_alarms": [],
        "error": error,
    }
    if case.fixed is not None:
        try:
            fixed = lint_folder(case.fixed, in_process)
        except RuntimeError as exc:
            result["error"] = "; ".join(filter(None, [error, f"fixed: {exc}"]))
            result["twin_alarms"] = [{"code": "ERROR", "file": "", "line": 0, "message": str(exc)}]
        else:
            result["twin_alarms"] = [f.__dict__ for f in twin_alarms(case, fixed)]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--min-recall", type=float, default=None, help="exit 1 when recall is lower")
    parser.add_argument("--in-process", action="store_true", help="lint files one by one in-process")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    args = parser.parse_args(argv)

    cases = load_cases(args.corpus)
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(lambda c: score_case(c, args.in_process), cases))

    found = sum(r["found"] for r in results)
    twins = [r for r in results if r["has_twin"]]
    flagged = [r for r in twins if r["twin_alarms"]]
    recall = found / len(results) if results else 0.0
    totals = {
        "cases": len(results),
        "projects": len({r["project"] for r in results}),
        "found": found,
        "recall": round(recall, 4),
        "expected_findings": sum(r["expected"] for r in results),
        "found_findings": sum(r["expected"] - len(r["missing"]) for r in results),
        "twins": len(twins),
        "twins_flagged": len(flagged),
        "errors": sum(1 for r in results if r["error"]),
    }
    if args.json:
        print(json.dumps({"totals": totals, "cases": results}, indent=2))
    else:
        width = max((len(r["case"]) for r in results), default=10)
        for r in results:
            status = "found " if r["found"] else "MISSED"
            twin = "no twin" if not r["has_twin"] else ("twin FLAGGED" if r["twin_alarms"] else "twin clean")
            print(f"{r['case']:<{width}}  {','.join(r['codes']):<12} {status}  {twin}")
            for m in r["missing"]:
                print(f"{'':<{width}}    missing {m['code']} {m['file']}:{m['line']}")
            for a in r["twin_alarms"]:
                print(f"{'':<{width}}    twin alarm {a['code']} {a['file']}:{a['line']}")
            if r["error"]:
                print(f"{'':<{width}}    ERROR {r['error'].splitlines()[0][:200]}")
        print()
        print(
            f"cases {totals['cases']} from {totals['projects']} projects; "
            f"found {found}/{len(results)} (recall {recall:.2f}); "
            f"findings {totals['found_findings']}/{totals['expected_findings']}; "
            f"fixed twins flagged {len(flagged)}/{len(twins)}"
            + (f"; linter errors in {totals['errors']} cases" if totals["errors"] else "")
        )
    if args.min_recall is not None and recall < args.min_recall:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
