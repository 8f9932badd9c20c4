"""The machine-readable output formats, each checked against what its consumer reads:
JSON Schemas for rdjson (reviewdog's own DiagnosticResult schema) and GitLab Code
Quality (written from GitLab's documented fields; GitLab publishes no schema file),
JUnit XML's element and attribute shape, pylint's and ruff's grouped line formats."""

from __future__ import annotations

import dataclasses
import json
import re
import textwrap
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from tensorlint.cli import main
from tensorlint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location, Severity
from tensorlint.output import FORMATS, module_name, printable

BUG = textwrap.dedent(
    """\
    import torch

    def copy(x: torch.Tensor):
        a = torch.tensor(x)
        b = torch.dropout(x, p=0.5, training=True)
        return a, b
    """
)
OTHER = "import torch\n\ny = torch.tensor(torch.zeros(2))\n"

# reviewdog's proto/rdf/jsonschema/DiagnosticResult.json (draft-04), descriptions left out
RDJSON_SCHEMA = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "$ref": "#/definitions/DiagnosticResult",
    "definitions": {
        "Severity": {"enum": ["UNKNOWN_SEVERITY", 0, "ERROR", 1, "WARNING", 2, "INFO", 3],
                     "oneOf": [{"type": "string"}, {"type": "integer"}]},
        "DiagnosticResult": {
            "type": "object",
            "properties": {
                "diagnostics": {"type": "array", "items": {"$ref": "#/definitions/Diagnostic"}},
                "source": {"$ref": "#/definitions/Source"},
                "severity": {"$ref": "#/definitions/Severity"},
            },
        },
        "Code": {"type": "object", "properties": {"value": {"type": "string"}, "url": {"type": "string"}}},
        "Diagnostic": {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "location": {"$ref": "#/definitions/Location"},
                "severity": {"$ref": "#/definitions/Severity"},
                "source": {"$ref": "#/definitions/Source"},
                "code": {"$ref": "#/definitions/Code"},
                "suggestions": {"type": "array", "items": {"$ref": "#/definitions/Suggestion"}},
                "original_output": {"type": "string"},
            },
        },
        "Location": {"type": "object",
                     "properties": {"path": {"type": "string"}, "range": {"$ref": "#/definitions/Range"}}},
        "Position": {"type": "object",
                     "properties": {"line": {"type": "integer"}, "column": {"type": "integer"}}},
        "Range": {"type": "object", "properties": {"start": {"$ref": "#/definitions/Position"},
                                                   "end": {"$ref": "#/definitions/Position"}}},
        "Source": {"type": "object", "properties": {"name": {"type": "string"}, "url": {"type": "string"}}},
        "Suggestion": {"type": "object", "properties": {"range": {"$ref": "#/definitions/Range"},
                                                        "text": {"type": "string"}}},
    },
}
# What reviewdog needs to place a comment: every diagnostic with a message and a path;
# the official schema makes every field optional, so this is checked on top of it.
RDJSON_REQUIRED = {
    "type": "object",
    "required": ["source", "diagnostics"],
    "properties": {"diagnostics": {"type": "array", "items": {
        "type": "object", "required": ["message", "location", "severity", "code"],
        "properties": {"location": {"type": "object", "required": ["path", "range"],
                                    "properties": {"range": {"required": ["start", "end"]}}}},
    }}},
}

# GitLab Code Quality: docs.gitlab.com/ee/ci/testing/code_quality.html "Code Quality report
# format" lists these fields as required; `severity` takes one of five words.
GITLAB_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string", "not": {"pattern": "^/"}},
                    "lines": {"type": "object", "required": ["begin"],
                              "properties": {"begin": {"type": "integer", "minimum": 1}}},
                },
            },
        },
    },
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "bug.py").write_text(BUG)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "other.py").write_text(OTHER)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TENSORLINT_OUTPUT_FORMAT", raising=False)
    monkeypatch.delenv("CI_PROJECT_DIR", raising=False)
    return tmp_path


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(["check", "--isolated", "--no-cache", *args])
    out, err = capsys.readouterr()
    return code, out, err


def findings(capsys) -> list[dict]:
    code, out, _ = run(capsys, "--output-format", "json")
    assert code == 1
    return json.loads(out)


def test_json_lines_is_the_json_records_one_per_line(project, capsys):
    records = findings(capsys)
    code, out, _ = run(capsys, "--output-format", "json-lines")
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == len(records) == 3
    assert [json.loads(line) for line in lines] == records


