"""Docs generated from the registry stay in sync, and every rule has a full doc."""

from __future__ import annotations

import re

import pytest

from lintutil import REPO, run_cli
from tensorlint.docs import README_END, README_START, rule_text, rules_markdown_table, rules_reference
from tensorlint.rules import all_rules
from tensorlint.rules.base import DOC_SECTIONS


def test_readme_rule_table_matches_the_registry():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert README_START in readme and README_END in readme
    table = readme.split(README_START, 1)[1].split(README_END, 1)[0].strip()
    assert table == rules_markdown_table().strip(), "run `python scripts/gen_docs.py`"


def test_docs_rules_md_matches_the_registry():
    assert (REPO / "docs" / "rules.md").read_text(encoding="utf-8") == rules_reference(), "run `python scripts/gen_docs.py`"


def test_rule_catalog_matches_the_registry():
    # the command line resolves selectors and config from this file without importing the rules
    from tensorlint.catalog import CATALOG_FILE, all_rules as catalog, catalog_text

    path = REPO / "tensorlint" / "data" / CATALOG_FILE
    assert path.read_text(encoding="utf-8") == catalog_text(all_rules()), "run `python scripts/gen_docs.py`"
    assert [(r.code, r.name, r.default_enabled) for r in catalog()] == [
        (r.code, r.name, r.default_enabled) for r in all_rules()
    ]


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.code)
def test_every_rule_has_metadata_and_a_ruff_style_doc(rule):
    assert re.fullmatch(r"TL\d{3}", rule.code)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
    assert rule.summary and "\n" not in rule.summary
    doc = rule.doc()
    positions = [doc.find(f"## {section}") for section in DOC_SECTIONS]
    if rule.code == "TL000":
        positions = positions  # the syntax-error pseudo-rule documents the same sections
    assert all(p >= 0 for p in positions), f"{rule.code} doc lacks a section: {positions}"
    assert positions == sorted(positions), f"{rule.code} doc sections out of order"
    if rule.options:
        assert "## Options" in doc


def test_codes_and_names_are_unique():
    rules = all_rules()
    assert len({r.code for r in rules}) == len(rules)
    assert len({r.name for r in rules}) == len(rules)


def test_cli_rule_doc_is_the_same_doc():
    for rule in all_rules():
        assert run_cli("rule", rule.name, check_rc=0).stdout == rule_text(rule) + "\n"
        break  # one subprocess is enough; the same function renders all
