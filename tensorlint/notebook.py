"""Jupyter notebooks (`.ipynb`): read the code cells, lint them as one program, map
findings back to (cell, row, column), and write fixes back into the notebook JSON
without touching anything else.

How a notebook is checked
-------------------------
* Every code cell is a piece of one program, in notebook order (Jupyter's "run all"):
  `model.eval()` in cell 4 counts for the inference in cell 7. Cells are numbered as
  ruff numbers them: the 1-based position in the notebook's `cells` list (markdown and
  raw cells count, so the number is the one a reader counts down the notebook).
* IPython syntax is blanked, one line for one line, so rows never shift: line magics
  (`%timeit f()`), shell escapes (`!pip install x`), shell/magic assignments
  (`x = !ls`, `t = %timeit -o f()`) and help (`?obj`, `obj?`) become `pass` at the
  same indentation, with any backslash continuation lines of the magic. A line counts
  only where a statement starts (never inside a string or brackets). A cell that starts
  with a cell magic is skipped, except the magics whose body is Python (`%%time`,
  `%%timeit`, `%%capture`, `%%prun`, `%%debug`, `%%python`, `%%python3`, `%%pypy`), of
  which only the magic line is blanked. A fix that would touch a blanked line is dropped.
* A cell that Python cannot compile on its own is one TL000 finding at its position and
  is left out; the other cells are still checked (as Jupyter runs them). A cell that
  compiles only with top-level `await` (which IPython allows) is left out silently.
* Notebooks whose kernel language is not Python are skipped. A file that is not a
  notebook (bad JSON, no `cells` list, a cell whose `source` is not text) is one TL000
  finding, never a traceback.
* `# noqa` works per line inside a cell; `# tensorlint: noqa` in any cell covers the
  whole notebook (it is one file).
* `--fix` edits only the `source` values of the cells it changed, spliced into the
  original text: outputs, metadata, key order, indentation, escaping and the final
  newline stay byte-identical, a list-of-lines `source` stays a list (its untouched
  lines keep their exact JSON text) and a string stays a string. A fix whose edits span
  two cells is dropped. The written notebook is read back and checked before writing.

API (used by the runner and by the language server for notebook documents)
---------------------------------------------------------------------------
* `Notebook.parse(data) -> Notebook` (raises `NotebookError`); `.code_cells()` gives
  `[(cell_number, text)]`; `.with_sources({cell_number: text}) -> bytes`.
* `cells_to_source(cells) -> (source, LineMap)`: the program text of some cells (each a
  text, numbered 1.. in order, or a `(cell_number, text)` pair) and the map back.
  `LineMap.locate(row) -> (cell, row_in_cell)`; `LineMap.map_diagnostic(d)` turns a
  finding on the program into one on its cell (`d.cell` set; the fix, in cell-local
  rows, dropped if it spans cells or touches a blanked magic line).
* `lint_cells(cells, path, settings, view=None) -> [Diagnostic]` and
  `lint_notebook(data, path, settings, view=None)`: findings with `cell` set, rows and
  columns relative to the cell, after noqa. `view` builds a ProjectView for a program
  text (optional).
* `fix_cells(cells, path, settings, unsafe, view=None) -> NotebookFix`: the fixed cell
  texts (`changed`: only the cells that changed), findings fixed, what remains.
* `apply_fixes_to_notebook(data, diagnostics, unsafe) -> (bytes, count)`: one round of
  the given (cell-mapped) findings' fixes written into the notebook bytes (an editor's
  code action).
* `cell_lines(path, cell, text=None)`: the lines of one cell, for rendering snippets.
"""

from __future__ import annotations

import bisect
import dataclasses
import io
import json
import re
import tokenize
from dataclasses import dataclass, field
from json.decoder import scanstring
from typing import TYPE_CHECKING, Callable, Iterable, NamedTuple, Sequence

from tensorlint.diagnostics import SYNTAX_ERROR_CODE, Diagnostic, Edit, Fix, Location, applicable, syntax_error
from tensorlint.noqa import Suppressions
from tensorlint.source import split_lines

if TYPE_CHECKING:
    from tensorlint.settings import LintSettings

