"""The report of a replay: text for people, JUnit XML for CI.

Deterministic by construction: no wall-clock times, results in file then document order, JSON
shown as the target sent it. The same files and seeds give byte-identical reports.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from engine.scenarios.runner import ScenarioResult


def _status(result: ScenarioResult) -> str:
    if result.status == "PASS" and result.skipped:
        return f"PASS ({result.skipped} skipped)"
    return result.status


def details(result: ScenarioResult) -> list[str]:
    """What went wrong (or was skipped), indented under the scenario line."""
    lines: list[str] = []
    if result.error is not None:
        lines.append(result.error)
    lines += [f"note: {n}" for n in result.notes]
    for outcome in result.steps:
        step = outcome.step
        if outcome.status == "pass":
            continue
        head = f"{step.label}, line {step.line}: {outcome.status.upper()}"
        lines.append(head)
        lines += ["  " + x for x in outcome.detail]
    failure = result.failure
    if failure is not None:
        not_run = result.total_steps - failure.step.index
        if not_run:
            lines.append(f"({not_run} later steps not run)")
    return lines


def render(results: Sequence[ScenarioResult], target: str | None = None) -> str:
    where = target or "in-process, virtual clock"
    lines = [f"bre replay: {len(results)} scenarios ({where})"]
    for result in results:
        lines.append(f"{_status(result):<8} {result.id}  {result.name}")
        lines += ["    " + x for x in details(result)]
    passed = sum(1 for r in results if r.status == "PASS")
    failed = sum(1 for r in results if r.status == "FAIL")
    errors = sum(1 for r in results if r.status == "ERROR")
    skipped = sum(r.skipped for r in results)
    lines.append(
        f"{len(results)} scenarios: {passed} passed, {failed} failed, {errors} errors; "
        f"{skipped} steps skipped"
    )
    return "\n".join(lines) + "\n"


def junit(results: Sequence[ScenarioResult]) -> bytes:
    """One testcase per scenario; a failing step is the failure, a setup problem the error."""
    suite = ET.Element(
        "testsuite",
        name="bre replay",
        tests=str(len(results)),
        failures=str(sum(1 for r in results if r.status == "FAIL")),
        errors=str(sum(1 for r in results if r.status == "ERROR")),
        skipped="0",
    )
    for result in results:
        classname = (
            str(Path(result.file).with_suffix("")).replace("/", ".").replace("\\", ".").strip(".")
        )
        case = ET.SubElement(suite, "testcase", classname=classname, name=result.name)
        text = "\n".join(details(result))
        if result.status in ("FAIL", "ERROR"):
            failure = result.failure
            message = result.error or (
                f"{failure.step.label}, line {failure.step.line}" if failure else result.status
            )
            tag = "failure" if result.status == "FAIL" else "error"
            element = ET.SubElement(case, tag, message=message)
            element.text = text
        elif text:
            ET.SubElement(case, "system-out").text = text
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body + b"\n"
