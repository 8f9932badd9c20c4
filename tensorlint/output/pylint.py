"""pylint's parseable form, as ruff writes it: `path:row: [CODE] message`."""

from tensorlint.output import display_path, printable


def render(diagnostics, **_) -> str:
    return "".join(f"{display_path(d.filename)}:{_row(d)}: [{d.code}] {printable(d.message)}\n" for d in diagnostics)


def _row(d) -> str:
    """The row, after `cell N:` in a notebook."""
    return f"{d.location.row}" if d.cell is None else f"cell {d.cell}:{d.location.row}"