SUFFIX = ".ipynb"
_BOM = "\ufeff"
MAX_ROUNDS = 10


def is_notebook(path: str) -> bool:
    return path.lower().endswith(SUFFIX)


class NotebookError(Exception):
    """The file is not a Jupyter notebook tensorlint can read."""


# ---------------------------------------------------------------------------- reading

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _ws(s: str, i: int) -> int:
    return _WS.match(s, i).end()


def _expect(s: str, i: int, char: str) -> None:
    if i >= len(s) or s[i] != char:
        found = repr(s[i]) if i < len(s) else "end of file"
        raise NotebookError(f"not a Jupyter notebook: invalid JSON: expected {char!r} at offset {i}, found {found}")


def _members(s: str, i: int):
    """(key, value start, value end) of the JSON object at `s[i]` == '{'; values are
    parsed (C speed) only to find where they end."""
    _expect(s, i, "{")
    i = _ws(s, i + 1)
    if i < len(s) and s[i] == "}":
        return
    while True:
        _expect(s, i, '"')
        key, i = scanstring(s, i + 1)
        i = _ws(s, i)
        _expect(s, i, ":")
        start = _ws(s, i + 1)
        _, end = _DECODER.raw_decode(s, start)
        yield key, start, end
        i = _ws(s, end)
        if i < len(s) and s[i] == ",":
            i = _ws(s, i + 1)
            continue
        _expect(s, i, "}")
        return


def _items(s: str, i: int):
    """(start, end) of each element of the JSON array at `s[i]` == '['."""
    _expect(s, i, "[")
    i = _ws(s, i + 1)
    if i < len(s) and s[i] == "]":
        return
    while True:
        _, end = _DECODER.raw_decode(s, i)
        yield i, end
        i = _ws(s, end)
        if i < len(s) and s[i] == ",":
            i = _ws(s, i + 1)
            continue
        _expect(s, i, "]")
        return


@dataclass(frozen=True)
class _Cell:
    number: int  # 1-based position in `cells`
    cell_type: str
    source: str | tuple[str, ...]  # as stored: a string or the list of lines
    span: tuple[int, int] | None  # where the `source` value is in the raw text

    @property
    def text(self) -> str:
        return self.source if isinstance(self.source, str) else "".join(self.source)