def test_rdjson_validates_against_reviewdogs_schema(project, capsys):
    code, out, _ = run(capsys, "--output-format", "rdjson")
    assert code == 1
    document = json.loads(out)
    jsonschema.validate(document, RDJSON_SCHEMA)
    jsonschema.validate(document, RDJSON_REQUIRED)
    assert document["source"]["name"] == "tensorlint"
    by_code = {d["code"]["value"]: d for d in document["diagnostics"] if d["location"]["path"] == "bug.py"}
    copy = by_code["TL001"]
    assert copy["location"]["path"] in ("bug.py", "pkg/other.py")
    # the fix travels as a suggestion whose text is the replacement
    assert copy["suggestions"] and copy["suggestions"][0]["text"].endswith(".detach().clone()")
    assert copy["location"]["range"]["start"] == {"line": 4, "column": 9}
    assert by_code["TL302"]["suggestions"][0]["text"] == "train=True"  # the keyword renamed
    # a finding without a fix has no suggestions
    from tensorlint.output.rdjson import render

    bare = Diagnostic("TL003", "dropout-invalid-p", "m", Severity.ERROR, Location(1, 1), Location(1, 2), filename="f.py")
    assert "suggestions" not in json.loads(render([bare]))["diagnostics"][0]
    assert {d["severity"] for d in document["diagnostics"]} <= {"ERROR", "WARNING", "INFO"}


def test_rdjson_schema_rejects_a_wrong_document():
    """The embedded schema is not vacuous: a wrong severity or a string line fails."""
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"diagnostics": [{"message": "m", "severity": "FATAL"}]}, RDJSON_SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"diagnostics": [{"location": {"range": {"start": {"line": "4"}}}}]}, RDJSON_SCHEMA)


def test_gitlab_code_quality_validates_and_fingerprints_are_stable(project, capsys):
    code, out, _ = run(capsys, "--output-format", "gitlab")
    assert code == 1
    issues = json.loads(out)
    jsonschema.validate(issues, GITLAB_SCHEMA)
    assert len(issues) == 3
    assert {i["location"]["path"] for i in issues} == {"bug.py", "pkg/other.py"}  # relative, as GitLab needs
    fingerprints = [i["fingerprint"] for i in issues]
    assert len(set(fingerprints)) == 3
    # the same finding moved down a line keeps its fingerprint (GitLab then sees no new issue)
    (project / "bug.py").write_text("\n" + BUG)
    _, moved, _ = run(capsys, "--output-format", "gitlab")
    assert sorted(i["fingerprint"] for i in json.loads(moved)) == sorted(fingerprints)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([dict(issues[0], severity="warning")], GITLAB_SCHEMA)


def test_junit_has_the_junit_xml_shape(project, capsys):
    code, out, _ = run(capsys, "--output-format", "junit")
    assert code == 1
    root = ET.fromstring(out)
    assert root.tag == "testsuites" and root.get("tests") == "3" and root.get("failures") == "3"
    suites = root.findall("testsuite")
    assert {s.get("name") for s in suites} == {"bug.py", "pkg/other.py"}
    for suite in suites:
        cases = suite.findall("testcase")
        assert suite.get("tests") == suite.get("failures") == str(len(cases))
        assert suite.get("errors") == "0"
        for case in cases:
            assert case.get("name", "").startswith("tensorlint.TL") and case.get("classname")
            (failure,) = case.findall("failure")
            assert failure.get("message") and failure.get("type", "").startswith("TL")
    assert {s.get("name"): s.find("testcase").get("classname") for s in suites}["pkg/other.py"] == "pkg.other"


def test_junit_clean_run_is_one_passing_case(project, capsys):
    (project / "bug.py").write_text("import torch\n")
    (project / "pkg" / "other.py").write_text("x = 1\n")
    code, out, _ = run(capsys, "--output-format", "junit")
    assert code == 0
    root = ET.fromstring(out)
    assert root.get("failures") == "0" and not root.findall(".//failure") and root.findall(".//testcase")


def test_pylint_format(project, capsys):
    code, out, _ = run(capsys, "--output-format", "pylint")
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 3
    for line in lines:
        assert re.fullmatch(r"(bug\.py|pkg/other\.py):\d+: \[TL\d{3}\] .+", line), line
    assert "bug.py:4: [TL001] " in out


