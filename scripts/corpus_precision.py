#!/usr/bin/env python
"""Run tensorlint over a corpus of third-party repositories and tabulate findings per rule.

Each positional argument is one repository folder (e.g. ``/work/corpus/nanoGPT``); a folder
whose subfolders are all repositories can be passed with ``--corpus-root`` instead.  For every
repository this runs::

    python -m tensorlint check --select ALL --no-cache --output-format json --isolated PATH

(``--isolated`` ignores the repository's own configuration) and then writes

* a markdown table of findings per rule and repository, with totals (``--table``),
* a JSON file with every finding, tagged with its repository (``--json``),
* with ``--sample N``: a reproducible (``--seed``) random sample of at most N findings per
  rule, printed with ``--context`` lines of source either side, for hand-checking.

Crashes (non-JSON output, a nonzero exit other than "findings found", anything on stderr
that looks like a traceback) and each repository's wall time are reported too.

Example::

    python scripts/corpus_precision.py --corpus-root /work/corpus --sample 10 \
        --table /tmp/table.md --json /tmp/findings.json > /tmp/sample.txt
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path


def run_repo(path: Path, extra: list[str], jobs: int | None) -> tuple[list[dict], float, float, str, int]:
    cmd = [
        sys.executable, "-m", "tensorlint", "check", "--select", "ALL", "--no-cache",
        "--output-format", "json", "--isolated", "--exit-zero", "--no-progress", *extra,
    ]
    if jobs:
        cmd += ["-j", str(jobs)]
    cmd.append(str(path))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    try:
        findings = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        findings = []
        return findings, elapsed, cpu, "stdout is not JSON:\n" + proc.stdout[-2000:] + proc.stderr[-2000:], proc.returncode
    return findings, elapsed, cpu, proc.stderr, proc.returncode


def context(filename: str, row: int, lines: int) -> str:
    try:
        src = Path(filename).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        return f"    <cannot read: {exc}>"
    lo, hi = max(1, row - lines), min(len(src), row + lines)
    width = len(str(hi))
    return "\n".join(
        f"{'>>' if n == row else '  '} {n:>{width}} | {src[n - 1]}" for n in range(lo, hi + 1)
    )


def markdown_table(per_rule: dict[str, Counter], repos: list[str], names: dict[str, str]) -> str:
    active = [r for r in repos if any(per_rule[c][r] for c in per_rule)]
    head = "| rule | name | " + " | ".join(active) + " | total |"
    sep = "|---|---|" + "---:|" * (len(active) + 1)
    rows = [head, sep]
    for code in sorted(per_rule):
        counts = per_rule[code]
        cells = " | ".join(str(counts[r]) if counts[r] else "" for r in active)
        rows.append(f"| {code} | {names.get(code, '')} | {cells} | {sum(counts.values())} |")
    totals = " | ".join(str(sum(per_rule[c][r] for c in per_rule)) for r in active)
    rows.append(f"| **all** | | {totals} | {sum(sum(c.values()) for c in per_rule.values())} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repos", nargs="*", type=Path, help="repository folders")
    ap.add_argument("--corpus-root", type=Path, help="every subfolder is one repository")
    ap.add_argument("--table", type=Path, default=Path("corpus_table.md"), help="markdown output")
    ap.add_argument("--json", type=Path, default=Path("corpus_findings.json"), help="all findings")
    ap.add_argument("--sample", type=int, default=0, help="print N random findings per rule")
    ap.add_argument("--seed", type=int, default=0, help="random seed for --sample")
    ap.add_argument("--context", type=int, default=8, help="lines of context either side")
    ap.add_argument("--rules", default="", help="with --sample: only these codes (comma list)")
    ap.add_argument("-j", "--jobs", type=int, default=None, help="passed to tensorlint -j")
    ap.add_argument("--from-json", type=Path, help="skip running; re-sample a previous --json")
    args = ap.parse_args(argv)

    repos = list(args.repos)
    if args.corpus_root:
        repos += sorted(p for p in args.corpus_root.iterdir() if p.is_dir() and not p.name.startswith("."))

    if args.from_json:
        data = json.loads(args.from_json.read_text())
        findings, meta = data["findings"], data["repos"]
    else:
        if not repos:
            ap.error("no repositories given")
        findings, meta = [], {}
        for repo in repos:
            found, elapsed, cpu, stderr, rc = run_repo(repo, [], args.jobs)
            crashed = rc not in (0, 1) or "Traceback" in stderr or stderr.startswith("stdout is not JSON")
            meta[repo.name] = {"path": str(repo), "seconds": round(elapsed, 1), "cpu_seconds": round(cpu, 1), "findings": len(found),
                               "returncode": rc, "crashed": crashed, "stderr_tail": stderr[-3000:]}
            for f in found:
                f["repo"] = repo.name
            findings += found
            print(f"{repo.name}: {len(found)} findings in {elapsed:.1f}s wall, {cpu:.1f}s CPU"
                  + (f"  CRASH rc={rc}\n{stderr[-1500:]}" if crashed else ""), file=sys.stderr)
        args.json.write_text(json.dumps({"repos": meta, "findings": findings}, indent=1))

    names = {f["code"]: f.get("name", "") for f in findings}
    per_rule: dict[str, Counter] = defaultdict(Counter)
    for f in findings:
        per_rule[f["code"]][f["repo"]] += 1
    table = markdown_table(per_rule, list(meta), names)
    timing = "\n| repo | findings | wall s | CPU s | crashed |\n|---|---:|---:|---:|---|\n" + "".join(
        f"| {r} | {m['findings']} | {m['seconds']} | {m.get('cpu_seconds', '')} | {'YES' if m['crashed'] else ''} |\n" for r, m in meta.items()
    )
    args.table.write_text(table + timing)
    print(table + timing)

    if args.sample:
        wanted = {c.strip() for c in args.rules.split(",") if c.strip()}
        by_rule: dict[str, list[dict]] = defaultdict(list)
        for f in findings:
            by_rule[f["code"]].append(f)
        for code in sorted(by_rule):
            if wanted and code not in wanted:
                continue
            pool = sorted(by_rule[code], key=lambda f: (f["filename"], f["location"]["row"], f["location"]["column"]))
            rng = random.Random(f"{args.seed}:{code}")
            picked = pool if len(pool) <= args.sample else rng.sample(pool, args.sample)
            picked.sort(key=lambda f: (f["filename"], f["location"]["row"]))
            print(f"\n{'=' * 100}\n{code} {names.get(code, '')}: {len(picked)} of {len(pool)}\n{'=' * 100}")
            for i, f in enumerate(picked, 1):
                loc = f["location"]
                print(f"\n--- {code} #{i}  {f['filename']}:{loc['row']}:{loc['column']}\n    {f['message']}")
                print(context(f["filename"], loc["row"], args.context))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