class Notebook:
    """A parsed notebook that remembers its exact text, to write fixes back byte-exact."""

    def __init__(self, raw: str, bom: bool, cells: list[_Cell], language: str | None) -> None:
        self.raw = raw
        self.bom = bom
        self.cells = cells
        self.language = language

    @classmethod
    def parse(cls, data: bytes | str) -> Notebook:
        if isinstance(data, bytes):
            try:
                raw = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise NotebookError(f"not a Jupyter notebook: cannot decode as UTF-8: {exc}") from None
        else:
            raw = data
        bom = raw.startswith(_BOM)
        if bom:
            raw = raw[1:]
        try:
            return cls._parse(raw, bom)
        except NotebookError:
            raise
        except (ValueError, RecursionError, IndexError) as exc:
            raise NotebookError(f"not a Jupyter notebook: invalid JSON: {exc}") from None

    @classmethod
    def _parse(cls, raw: str, bom: bool) -> Notebook:
        start = _ws(raw, 0)
        if start >= len(raw) or raw[start] != "{":
            # the whole text must be JSON; say so the way the JSON parser would
            json.loads(raw)
            raise NotebookError("not a Jupyter notebook: the file is JSON but not an object with `cells`")
        cells_span = None
        metadata = None
        last = start + 1
        for key, value_start, value_end in _members(raw, start):
            if key == "cells":
                cells_span = value_start
            elif key == "metadata":
                metadata = json.loads(raw[value_start:value_end])
            last = value_end
        end = _ws(raw, _ws(raw, last) + 1)  # after the closing brace, only whitespace
        if end != len(raw):
            raise NotebookError(f"not a Jupyter notebook: invalid JSON: extra data at offset {end}")
        if cells_span is None or raw[cells_span] != "[":
            raise NotebookError("not a Jupyter notebook: no `cells` list (nbformat 4 is required)")
        cells = []
        for number, (item_start, _item_end) in enumerate(_items(raw, cells_span), start=1):
            if raw[item_start] != "{":
                raise NotebookError(f"not a Jupyter notebook: cell {number} is not an object")
            cell_type, source, span = "", None, None
            for key, value_start, value_end in _members(raw, item_start):
                if key == "cell_type":
                    cell_type = json.loads(raw[value_start:value_end])
                elif key == "source":
                    source, span = json.loads(raw[value_start:value_end]), (value_start, value_end)
            if source is None:
                source = ""
            if isinstance(source, list) and all(isinstance(line, str) for line in source):
                source = tuple(source)
            elif not isinstance(source, str):
                raise NotebookError(f"not a Jupyter notebook: the `source` of cell {number} is not text")
            cells.append(_Cell(number, cell_type if isinstance(cell_type, str) else "", source, span))
        language = None
        if isinstance(metadata, dict):
            for holder, key in (("language_info", "name"), ("kernelspec", "language")):
                value = metadata.get(holder)
                if isinstance(value, dict) and isinstance(value.get(key), str):
                    language = value[key]
                    break
        return cls(raw, bom, cells, language)

    @property
    def is_python(self) -> bool:
        return self.language is None or self.language.lower() in ("python", "python3", "ipython", "ipython3")

    def code_cells(self) -> list[tuple[int, str]]:
        return [(c.number, c.text) for c in self.cells if c.cell_type == "code"]

    def cell_text(self, number: int) -> str | None:
        if 1 <= number <= len(self.cells):
            return self.cells[number - 1].text
        return None

    def with_sources(self, sources: dict[int, str]) -> bytes:
        """The notebook with these cells' sources replaced, everything else byte for byte
        as read. Raises NotebookError if the result would not read back as intended."""
        ascii_only = self.raw.isascii() and "\\u" in self.raw
        pieces, at = [], 0
        for cell in self.cells:
            new = sources.get(cell.number)
            if new is None or new == cell.text:
                continue
            if cell.span is None:
                raise NotebookError(f"cell {cell.number} has no `source` to rewrite")
            start, end = cell.span
            pieces += [self.raw[at:start], _encode_source(self.raw[start:end], cell.source, new, ascii_only)]
            at = end
        text = "".join(pieces) + self.raw[at:]
        check = Notebook.parse(text)
        expected = [sources.get(c.number, c.text) for c in self.cells]
        if [c.text for c in check.cells] != expected:
            raise NotebookError("rewriting the notebook did not give back the fixed cells; it was not written")
        return ((_BOM if self.bom else "") + text).encode("utf-8")


_LINES = re.compile(r"[^\n]*\n|[^\n]+")


def _encode_source(raw_value: str, old: str | tuple[str, ...], new: str, ascii_only: bool) -> str:
    """The JSON text of a cell's new `source`, in the old value's shape and layout."""
    if isinstance(old, str):
        return json.dumps(new, ensure_ascii=ascii_only)
    tokens, lead, seps, trail = _list_layout(raw_value)
    # untouched whole lines at both ends keep their exact JSON text
    k, prefix = 0, ""
    while k < len(old) and old[k].endswith("\n") and new.startswith(prefix + old[k]):
        prefix += old[k]
        k += 1
    m, suffix = 0, ""
    while m < len(old) - k:
        candidate = old[len(old) - 1 - m] + suffix
        before = len(new) - len(candidate)  # where the candidate would start in `new`
        if before < len(prefix) or not new.endswith(candidate) or (before > 0 and new[before - 1] != "\n"):
            break
        suffix, m = candidate, m + 1
    middle = new[len(prefix) : len(new) - len(suffix)]
    lines = _LINES.findall(middle)  # split after each "\n", as Jupyter writes `source`
    items = tokens[:k] + [json.dumps(line, ensure_ascii=ascii_only) for line in lines]
    items += tokens[len(tokens) - m :] if m else []
    if not items:
        return "[]"
    if seps:
        sep = seps[0]
    elif "\n" in lead or "\r" in lead:
        sep = "," + lead
    else:
        sep = ", "
    return "[" + lead + sep.join(items) + trail + "]"


