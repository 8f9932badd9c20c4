"""JUnit XML, as CI systems (GitLab, Jenkins, Azure) read test reports: one <testsuite>
per file, one failing <testcase> per finding; a clean run is one passing test case."""

from itertools import groupby
from xml.etree import ElementTree as ET

from tensorlint.output import display_path, printable


def render(diagnostics, **_) -> str:
    suites = ET.Element("testsuites", name="tensorlint", tests=str(max(len(diagnostics), 1)),
                        failures=str(len(diagnostics)), errors="0")
    if not diagnostics:
        suite = ET.SubElement(suites, "testsuite", name="tensorlint", tests="1", failures="0", errors="0")
        ET.SubElement(suite, "testcase", name="No errors found", classname="tensorlint")
    for filename, group in groupby(diagnostics, key=lambda d: d.filename):
        group = list(group)
        path = display_path(filename)
        suite = ET.SubElement(suites, "testsuite", name=path, tests=str(len(group)),
                              failures=str(len(group)), errors="0")
        classname = path[:-3].replace("/", ".").replace("\\", ".") if path.endswith(".py") else path
        for d in group:
            case = ET.SubElement(suite, "testcase", name=f"tensorlint.{d.code}", classname=classname,
                                 line=str(d.location.row), column=str(d.location.column))
            message = printable(d.message)  # XML 1.0 cannot hold control characters
            failure = ET.SubElement(case, "failure", message=message, type=d.code)
            failure.text = f"{path}:{d.position()}: {d.code} [{d.name}] {message}"
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
