"""``tensorlint diagnose``: run a script unchanged and monitor every model it calls.

The script runs the way ``python -m cProfile script.py`` runs it: through ``runpy`` as
``__main__``, with ``sys.argv`` set to the script and its arguments and its folder first on
``sys.path`` (the current folder for ``-m module``).

Discovery: while the script runs, one pair of global module forward hooks keeps a per-thread
depth of module forwards. A module whose forward is entered at depth 0 (from outside any
other module's forward) and that has parameters is a root model; it gets a normal
``Monitor``, attached right there, and its first forward is fed to the monitor's hooks by hand
(torch reads the hook dictionaries before the first hook runs, so hooks registered inside a
pre-hook only see later forwards). Loss modules and parameter-free modules called at the top
level are never models; a submodule of a monitored model called on its own (``model.encoder(x)``)
is counted by that model's monitor. When a later root contains an earlier one (the script
wraps its backbone in a bigger model), the earlier monitor is detached and its findings so
far are kept. The discovery hooks are removed when the script ends.
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import traceback
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.modules import module as module_hooks

from .findings import _RANK, SEVERITIES, Finding
from .monitor import Monitor
from .profile import Profile, ProfileError
from .report import Report

_compiling = torch.compiler.is_compiling


@dataclass
class Watched:
    """One discovered root model and its monitor."""

    label: str
    model: nn.Module
    monitor: Monitor
    absorbed_by: str | None = None  # label of a later root that contains this model
    reference_used: bool = False
    notes: list[str] = field(default_factory=list)


class _Depth(threading.local):
    def __init__(self) -> None:
        self.depth = 0


def _is_candidate(module: nn.Module) -> bool:
    """A root model: has parameters and is not a loss (``nn.CrossEntropyLoss(weight=...)`` is a criterion)."""
    if isinstance(module, nn.modules.loss._Loss):
        return False
    return next(module.parameters(), None) is not None


def _unwrap_compiled(module: nn.Module) -> nn.Module:
    """``torch.compile(model)`` returns an ``OptimizedModule``: monitor the model it wraps (see Monitor)."""
    inner = getattr(module, "_orig_mod", None)
    return inner if isinstance(inner, nn.Module) else module


_SKIP_FILES = (os.path.abspath(module_hooks.__file__), os.path.abspath(__file__))


def _caller_name(*objects: nn.Module) -> str | None:
    """The name the calling code uses for the model (``model``, ``G``, ``self.student``), if it is simple to see.

    Only the first frame outside torch's module machinery is read: its local names, then the
    attributes of its ``self``. Called once per discovered model.
    """
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename) in _SKIP_FILES:
        frame = frame.f_back
    if frame is None:
        return None
    local = frame.f_locals
    for name, value in local.items():
        if name != "self" and any(value is o for o in objects):
            return name
    owner = local.get("self")
    attrs = getattr(owner, "__dict__", None)
    if isinstance(attrs, dict) and not isinstance(owner, nn.Module):
        for name, value in attrs.items():
            if any(value is o for o in objects):
                return name
    return None


class Session:
    """Discovers root models while active and monitors each with its own ``Monitor``.

    ``reference`` is used for the model whose architecture matches it; ``options`` are
    ``Monitor`` keywords (``every=...``, thresholds, ``allow=...``).
    """

    def __init__(self, reference: Profile | None = None, **options: Any) -> None:
        self.reference = reference
        self.options = options
        self.watched: list[Watched] = []
        self.notes: list[str] = []
        self._local = _Depth()
        self._lock = threading.Lock()
        # modules judged at depth 0 (monitored, inside a model, or not a model); weak, so a freed
        # module's id reused by a new model (one model per fold) is judged again
        self._seen: weakref.WeakSet[nn.Module] = weakref.WeakSet()
        self._handles: list = []
        self._frozen: dict[int, tuple[Report, Profile | None]] | None = None  # taken before the process group ends
        self._restore: Any = None
        self.want_profiles = False

    # ---- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._handles:
            return
        self._handles = [
            module_hooks.register_module_forward_pre_hook(self._pre),
            module_hooks.register_module_forward_hook(self._post, always_call=True),
        ]
        self._wrap_destroy()

    def stop(self) -> None:
        """Remove the discovery hooks and detach every monitor (reports stay readable)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if self._restore is not None:
            self._restore()
            self._restore = None
        for w in self.watched:
            w.monitor.detach()

    def __enter__(self) -> Session:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wrap_destroy(self) -> None:
        """Under torch.distributed, reports are collectives: take them when the script ends its process group.

        Every rank calls ``destroy_process_group()`` at the same point, so the reports (and profiles)
        are reduced across ranks there; a report asked for after the group is gone uses them.
        """
        import torch.distributed as dist

        if not dist.is_available():
            return
        original = dist.destroy_process_group

        def destroy_process_group(group=None, *args, **kwargs):
            if group is None and dist.is_initialized() and self.watched and self._frozen is None:
                try:
                    self._frozen = {
                        id(w): (w.monitor.report(), w.monitor.profile() if self.want_profiles else None)
                        for w in self.watched
                    }
                except Exception as exc:  # noqa: BLE001 - never break the user's shutdown
                    self.notes.append(f"could not merge the ranks' reports before destroy_process_group: {exc}")
            return original(group, *args, **kwargs)

        dist.destroy_process_group = destroy_process_group

        def restore() -> None:
            dist.destroy_process_group = original

        self._restore = restore

    def _report_of(self, w: Watched) -> Report:
        if self._frozen is not None and id(w) in self._frozen:
            return self._frozen[id(w)][0]
        return w.monitor.report()

    # ---- discovery hooks ------------------------------------------------------------------------
    def _pre(self, module: nn.Module, args: tuple) -> None:
        if _compiling():
            return
        t = self._local
        t.depth += 1
        if t.depth == 1 and module not in self._seen:
            try:
                self._discover(module, args)
            except Exception as exc:  # noqa: BLE001 - never break the user's script
                self.notes.append(f"discovery skipped {type(module).__name__}: {type(exc).__name__}: {exc}")

    def _post(self, module: nn.Module, args: tuple, output: Any) -> None:
        if _compiling():
            return
        t = self._local
        if t.depth:
            t.depth -= 1

    def _discover(self, module: nn.Module, args: tuple) -> None:
        with self._lock:
            if module in self._seen:
                return
            self._seen.add(module)
            if not _is_candidate(module):
                return
            model = _unwrap_compiled(module)
            for w in self.watched:
                if w.absorbed_by is None and any(m is model or m is module for m in w.model.modules()):
                    self._seen.update(w.model.modules())
                    return  # part of a monitored model: its monitor counts this call
            label = self._label(model, _caller_name(module, model))
            inner = {id(m) for m in model.modules()}
            for w in self.watched:  # an earlier root that this model contains stops being a root
                if w.absorbed_by is None and id(w.model) in inner:
                    w.monitor.detach()
                    w.absorbed_by = label
            reference, used = self._reference_for(model, label)
            monitor = Monitor(model, reference=reference, **self.options)
            monitor.attach()
            watched = Watched(label, model, monitor, reference_used=used)
            self.watched.append(watched)
            self._seen.update(model.modules())
        # This forward's hooks were read before ours ran: replay the monitor's pre-hooks by hand.
        monitor._entry_pre_hook(module, args)
        if monitor.options.profile_input and module is model:
            monitor._root_inputs(module, args, {})

    def _label(self, model: nn.Module, name: str | None) -> str:
        base = name or type(model).__name__
        taken = {w.label for w in self.watched}
        if base not in taken:
            return base
        n = 2
        while f"{base}#{n}" in taken:
            n += 1
        return f"{base}#{n}"

    def _reference_for(self, model: nn.Module, label: str) -> tuple[Profile | None, bool]:
        if self.reference is None or any(w.reference_used for w in self.watched):
            return None, False
        try:
            from .drift import check_architecture
            from .profile import architecture

            check_architecture(self.reference, architecture(model))
        except ProfileError as exc:
            self.notes.append(f"the reference profile does not fit {label}, no drift checks for it: {exc}")
            return None, False
        return self.reference, True

    # ---- results ----------------------------------------------------------------------------------
    def report(self, select: Iterable[str] | None = None, ignore: Iterable[str] | None = None) -> Report:
        """One report over every model; with several models, module names are prefixed by the model's label."""
        several = len(self.watched) > 1
        findings: list[Finding] = []
        details: list[Finding] = []
        models = []
        totals = {"forwards": 0, "sampled_forwards": 0, "compiled_forwards": 0, "optimizer_steps": 0,
                  "sampled_optimizer_steps": 0, "allowed": 0}  # fmt: skip
        errors: list[str] = []
        options: dict[str, Any] = {}
        main: tuple[int, Report] | None = None  # the busiest model's report: its plots go into the HTML
        for w in self.watched:
            rep = self._report_of(w)
            if main is None or rep.summary.get("forwards", 0) > main[0]:
                main = (rep.summary.get("forwards", 0), rep)
            for key in totals:
                totals[key] += int(rep.summary.get(key, 0))
            errors += [f"{w.label}: {e}" for e in rep.summary.get("internal_errors", [])]
            options = rep.summary.get("options", options)
            models.append({
                "label": w.label,
                "class": f"{type(w.model).__module__}.{type(w.model).__qualname__}",
                "parameters": sum(p.numel() for p in w.model.parameters()),
                "forwards": rep.summary.get("forwards", 0),
                "optimizer_steps": rep.summary.get("optimizer_steps", 0),
                "findings": len(rep.findings),
                "reference": w.reference_used,
                "absorbed_by": w.absorbed_by,
            })  # fmt: skip
            findings += [_prefixed(f, w.label) if several else f for f in rep.findings]
            details += [_prefixed(f, w.label) if several else f for f in rep.details]
        chosen = _kind_filter(select, ignore)
        findings = [f for f in findings if chosen(f.kind)]
        details = [f for f in details if chosen(f.kind)]
        findings.sort(key=lambda f: _RANK[f.severity])  # stable: each model's own order is kept
        summary = {**totals, "internal_errors": errors, "options": options, "models": models, "notes": list(self.notes)}
        merged = Report(findings, summary, details)
        if main is not None and hasattr(merged, "attach"):  # profile/history for Report.save_html
            merged.attach(profile=getattr(main[1], "profile", None), history=getattr(main[1], "history", None),
                          reference=getattr(main[1], "reference", None))  # fmt: skip
            merged.rank, merged.world_size = getattr(main[1], "rank", None), getattr(main[1], "world_size", 1)
        return merged

    def profiles(self) -> list[tuple[str, Profile]]:
        out = []
        for w in self.watched:
            if w.absorbed_by is None:
                frozen = (self._frozen or {}).get(id(w), (None, None))[1]
                out.append((w.label, frozen if frozen is not None else w.monitor.profile()))
        return out