def _list_layout(raw_value: str) -> tuple[list[str], str, list[str], str]:
    """A JSON list of strings as written: element texts, the space after `[`, the
    separators (comma and space) between elements, the space before `]`."""
    i = _ws(raw_value, 1)
    lead = raw_value[1:i]
    tokens: list[str] = []
    seps: list[str] = []
    if raw_value[i] == "]":
        return tokens, lead, seps, ""
    while True:
        _, end = scanstring(raw_value, i + 1)
        tokens.append(raw_value[i:end])
        j = _ws(raw_value, end)
        if raw_value[j] == ",":
            k = _ws(raw_value, j + 1)
            seps.append(raw_value[end:k])
            i = k
            continue
        return tokens, lead, seps, raw_value[end:j]


# ----------------------------------------------------------------- IPython syntax

_CELL_MAGIC = re.compile(r"\s*%%(\w*)")
_PYTHON_CELL_MAGICS = frozenset({"capture", "debug", "prun", "pypy", "python", "python3", "time", "timeit"})
# never valid Python where a statement starts
_LINE_MAGIC = re.compile(r"[ \t]*(?:%|!|\?)")
_ASSIGN_MAGIC = re.compile(r"[ \t]*[\w.\[\]\(\), \t*]+?[ \t]*=[ \t]*[%!]")
_HELP_SUFFIX = re.compile(r"[ \t]*[\w.*\[\]\(\)]+\?{1,2}[ \t]*$")  # `obj?`, `torch.*Tensor?` (search)
_INDENT = re.compile(r"[ \t]*")


def _magic_rows(lines: list[str]) -> set[int]:
    """0-based rows holding IPython syntax where a Python statement would start."""
    candidates: set[int] = set()
    row = 0
    while row < len(lines):
        line = lines[row]
        if _LINE_MAGIC.match(line) or _ASSIGN_MAGIC.match(line) or _HELP_SUFFIX.match(line):
            candidates.add(row)
            while line.rstrip().endswith("\\") and row + 1 < len(lines):  # the magic goes on
                row += 1
                line = lines[row]
                candidates.add(row)
        row += 1
    if not candidates:
        return candidates
    blanked = "\n".join(_placeholder(line) if r in candidates else line for r, line in enumerate(lines))
    # blanking can cut a bracket that a look-alike line closes (`    != b)`): then the
    # original text tells where statements start
    starts = _statement_rows(blanked)
    if starts is None:
        starts = _statement_rows("\n".join(lines))
    if starts is None:
        return candidates
    # a candidate's first line must start a statement (not be inside a string or brackets)
    kept: set[int] = set()
    for r in sorted(candidates):
        if r in starts or (r - 1 in kept and lines[r - 1].rstrip().endswith("\\")):
            kept.add(r)
    return kept


def _placeholder(line: str) -> str:
    return _INDENT.match(line).group() + "pass"


def _statement_rows(text: str) -> set[int] | None:
    """0-based rows on which a logical line starts, or None if the text cannot be tokenized."""
    starts: set[int] = set()
    at_start = True
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            kind = token.type
            if kind == tokenize.NEWLINE:
                at_start = True
            elif kind in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
                continue
            elif at_start:
                starts.add(token.start[0] - 1)
                at_start = False
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    return starts


class CellPython(NamedTuple):
    text: str  # the cell as Python, row for row
    blanked: frozenset[int]  # 1-based rows replaced by a placeholder
    dedent: int = 0  # IPython removes the first line's indentation from every line...
    dedented: frozenset[int] = frozenset()  # ...that starts with it: these rows (1-based)


