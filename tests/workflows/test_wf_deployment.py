"""Deploy-time validation: every problem of every file, each with its element id."""
from __future__ import annotations

from pathlib import Path

import pytest

from workflows import BpmnValidationError, ValidationIssue, WorkflowEngine

BPMN = Path(__file__).resolve().parents[1] / "data" / "bpmn"


def read(*names: str) -> dict[str, bytes]:
    """Sample files by name (invalid ones live in the invalid/ sub-folder)."""
    return {Path(name).name: (BPMN / name).read_bytes() for name in names}


INVALID = ["invalid/malformed.bpmn", "invalid/doctype_entity.bpmn", "invalid/dangling_flow.bpmn",
           "invalid/no_start_event.bpmn", "invalid/unknown_called_process.bpmn",
           "invalid/script_syntax_error.bpmn"]


def issues_of(engine: WorkflowEngine, files: dict[str, bytes], known: set[str] | None = None
              ) -> list[ValidationIssue]:
    with pytest.raises(BpmnValidationError) as info:
        engine.parse_deployment(files, known_processes=known or set())
    return info.value.issues


def test_valid_samples_deploy_together(engine: WorkflowEngine) -> None:
    files = read("camunda_leave_request.bpmn", "spiff_document_check.bpmn", "six_node.bpmn",
                 "benefit_claim.bpmn", "notify_applicant.bpmn", "benefit_rate.dmn", "counter_loop.bpmn",
                 "document-check-schema.json")
    keys = sorted(m.key for m in engine.parse_deployment(files))
    assert keys == ["benefit_claim", "camunda_leave_request", "counter_loop", "notify_applicant",
                    "six_node", "spiff_document_check"]


@pytest.mark.parametrize("name,element_id,fragment", [
    ("invalid/malformed.bpmn", None, "malformed XML"),
    ("invalid/doctype_entity.bpmn", None, "DOCTYPE"),
    ("invalid/dangling_flow.bpmn", "Flow_2", "EndEvent_missing"),
    ("invalid/no_start_event.bpmn", "no_start_event", "no start event"),
    ("invalid/unknown_called_process.bpmn", "Activity_call", "does_not_exist"),
    ("invalid/script_syntax_error.bpmn", "Activity_broken", "syntax error"),
])
def test_each_invalid_sample(engine: WorkflowEngine, name: str, element_id: str | None, fragment: str) -> None:
    found = issues_of(engine, read(name))
    assert any(i.element_id == element_id and fragment in i.message for i in found), found
    assert all(i.file == name.split("/")[-1] for i in found)


def test_malformed_xml_message_has_the_line(engine: WorkflowEngine) -> None:
    (issue,) = issues_of(engine, read("invalid/malformed.bpmn"))
    assert issue.message.startswith("line 8:")


def test_all_problems_are_reported_at_once(engine: WorkflowEngine) -> None:
    found = issues_of(engine, read(*INVALID, "six_node.bpmn"))
    files = {i.file for i in found}
    assert files == {name.split("/")[-1] for name in INVALID}
    ids = {i.element_id for i in found}
    assert {"Flow_2", "no_start_event", "Activity_call", "Activity_broken", "Activity_import"} <= ids


def test_import_in_script_is_a_deploy_error(engine: WorkflowEngine) -> None:
    found = issues_of(engine, read("invalid/script_syntax_error.bpmn"))
    assert any(i.element_id == "Activity_import" and "import" in i.message for i in found)


def test_call_activity_may_target_a_deployed_process(engine: WorkflowEngine) -> None:
    models = engine.parse_deployment(read("invalid/unknown_called_process.bpmn"),
                                     known_processes={"does_not_exist"})
    assert models[0].called_processes == ["does_not_exist"]


def test_call_activity_target_missing_from_deployment(engine: WorkflowEngine) -> None:
    found = issues_of(engine, read("benefit_claim.bpmn", "benefit_rate.dmn"))
    assert [(i.element_id, "notify_applicant" in i.message) for i in found] == [("Activity_notify", True)]