def _prefixed(f: Finding, label: str) -> Finding:
    def name(m: str) -> str:
        return f"{label}.{m}" if m else label

    return Finding(f.kind, name(f.module), f.severity, f.message, f.details, f.count, [name(m) for m in f.modules])


def _kind_filter(select: Iterable[str] | None, ignore: Iterable[str] | None):
    chosen = set(select) if select else None
    dropped = set(ignore or ())
    return lambda kind: (chosen is None or kind in chosen) and kind not in dropped


def fails(report: Report, fail_on: str | None) -> bool:
    """True when a finding is at or above ``fail_on`` (``"error"``, ``"warning"``, ``"info"``)."""
    if not fail_on:
        return False
    limit = _RANK[fail_on]
    return any(_RANK[f.severity] <= limit for f in report.findings)


# ---- running a script ---------------------------------------------------------------------------------
def _script_traceback(exc: BaseException) -> str:
    """The traceback as Python would print it for the script: runpy's and our own frames dropped."""
    tb = exc.__traceback__
    ours = {os.path.abspath(__file__), os.path.abspath(runpy.__file__), "<frozen runpy>"}
    while tb is not None and (tb.tb_frame.f_code.co_filename in ours or os.path.abspath(tb.tb_frame.f_code.co_filename) in ours):
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)  # sys.exit("message") prints it and exits 1, as Python does
    return 1