def python_text(cell: str) -> CellPython | None:
    """The cell as Python, row for row, or None for a cell that is not Python (a cell
    magic such as `%%bash`). As IPython does, a cell whose first line is indented loses
    that indentation on every line that has it."""
    lines = split_lines(cell)
    first_row = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first_row is None:
        return CellPython(cell, frozenset())
    indent = _INDENT.match(lines[first_row]).group()
    dedented: set[int] = set()
    if indent:
        for i in range(first_row, len(lines)):
            if lines[i].startswith(indent):
                lines[i] = lines[i][len(indent):]
                dedented.add(i)
    blanked: set[int] = set()
    magic = _CELL_MAGIC.match(lines[first_row])
    if magic:
        if magic.group(1) not in _PYTHON_CELL_MAGICS:
            return None
        lines[first_row] = ""
        blanked.add(first_row)
    rows = _magic_rows(lines)
    original = list(lines)
    for row in sorted(rows):
        continued = row - 1 in rows and original[row - 1].rstrip().endswith("\\")
        lines[row] = "" if continued else _placeholder(original[row])
    blanked |= rows
    if not blanked and not dedented:
        return CellPython(cell, frozenset())
    breaks = re.findall(r"\r\n|\r|\n", cell)
    text = "".join(line + (breaks[i] if i < len(breaks) else "") for i, line in enumerate(lines))
    return CellPython(text, frozenset(r + 1 for r in blanked), len(indent), frozenset(r + 1 for r in dedented))


# ------------------------------------------------------------------ the program


@dataclass(frozen=True)
class _Span:
    cell: int  # the cell's number
    first_row: int  # the program row of the cell's first line
    rows: int  # how many lines the cell has
    blanked: frozenset[int]  # cell rows (1-based) replaced by placeholders
    dedent: int = 0  # columns removed from the start of the `dedented` rows
    dedented: frozenset[int] = frozenset()


@dataclass
class LineMap:
    """Program rows back to (cell, row in cell)."""

    spans: list[_Span] = field(default_factory=list)

    def locate(self, row: int) -> tuple[int, int] | None:
        span = self._span(row)
        return None if span is None else (span.cell, row - span.first_row + 1)

    def _span(self, row: int) -> _Span | None:
        at = bisect.bisect_right([s.first_row for s in self.spans], row) - 1
        if at < 0:
            return None
        found = self.spans[at]
        # the row after a cell's last line is still that cell's (the end of the program)
        return found if row <= found.first_row + found.rows else None

    def map_diagnostic(self, d: Diagnostic) -> Diagnostic:
        span = self._span(d.location.row)
        if span is None:
            if not self.spans:
                return d
            span = self.spans[-1]
            return dataclasses.replace(d, cell=span.cell, location=Location(max(span.rows, 1), 1),
                                       end_location=Location(max(span.rows, 1), 1), fix=None, noqa_row=None)
        def local(loc: Location) -> Location:
            row = min(loc.row - span.first_row + 1, max(span.rows, 1))
            return Location(row, loc.column + (span.dedent if row in span.dedented else 0))

        start = local(d.location)
        end_span = self._span(d.end_location.row)
        end = local(d.end_location) if end_span is span and d.end_location.row <= span.first_row + span.rows - 1 \
            else start
        noqa = d.noqa_row - span.first_row + 1 if d.noqa_row and self._span(d.noqa_row) is span else None
        return dataclasses.replace(d, cell=span.cell, location=start, end_location=end,
                                   fix=self._map_fix(d.fix, span), noqa_row=noqa)

    def _map_fix(self, fix: Fix | None, span: _Span) -> Fix | None:
        if fix is None:
            return None
        last = span.first_row + span.rows - 1
        edits = []
        for edit in fix.edits:
            if not (span.first_row <= edit.location.row and edit.end_location.row <= last):
                return None  # spans cells, or reaches the separator added after the cell
            rows = range(edit.location.row - span.first_row + 1, edit.end_location.row - span.first_row + 2)
            if any(r in span.blanked for r in rows):
                return None  # would rewrite a magic's placeholder
            shift = 0
            if span.dedent:
                if len(rows) > 1 or "\n" in edit.content or "\r" in edit.content:
                    return None  # its lines would need the cell's indentation back
                shift = span.dedent if rows[0] in span.dedented else 0
            edits.append(Edit(edit.content, Location(rows[0], edit.location.column + shift),
                              Location(rows[-1], edit.end_location.column + shift)))
        return Fix(fix.applicability, fix.message, tuple(edits))


CellsArg = Sequence[str] | Sequence[tuple[int, str]]