def test_grouped_format_as_ruff(project, capsys):
    code, out, _ = run(capsys, "--output-format", "grouped")
    assert code == 1
    blocks = out.split("\n\n")
    assert blocks[0].splitlines() == [
        "bug.py:",
        "  4:9 TL001 [*] " + blocks[0].splitlines()[1].split("[*] ", 1)[1],
        "  5:9 TL302 " + blocks[0].splitlines()[2].split("TL302 ", 1)[1],
    ]
    assert blocks[1].splitlines()[0] == "pkg/other.py:"
    assert blocks[1].splitlines()[1].startswith("  3:5 TL001 [*] ")
    assert "Found 3 findings." in out  # the summary follows, as after `full`/`concise`


def test_grouped_aligns_rows_and_columns():
    from tensorlint.output.grouped import render

    def diag(row, col):
        return Diagnostic("TL001", "tensor-copy-construct", "m", Severity.WARNING, Location(row, col),
                          Location(row, col + 1), filename="f.py")

    text = render([diag(9, 5), diag(10, 12)])
    assert text == "f.py:\n   9:5  TL001 m\n  10:12 TL001 m\n\n"


def test_output_format_from_environment_and_flag_wins(project, capsys, monkeypatch):
    monkeypatch.setenv("TENSORLINT_OUTPUT_FORMAT", "pylint")
    code, out, _ = run(capsys)
    assert code == 1 and "bug.py:4: [TL001]" in out
    code, out, _ = run(capsys, "--output-format", "concise")
    assert "bug.py:4:9: TL001" in out
    monkeypatch.setenv("TENSORLINT_OUTPUT_FORMAT", "jsonl")
    code, _, err = run(capsys)
    assert code == 2
    assert "TENSORLINT_OUTPUT_FORMAT" in err and "json" in err and "Traceback" not in err


def test_output_file(project, capsys):
    target = project / "reports" / "lint.json"
    code, out, _ = run(capsys, "--output-format", "json", "--output-file", str(target))
    assert code == 1 and out == ""
    assert len(json.loads(target.read_text())) == 3
    code, out, err = run(capsys, "--output-file", str(project / "bug.py" / "x"))
    assert code == 2 and "cannot write" in err


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_notebook_cells_and_control_characters(fmt):
    """Formatters take findings in notebook cells (`cell`) and never pass raw control
    characters through to a terminal or into XML."""
    from importlib import import_module

    fix = Fix(Applicability.SAFE, "Replace", (Edit("y", Location(2, 1), Location(2, 2)),))
    d = Diagnostic("TL001", "tensor-copy-construct", "bad \x1b[31mred\x1b[0m", Severity.WARNING,
                   Location(2, 1), Location(2, 2), fix=fix, noqa_row=2, filename="nb.ipynb")
    if "cell" in Diagnostic.__dataclass_fields__:
        d = dataclasses.replace(d, cell=3)
    if fmt == "full":
        return  # rendered through rich with the source: tests/test_cli.py
    text = import_module(module_name(fmt)).render([d], root=None)
    assert text
    if fmt in ("concise", "grouped", "pylint", "junit"):
        assert "\x1b" not in text and "\\x1b" in text
    if fmt == "junit":
        ET.fromstring(text)


def test_printable_escapes_terminal_controls_only():
    assert printable("a\tb") == "a\tb"
    assert printable("\x1b]0;title\x07") == "\\x1b]0;title\\x07"
    assert printable("x\x9by") == "x\\x9by"
    assert printable("\u202eevil") == "\\u202eevil"
    assert printable("ünïcode 漢字") == "ünïcode 漢字"


def test_rdjson_columns_are_utf8_bytes(project, capsys):
    """reviewdog counts columns in UTF-8 bytes: `é` before the call moves it by 2, not 1."""
    (project / "pkg" / "other.py").write_text("import torch\n\ny = ('é', torch.tensor(torch.zeros(2)))\n")
    code, out, _ = run(capsys, "--output-format", "rdjson")
    (d,) = [d for d in json.loads(out)["diagnostics"] if d["location"]["path"] == "pkg/other.py"]
    assert d["location"]["range"]["start"] == {"line": 3, "column": 12}  # character column 11
    code, out, _ = run(capsys, "--output-format", "json")
    (j,) = [j for j in json.loads(out) if j["filename"].endswith("other.py")]
    assert j["location"] == {"row": 3, "column": 11}


def test_sarif_says_its_columns_are_code_points(project, capsys):
    code, out, _ = run(capsys, "--output-format", "sarif")
    assert json.loads(out)["runs"][0]["columnKind"] == "unicodeCodePoints"