def run_target(target: str, argv: list[str], as_module: bool) -> int:
    """Run a script (or ``-m`` module) as ``__main__``; its exit code (1 for an uncaught exception)."""
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    try:
        if as_module:
            sys.argv = [target, *argv]  # runpy replaces argv[0] with the module's file
            sys.path.insert(0, os.getcwd())
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            path = os.path.abspath(target)
            sys.argv = [target, *argv]
            sys.path.insert(0, os.path.dirname(path))
            runpy.run_path(path, run_name="__main__")
        return 0
    except SystemExit as exc:
        return _exit_code(exc)
    except KeyboardInterrupt:
        print("KeyboardInterrupt", file=sys.stderr)
        return 130
    except BaseException as exc:  # noqa: BLE001 - the script's own error: print it as Python would
        sys.stderr.write(_script_traceback(exc))
        return 1
    finally:
        sys.argv, sys.path = saved_argv, saved_path


@dataclass
class DiagnoseResult:
    exit_code: int
    script_exit_code: int
    report: Report
    session: Session


def diagnose(
    target: str,
    argv: list[str],
    *,
    as_module: bool = False,
    reference: Profile | None = None,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    fail_on: str | None = None,
    json_path: str | os.PathLike | None = None,
    html_path: str | os.PathLike | None = None,
    save_profile: str | os.PathLike | None = None,
    console=None,
    monitor_options: Mapping[str, Any] | None = None,
) -> DiagnoseResult:
    """Run ``target`` under a discovery ``Session``, then print the report and write the files asked for.

    The exit code is the script's own, unless ``fail_on`` trips while the script exited 0
    (then 1): a script that already failed keeps its code.
    """
    from rich.console import Console

    if console is None:
        console = Console()
        if not console.is_terminal:  # CI logs and pipes: wide enough that kinds are never folded
            console = Console(width=max(console.width, 120))
    session = Session(reference=reference, **dict(monitor_options or {}))
    session.want_profiles = bool(save_profile)
    session.start()
    try:
        code = run_target(target, argv, as_module)
    finally:
        session.stop()
        sys.stdout.flush()
    report = session.report(select, ignore)
    profiles = session.profiles() if save_profile else []  # a collective under torch.distributed: every rank
    writes = getattr(report, "writes", None)
    if writes is None or writes():  # under torch.distributed, rank 0 only
        _print(console, session, report, target)
        for note in _write_outputs(report, json_path, html_path, save_profile, profiles):
            console.print(note, highlight=False, soft_wrap=True)
    if fails(report, fail_on) and code == 0:
        console.print(f"tensorlint diagnose: failing: findings at or above `{fail_on}` (--fail-on)", highlight=False)
        return DiagnoseResult(1, code, report, session)
    return DiagnoseResult(code, code, report, session)