def _numbered(cells: CellsArg) -> list[tuple[int, str]]:
    return [(i, c) if isinstance(c, str) else (c[0], c[1]) for i, c in enumerate(cells, start=1)]


def _line_count(text: str) -> int:
    lines = split_lines(text)
    return len(lines) - 1 if lines[-1] == "" else len(lines)


def cells_to_source(cells: CellsArg) -> tuple[str, LineMap]:
    """The program text of the cells in order (each ending with a line break) and the
    map back. Cells that are not Python (`%%bash`) and empty cells are left out."""
    pieces: list[str] = []
    line_map = LineMap()
    row = 1
    for number, text in _numbered(cells):
        if not text.strip():
            continue
        converted = python_text(text)
        if converted is None:
            continue
        python, blanked = converted.text, converted.blanked
        if pieces and "__future__" in python:
            # each cell is compiled on its own: a future import is legal at the top of any
            # cell, but not in the middle of the joined program
            python, blanked = _blank_future_imports(python, blanked)
        if not python.endswith(("\n", "\r")):
            python += "\n"
        rows = _line_count(text)
        line_map.spans.append(_Span(number, row, rows, blanked, converted.dedent, converted.dedented))
        pieces.append(python)
        row += rows
    return "".join(pieces), line_map


_FUTURE_IMPORT = re.compile(r"from[ \t]+__future__[ \t]+import[ \t]+[\w, \t]+(?:#.*)?$")


def _blank_future_imports(python: str, blanked: frozenset[int]) -> tuple[str, frozenset[int]]:
    lines = split_lines(python)
    rows = {i for i, line in enumerate(lines) if _FUTURE_IMPORT.match(line)}
    if not rows:
        return python, blanked
    breaks = re.findall(r"\r\n|\r|\n", python)
    text = "".join(("pass" if i in rows else line) + (breaks[i] if i < len(breaks) else "")
                   for i, line in enumerate(lines))
    return text, blanked | {i + 1 for i in rows}


@dataclass
class _Program:
    source: str
    line_map: LineMap
    errors: list[Diagnostic]  # TL000 per cell left out (already cell-relative)
    cells: dict[int, str] = field(default_factory=dict)  # the cells' texts, by number


def _program(cells: list[tuple[int, str]], path: str) -> _Program:
    from tensorlint.engine import python_rejects

    source, line_map = cells_to_source(cells)
    if python_rejects(source, path) is None:
        return _Program(source, line_map, [], dict(cells))
    errors = []
    good = []
    for number, text in cells:
        one, one_map = cells_to_source([(number, text)])
        rejected = python_rejects(one, path) if one else None
        if rejected is None:
            good.append((number, text))
        elif not _compiles_with_top_level_await(one):
            errors += Suppressions(text).filter([one_map.map_diagnostic(rejected)])
    source, line_map = cells_to_source(good)
    return _Program(source, line_map, errors, dict(cells))


