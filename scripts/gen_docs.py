"""Regenerate the README rule table and docs/rules.md from the rule registry."""

from pathlib import Path

from tensorlint.docs import README_END, README_START, rules_markdown_table, rules_reference

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_START}\n{rules_markdown_table()}{README_END}{tail}", encoding="utf-8")
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / "rules.md").write_text(rules_reference(), encoding="utf-8")
    print("updated README.md and docs/rules.md")


if __name__ == "__main__":
    main()