def _print(console, session: Session, report: Report, target: str) -> None:
    if not session.watched:
        console.print(f"tensorlint diagnose: no nn.Module with parameters ran in {target}; nothing was monitored.",
                      highlight=False, soft_wrap=True)  # fmt: skip
    else:
        names = ", ".join(
            f"{m['label']} ({m['forwards']} forwards, {m['optimizer_steps']} optimizer steps"
            + (", drift vs reference" if m["reference"] else "")
            + (f", inside {m['absorbed_by']} later" if m["absorbed_by"] else "")
            + ")"
            for m in report.summary["models"]
        )
        console.print(f"tensorlint diagnose: monitored {len(session.watched)} model(s): {names}", highlight=False, soft_wrap=True)
    for note in session.notes:
        console.print(f"tensorlint diagnose: note: {note}", highlight=False, soft_wrap=True)
    if session.watched:
        report.print(console)


def _write_outputs(report: Report, json_path, html_path, save_profile, profiles: list[tuple[str, Profile]]) -> list[str]:
    notes = []
    if json_path:
        report.save_json(json_path)
        notes.append(f"tensorlint diagnose: wrote {json_path}")
    if html_path:
        save_html = getattr(report, "save_html", None)
        if save_html is None:
            notes.append("tensorlint diagnose: error: --html needs tensorlint.runtime.html_report, "
                         "which this installation does not have; no HTML written")  # fmt: skip
        else:
            save_html(html_path)
            notes.append(f"tensorlint diagnose: wrote {html_path}")
    if save_profile:
        if not profiles:
            notes.append("tensorlint diagnose: no model ran, no profile written")
        elif len(profiles) == 1:
            profiles[0][1].save(save_profile)
            notes.append(f"tensorlint diagnose: wrote profile {save_profile}")
        else:
            base = Path(save_profile)
            for label, prof in profiles:
                path = base.with_name(f"{base.stem}.{label.replace('#', '-')}{base.suffix or '.json'}")
                prof.save(path)
                notes.append(f"tensorlint diagnose: wrote profile {path} ({label})")
    return notes


__all__ = ["SEVERITIES", "DiagnoseResult", "Session", "diagnose", "fails", "run_target"]