def test_missing_decision_is_reported(engine: WorkflowEngine) -> None:
    found = issues_of(engine, read("benefit_claim.bpmn", "notify_applicant.bpmn"))
    assert any(i.element_id == "Activity_rate" and "benefit_rate" in i.message for i in found), found


def test_bad_gateway_condition_is_reported(engine: WorkflowEngine) -> None:
    xml = read("six_node.bpmn")["six_node.bpmn"].replace(b"approved == True", b"approved ==")
    found = issues_of(engine, {"six_node.bpmn": xml})
    assert [i.element_id for i in found] == ["Gateway_decision"]
    assert "Activity_finalize" in found[0].message


def test_no_process_in_document(engine: WorkflowEngine) -> None:
    xml = (b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" '
           b'targetNamespace="x"/>')
    (issue,) = issues_of(engine, {"empty.bpmn": xml})
    assert "no bpmn:process" in issue.message


def test_only_non_executable_processes(engine: WorkflowEngine, files) -> None:
    xml = files("six_node.bpmn")["six_node.bpmn"].replace(b'isExecutable="true"', b'isExecutable="false"')
    (issue,) = issues_of(engine, {"six_node.bpmn": xml})
    assert issue.element_id == "six_node" and "executable" in issue.message


def test_xsd_violations_are_reported_with_lines(engine: WorkflowEngine) -> None:
    xml = (b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="x">'
           b'\n<bpmn:process id="p" isExecutable="maybe"><bpmn:startEvent id="S"/></bpmn:process>'
           b'</bpmn:definitions>')
    found = issues_of(engine, {"x.bpmn": xml})
    assert any(i.message.startswith("line 2:") and "isExecutable" in i.message for i in found)


def test_recursive_call_activities(engine: WorkflowEngine) -> None:
    def caller(pid: str, target: str) -> bytes:
        return f"""<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D{pid}"
  targetNamespace="x"><bpmn:process id="{pid}" isExecutable="true">
  <bpmn:startEvent id="S"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
  <bpmn:callActivity id="C_{pid}" calledElement="{target}"><bpmn:incoming>f1</bpmn:incoming>
    <bpmn:outgoing>f2</bpmn:outgoing></bpmn:callActivity>
  <bpmn:endEvent id="E"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="C_{pid}" />
  <bpmn:sequenceFlow id="f2" sourceRef="C_{pid}" targetRef="E" />
</bpmn:process></bpmn:definitions>""".encode()
    found = issues_of(engine, {"a.bpmn": caller("a", "b"), "b.bpmn": caller("b", "a")})
    assert any("recursive" in i.message and "a -> b -> a" in i.message for i in found), found


def test_too_long_chain_is_an_issue_not_a_crash(engine: WorkflowEngine) -> None:
    n = 700
    nodes = "".join(f'<bpmn:task id="T{i}"><bpmn:incoming>f{i}</bpmn:incoming>'
                    f'<bpmn:outgoing>f{i + 1}</bpmn:outgoing></bpmn:task>' for i in range(n))
    flows = "".join(f'<bpmn:sequenceFlow id="f{i + 1}" sourceRef="T{i}" targetRef="{f"T{i + 1}" if i + 1 < n else "E"}"/>'
                    for i in range(n))
    xml = f"""<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="x">
<bpmn:process id="long" isExecutable="true"><bpmn:startEvent id="S"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
{nodes}<bpmn:endEvent id="E"><bpmn:incoming>f{n}</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f0" sourceRef="S" targetRef="T0"/>{flows}</bpmn:process></bpmn:definitions>""".encode()
    found = issues_of(engine, {"long.bpmn": xml})
    assert any("too long" in i.message for i in found), found


def test_broken_dmn_is_reported(engine: WorkflowEngine) -> None:
    found = issues_of(engine, {"broken.dmn": b"<definitions><decision id='x'>", **read("six_node.bpmn")})
    assert found[0].file == "broken.dmn" and "malformed" in found[0].message


def test_issue_as_dict() -> None:
    assert ValidationIssue("a.bpmn", "Flow_1", "bad").as_dict() == \
        {"file": "a.bpmn", "elementId": "Flow_1", "message": "bad"}
