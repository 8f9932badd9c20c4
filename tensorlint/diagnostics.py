"""The data a lint run produces: findings, their fixes and the text edits behind them.

Everything here is plain data so it can cross process boundaries and live in the cache.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Applicability(str, enum.Enum):
    """How much a fix can be trusted, in ruff's terms."""

    SAFE = "safe"  # keeps the program's meaning; applied by --fix
    UNSAFE = "unsafe"  # may change behaviour; needs --unsafe-fixes
    DISPLAY = "display-only"  # shown as a hint, never applied


@dataclass(frozen=True, order=True)
class Location:
    """1-based row and column, as ruff reports them."""

    row: int
    column: int


@dataclass(frozen=True)
class Edit:
    content: str
    location: Location
    end_location: Location

    def to_dict(self) -> dict:
        return {
            "content": self.content,
            "location": {"row": self.location.row, "column": self.location.column},
            "end_location": {"row": self.end_location.row, "column": self.end_location.column},
        }

    @classmethod
    def from_dict(cls, d: dict) -> Edit:
        return cls(d["content"], Location(**d["location"]), Location(**d["end_location"]))


@dataclass(frozen=True)
class Fix:
    applicability: Applicability
    message: str
    edits: tuple[Edit, ...]

    def to_dict(self) -> dict:
        return {
            "applicability": self.applicability.value,
            "message": self.message,
            "edits": [e.to_dict() for e in self.edits],
        }

    @classmethod
    def from_dict(cls, d: dict | None) -> Fix | None:
        if d is None:
            return None
        return cls(
            Applicability(d["applicability"]),
            d["message"],
            tuple(Edit.from_dict(e) for e in d["edits"]),
        )


@dataclass(frozen=True)
class Diagnostic:
    code: str
    name: str
    message: str
    severity: Severity
    location: Location
    end_location: Location
    fix: Fix | None = None
    noqa_row: int | None = None
    filename: str = field(default="", compare=False)
    # 1-based index of the notebook cell (in the notebook's `cells` list) that rows and
    # columns are relative to; None for a Python file
    cell: int | None = None

    def sort_key(self) -> tuple:
        return (self.filename, self.cell or 0, self.location.row, self.location.column, self.code)

    def position(self) -> str:
        """`row:column`, or `cell N:row:column` in a notebook, as ruff prints them."""
        where = f"{self.location.row}:{self.location.column}"
        return where if self.cell is None else f"cell {self.cell}:{where}"

    def to_dict(self) -> dict:
        """Cache form; the filename is added back by the runner."""
        return {
            "code": self.code,
            "name": self.name,
            "message": self.message,
            "severity": self.severity.value,
            "location": [self.location.row, self.location.column],
            "end_location": [self.end_location.row, self.end_location.column],
            "fix": self.fix.to_dict() if self.fix else None,
            "noqa_row": self.noqa_row,
            "cell": self.cell,
        }

    @classmethod
    def from_dict(cls, d: dict, filename: str = "") -> Diagnostic:
        return cls(
            code=d["code"],
            name=d["name"],
            message=d["message"],
            severity=Severity(d["severity"]),
            location=Location(*d["location"]),
            end_location=Location(*d["end_location"]),
            fix=Fix.from_dict(d["fix"]),
            noqa_row=d["noqa_row"],
            filename=filename,
            cell=d.get("cell"),
        )


SYNTAX_ERROR_CODE = "TL000"
SYNTAX_ERROR_NAME = "syntax-error"


def syntax_error(message: str, row: int = 1, column: int = 1) -> Diagnostic:
    return Diagnostic(
        code=SYNTAX_ERROR_CODE,
        name=SYNTAX_ERROR_NAME,
        message=message,
        severity=Severity.ERROR,
        location=Location(row, column),
        end_location=Location(row, column),
    )


def applicable(diagnostic: Diagnostic, unsafe: bool) -> bool:
    """Whether `--fix` (with `--unsafe-fixes` when `unsafe`) applies this finding's fix."""
    fix = diagnostic.fix
    if fix is None or not fix.edits:
        return False
    return fix.applicability is Applicability.SAFE or (unsafe and fix.applicability is Applicability.UNSAFE)
