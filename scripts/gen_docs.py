"""Regenerate the README rule table, docs/rules.md and the rule catalog from the rule registry."""

from pathlib import Path

from tensorlint.catalog import CATALOG_FILE, catalog_text
from tensorlint.docs import README_END, README_START, rules_markdown_table, rules_reference
from tensorlint.rules import all_rules

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{rules_markdown_table()}{README_END}{tail}", encoding="utf-8")
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / "rules.md").write_text(rules_reference(), encoding="utf-8")
    (ROOT / "tensorlint" / "data" / CATALOG_FILE).write_text(catalog_text(all_rules()), encoding="utf-8")
    print(f"updated README.md, docs/rules.md and tensorlint/data/{CATALOG_FILE}")


if __name__ == "__main__":
    main()
