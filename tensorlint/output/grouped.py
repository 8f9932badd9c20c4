"""ruff's `grouped`: the findings under each file's name, positions aligned, a blank line after each file."""

from itertools import groupby

from tensorlint.output import display_path, printable, fix_status


def render(diagnostics, unsafe: bool = False, **_) -> str:
    out = []
    for filename, group in groupby(diagnostics, key=lambda d: d.filename):
        group = list(group)
        rows = max(len(str(d.location.row)) for d in group)
        cols = max(len(str(d.location.column)) for d in group)
        out.append(f"{display_path(filename)}:\n")
        for d in group:
            row, col = str(d.location.row), str(d.location.column)
            cell = getattr(d, "cell", None)
            where = f"cell {cell}:" if cell is not None else ""
            out.append(
                f"  {' ' * (rows - len(row))}{where}{row}:{col}{' ' * (cols - len(col))} {d.code} {fix_status(d, unsafe)}{printable(d.message)}\n"
            )
        out.append("\n")
    return "".join(out)