def _compiles_with_top_level_await(text: str) -> bool:
    import ast

    try:
        compile(text, "<cell>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT | ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


# Rules about a result that is thrown away: a cell's last expression is not thrown away,
# Jupyter displays it (unless a `;` ends it).
_DISPLAYED_RESULT_RULES = frozenset({"tensor-result-discarded"})


def _displayed(program: _Program, d: Diagnostic) -> bool:
    """Whether the finding is on its cell's last statement, an expression whose value
    Jupyter shows."""
    import ast

    text = program.cells.get(d.cell)
    converted = python_text(text) if text is not None else None
    if converted is None:
        return False
    try:
        body = ast.parse(converted.text).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    if not body or not isinstance(body[-1], ast.Expr):
        return False
    last = body[-1]
    lines = split_lines(converted.text)
    if lines[last.end_lineno - 1][last.end_col_offset:].lstrip().startswith(";"):
        return False  # `x.view(2, 3);` shows nothing
    shift = converted.dedent if last.lineno in converted.dedented else 0
    return (d.location.row, d.location.column) == (last.lineno, last.col_offset + 1 + shift)


def _lint_program(program: _Program, path: str, settings: LintSettings, view) -> list[Diagnostic]:
    from tensorlint.engine import lint_source

    found = lint_source(program.source, path, settings, view(program.source) if view else None) \
        if program.source else []
    mapped = [program.line_map.map_diagnostic(d) for d in found]
    if any(d.name in _DISPLAYED_RESULT_RULES for d in mapped):
        mapped = [d for d in mapped if not (d.name in _DISPLAYED_RESULT_RULES and _displayed(program, d))]
    if SYNTAX_ERROR_CODE in settings.enabled:
        mapped += program.errors
    return sorted(mapped, key=Diagnostic.sort_key)


def lint_cells(cells: CellsArg, path: str, settings: LintSettings, view: Callable | None = None) -> list[Diagnostic]:
    """Findings on the code cells (`cell` set; rows and columns relative to the cell)."""
    numbered = _numbered(cells)
    return _lint_program(_program(numbered, path), path, settings, view)


def lint_notebook(data: bytes | str, path: str, settings: LintSettings, view: Callable | None = None) -> list[Diagnostic]:
    """Findings on a notebook file's content; a file that is not a notebook is one TL000."""
    try:
        notebook = Notebook.parse(data)
    except NotebookError as exc:
        return [syntax_error(str(exc))] if SYNTAX_ERROR_CODE in settings.enabled else []
    if not notebook.is_python:
        return []
    return lint_cells(notebook.code_cells(), path, settings, view)


# ---------------------------------------------------------------------- fixing


@dataclass
class NotebookFix:
    changed: dict[int, str]  # cell number -> fixed text, only for cells that changed
    applied: int
    diagnostics: list[Diagnostic]  # what remains
    error: str | None = None
    initial: list[Diagnostic] = field(default_factory=list)


def _apply_round(texts: dict[int, str], diagnostics: Iterable[Diagnostic], unsafe: bool) -> tuple[dict[int, str], int]:
    from tensorlint.fixer import apply_edits

    by_cell: dict[int, list[Diagnostic]] = {}
    for d in diagnostics:
        if d.cell is not None and d.cell in texts and applicable(d, unsafe):
            by_cell.setdefault(d.cell, []).append(d)
    new = dict(texts)
    count = 0
    for cell, group in by_cell.items():
        new[cell], n = apply_edits(texts[cell], group, unsafe)
        count += n
    return new, count


def _cell_problem(old: dict[int, str], new: dict[int, str], path: str) -> str | None:
    from tensorlint.fixer import parses

    for number, text in new.items():
        if text != old.get(number):
            converted = cells_to_source([(number, text)])[0]
            problem = parses(converted, path)
            if problem is not None:
                return f"cell {number}: {problem}"
    return None


def fix_cells(cells: CellsArg, path: str, settings: LintSettings, unsafe: bool, view: Callable | None = None,
              diagnostics: list[Diagnostic] | None = None) -> NotebookFix:
    numbered = _numbered(cells)
    original = dict(numbered)
    texts = dict(numbered)
    order = [n for n, _ in numbered]

    def lint() -> list[Diagnostic]:
        return lint_cells([(n, texts[n]) for n in order], path, settings, view)

    if diagnostics is None:
        diagnostics = lint()
    initial = diagnostics
    applied = 0
    error = None
    for _ in range(MAX_ROUNDS):
        candidate, count = _apply_round(texts, diagnostics, unsafe)
        if count == 0:
            break
        problem = _cell_problem(texts, candidate, path)
        if problem is not None:
            error = f"a fix produced invalid code ({problem}); that fix was not applied"
            candidate, count = _valid_subset(texts, diagnostics, unsafe, path)
            if count == 0:
                break
        texts, applied = candidate, applied + count
        diagnostics = lint()
    changed = {n: t for n, t in texts.items() if t != original[n]}
    return NotebookFix(changed, min(applied, len(initial)), diagnostics, error, initial)


def _valid_subset(texts: dict[int, str], diagnostics: list[Diagnostic], unsafe: bool, path: str):
    accepted: list[Diagnostic] = []
    candidates = [d for d in sorted(diagnostics, key=Diagnostic.sort_key) if applicable(d, unsafe)]
    for diagnostic in candidates[:64]:
        trial, count = _apply_round(texts, accepted + [diagnostic], unsafe)
        if count == len(accepted) + 1 and _cell_problem(texts, trial, path) is None:
            accepted.append(diagnostic)
    if not accepted:
        return texts, 0
    return _apply_round(texts, accepted, unsafe)


def apply_fixes_to_notebook(data: bytes | str, diagnostics: Iterable[Diagnostic], unsafe: bool = False) -> tuple[bytes, int]:
    """One round of these findings' fixes (from `lint_cells`/`lint_notebook`, rows
    relative to their cells) written into the notebook; the bytes are unchanged when no
    fix applies. Does not check that the fixed cells still parse (the caller re-lints)."""
    notebook = Notebook.parse(data)
    texts = dict(notebook.code_cells())
    new, count = _apply_round(texts, diagnostics, unsafe)
    changed = {n: t for n, t in new.items() if t != texts[n]}
    if not changed:
        original = data if isinstance(data, bytes) else data.encode("utf-8")
        return original, 0
    return notebook.with_sources(changed), count


def cell_diff(path: str, old: dict[int, str], new: dict[int, str]) -> str:
    """A unified diff per changed cell, headed `path:cell N` as ruff does."""
    import difflib

    out = []
    for number in sorted(new):
        for line in difflib.unified_diff(
            old.get(number, "").splitlines(keepends=True),
            new[number].splitlines(keepends=True),
            fromfile=f"{path}:cell {number}",
            tofile=f"{path}:cell {number}",
        ):
            # a cell's last line has no line break: mark it as diff does
            out.append(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of cell\n")
    return "".join(out)


def cell_lines(path: str, cell: int, text: str | None = None) -> list[str]:
    """The lines of one cell of the notebook at `path` (or in `text`); [] if unreadable."""
    try:
        if text is None:
            with open(path, "rb") as handle:
                text = handle.read()
        found = Notebook.parse(text).cell_text(cell)
    except (OSError, NotebookError):
        return []
    return split_lines(found) if found is not None else []


# ------------------------------------------------------------ the runner's part


def check_job(job, result, index, write_back):
    """`runner.check_one` for a notebook: fills and returns `result` (a FileResult)."""
    from pathlib import Path

    from tensorlint.semantics.project import ProjectView

    settings = job.settings
    try:
        notebook = Notebook.parse(job.data)
    except NotebookError as exc:
        if SYNTAX_ERROR_CODE in settings.enabled:
            result.diagnostics = [syntax_error(str(exc))]
        return result
    result.encoding = "utf-8"
    if not notebook.is_python:
        return result
    views: list = []

    def view(current: str):
        views.append(ProjectView(index, job.path, current))
        return views[-1]

    cells = notebook.code_cells()
    try:
        if job.mode == "check":
            result.diagnostics = lint_cells(cells, job.path, settings, view)
            if job.keep_text:
                result.text = job.data.decode("utf-8")
            return result
        outcome = fix_cells(cells, job.path, settings, job.unsafe, view)
    finally:
        deps = set().union(*(v.deps for v in views)) if views else set()
        result.deps = index.digest(sorted(deps))
        result.facts, index.new_facts = index.new_facts, {}
    result.diagnostics, result.fixed, result.fix_error = outcome.diagnostics, outcome.applied, outcome.error
    if outcome.applied and outcome.changed:
        try:
            data = notebook.with_sources(outcome.changed)
        except NotebookError as exc:
            result.fixed, result.fix_error, result.diagnostics = 0, str(exc), outcome.initial
            return result
        if job.mode == "diff":
            result.diff = cell_diff(job.path, dict(cells), outcome.changed)
        elif job.write and job.path != "-":
            problem = write_back(Path(job.path), job.data, data)
            if problem is not None:
                result.write_error = problem
                result.fixed, result.diff, result.fix_error = 0, None, None
                result.diagnostics = outcome.initial
                return result
        if job.keep_text:
            result.text = data.decode("utf-8")
    elif job.keep_text:
        result.text = job.data.decode("utf-8", errors="replace")
    return result
