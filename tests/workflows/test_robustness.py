"""Dialect and robustness cases found by running public diagrams (Camunda 7/8, spiff-arena, bpmn-js).

Every diagram here is written for this test: each reproduces one construct real modelers produce.
"""
from __future__ import annotations

import time
from itertools import pairwise
from xml.sax.saxutils import escape

import pytest

from workflows import (
    BpmnValidationError,
    ValidationIssue,
    WorkflowEngine,
    WorkflowError,
    WorkflowScriptError,
    scripts,
)
from workflows.deployment import instantiate
from workflows.parser import GuichetParser, normalize_expression

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
        'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="t">')


def diagram(body: str, pid: str = "p", extra: str = "") -> dict[str, bytes]:
    return {f"{pid}.bpmn": f'{HEAD}{extra}<bpmn:process id="{pid}" isExecutable="true">{body}'
                           f'</bpmn:process></bpmn:definitions>'.encode()}


def chain(*elements: str) -> str:
    """start -> elements... -> end, elements given as XML with ids e1, e2, ..."""
    ids = ["start"] + [f"e{i}" for i in range(1, len(elements) + 1)] + ["end"]
    flows = "".join(f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
                    for i, (a, b) in enumerate(pairwise(ids)))
    return '<bpmn:startEvent id="start"/>' + "".join(elements) + '<bpmn:endEvent id="end"/>' + flows


def issues_of(engine: WorkflowEngine, files: dict[str, bytes]) -> list[ValidationIssue]:
    with pytest.raises(BpmnValidationError) as info:
        engine.parse_deployment(files)
    return info.value.issues


def run_to_wait(engine: WorkflowEngine, files: dict[str, bytes], variables: dict | None = None):  # type: ignore[no-untyped-def]
    model = engine.parse_deployment(files)[0]
    ex = engine.start(engine.load_spec(model.spec), variables)
    ex.run()
    return model, ex, ex.snapshot()


# ----- Camunda 8 (zeebe) ---------------------------------------------------------------------------
def test_zeebe_job_type_is_the_worker_topic(engine: WorkflowEngine) -> None:
    body = chain('<bpmn:serviceTask id="e1"><bpmn:extensionElements>'
                 '<zeebe:taskDefinition type="check-inventory" retries="5"/></bpmn:extensionElements>'
                 '</bpmn:serviceTask>')
    model, _ex, snap = run_to_wait(engine, diagram(body))
    assert [(t.element_id, t.topic, t.retries) for t in model.service_tasks] == [("e1", "check-inventory", 5)]
    assert [j.topic for j in snap.jobs] == ["check-inventory"]


def test_zeebe_decision_assignment_and_form_are_read(engine: WorkflowEngine) -> None:
    body = chain('<bpmn:userTask id="e1"><bpmn:extensionElements>'
                 '<zeebe:assignmentDefinition candidateGroups="clerks"/>'
                 '<zeebe:formDefinition formId="check-payment"/></bpmn:extensionElements></bpmn:userTask>')
    model = engine.parse_deployment(diagram(body))[0]
    assert [(t.queue, t.form_key) for t in model.user_tasks] == [("clerks", "check-payment")]
    rule = chain('<bpmn:businessRuleTask id="e1"><bpmn:extensionElements>'
                 '<zeebe:calledDecision decisionId="applicability" resultVariable="r"/>'
                 '</bpmn:extensionElements></bpmn:businessRuleTask>')
    [issue] = issues_of(engine, diagram(rule))
    assert issue.element_id == "e1" and '"applicability"' in issue.message


@pytest.mark.parametrize("feel, python", [
    ("=approved=false", "approved==false"),
    ("= amount >= 10 and kind != \"a=b\"", 'amount >= 10 and kind != "a=b"'),
    ("=progress = \"in bed\"", 'progress == "in bed"'),
    ("${a && !b}", "a  and   not b"),
])
def test_feel_and_juel_conditions_become_python(feel: str, python: str) -> None:
    assert normalize_expression(feel) == python


def test_feel_gateway_conditions_route(engine: WorkflowEngine) -> None:
    body = ('<bpmn:startEvent id="start"/><bpmn:exclusiveGateway id="gw"/>'
            '<bpmn:userTask id="yes"/><bpmn:userTask id="no"/><bpmn:endEvent id="end"/>'
            '<bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="gw"/>'
            '<bpmn:sequenceFlow id="f1" sourceRef="gw" targetRef="yes"><bpmn:conditionExpression '
            'xsi:type="bpmn:tFormalExpression">=approved = true</bpmn:conditionExpression></bpmn:sequenceFlow>'
            '<bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="no"><bpmn:conditionExpression '
            'xsi:type="bpmn:tFormalExpression">=approved = false</bpmn:conditionExpression></bpmn:sequenceFlow>'
            '<bpmn:sequenceFlow id="f3" sourceRef="yes" targetRef="end"/>'
            '<bpmn:sequenceFlow id="f4" sourceRef="no" targetRef="end"/>')
    _m, _ex, snap = run_to_wait(engine, diagram(body), {"approved": False})
    assert [t.element_id for t in snap.user_tasks] == ["no"]


def test_feel_script_tasks_are_refused_with_a_clear_message(engine: WorkflowEngine) -> None:
    body = chain('<bpmn:scriptTask id="e1"><bpmn:extensionElements><zeebe:script expression="=1 + 1" '
                 'resultVariable="x"/></bpmn:extensionElements></bpmn:scriptTask>')
    [issue] = issues_of(engine, diagram(body))
    assert issue.element_id == "e1" and "zeebe:script" in issue.message


def test_zeebe_multi_instance_collection(engine: WorkflowEngine) -> None:
    body = chain('<bpmn:userTask id="e1"><bpmn:multiInstanceLoopCharacteristics><bpmn:extensionElements>'
                 '<zeebe:loopCharacteristics inputCollection="=items" inputElement="item"/>'
                 '</bpmn:extensionElements></bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>')
    _m, _ex, snap = run_to_wait(engine, diagram(body), {"items": ["a", "b", "c"]})
    assert sorted(t.data.get("item") for t in snap.user_tasks) == ["a", "b", "c"]


# ----- Camunda 7 -----------------------------------------------------------------------------------
def test_camunda_collection_and_element_variable(engine: WorkflowEngine) -> None:
    body = chain('<bpmn:userTask id="e1"><bpmn:multiInstanceLoopCharacteristics isSequential="false" '
                 'camunda:collection="${scores}" camunda:elementVariable="score"/></bpmn:userTask>')
    _m, _ex, snap = run_to_wait(engine, diagram(body), {"scores": [3, 8]})
    assert sorted(t.data.get("score") for t in snap.user_tasks) == [3, 8]


def test_camunda_conditional_event_condition_is_translated(engine: WorkflowEngine) -> None:
    body = chain('<bpmn:intermediateCatchEvent id="e1"><bpmn:conditionalEventDefinition>'
                 '<bpmn:condition xsi:type="bpmn:tFormalExpression">${invoiceId != null}</bpmn:condition>'
                 '</bpmn:conditionalEventDefinition></bpmn:intermediateCatchEvent>')
    _m, _ex, snap = run_to_wait(engine, diagram(body), {"invoiceId": "INV-1"})
    assert snap.completed


def test_cron_timers_are_refused_by_name(engine: WorkflowEngine) -> None:
    body = ('<bpmn:startEvent id="start"><bpmn:timerEventDefinition><bpmn:timeCycle '
            'xsi:type="bpmn:tFormalExpression">0/5 0/1 * 1/1 * ? *</bpmn:timeCycle></bpmn:timerEventDefinition>'
            '</bpmn:startEvent><bpmn:endEvent id="end"/><bpmn:sequenceFlow id="f" sourceRef="start" targetRef="end"/>')
    [issue] = issues_of(engine, diagram(body))
    assert issue.element_id == "start" and "cron" in issue.message


def test_empty_timer_is_refused_at_deploy(engine: WorkflowEngine) -> None:
    body = chain('<bpmn:intermediateCatchEvent id="e1"><bpmn:timerEventDefinition><bpmn:timeDate/>'
                 '</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>')
    [issue] = issues_of(engine, diagram(body))
    assert issue.element_id == "e1" and "timer without a time" in issue.message


@pytest.mark.parametrize("attributes, expected", [
    ('camunda:class="org.example.Delegate"', "needs a worker topic"),
    ('scriptFormat="xslt" camunda:resource="x.xsl"', "camunda:resource"),
])
def test_unrunnable_java_and_resources_name_the_element(engine: WorkflowEngine, attributes: str,
                                                        expected: str) -> None:
    tag = "serviceTask" if "class" in attributes else "scriptTask"
    [issue] = issues_of(engine, diagram(chain(f'<bpmn:{tag} id="e1" {attributes}/>')))
    assert issue.element_id == "e1" and expected in issue.message


# ----- spiff-arena / bpmn-js output ------------------------------------------------------------------
@pytest.mark.parametrize("io_spec", [
    "<bpmn:ioSpecification/>",
    '<bpmn:ioSpecification><bpmn:dataInput id="amount"/><bpmn:dataOutput id="total"/></bpmn:ioSpecification>',
])
def test_bpmn_js_io_specifications_deploy(engine: WorkflowEngine, io_spec: str) -> None:
    body = io_spec + chain('<bpmn:scriptTask id="e1"><bpmn:script>total = amount * 2</bpmn:script></bpmn:scriptTask>')
    _m, _ex, snap = run_to_wait(engine, diagram(body), {"amount": 2})
    assert snap.completed and snap.variables["total"] == 4


def test_newer_spiff_operator_attributes_are_tolerated(engine: WorkflowEngine) -> None:
    body = chain('<bpmn:serviceTask id="e1"><bpmn:extensionElements><spiffworkflow:serviceTaskOperator '
                 'id="weather/Current" resultVariable="weather" resultSchema="schema.json">'
                 '<spiffworkflow:parameters/></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>'
                 '</bpmn:serviceTask>')
    model = engine.parse_deployment(diagram(body))[0]
    assert [t.topic for t in model.service_tasks] == ["weather/Current"]


def test_several_decision_tables_in_one_dmn_name_the_decision(engine: WorkflowEngine) -> None:
    table = ('<decision id="{id}"><decisionTable id="t_{id}"><input id="i_{id}"><inputExpression id="x_{id}">'
             '<text>a</text></inputExpression></input><output id="o_{id}" name="r"/></decisionTable></decision>')
    dmn = ('<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="D" namespace="n">'
           + table.format(id="first") + table.format(id="second") + "</definitions>")
    [issue] = issues_of(engine, {"two.dmn": dmn.encode()})
    assert issue.element_id == "first" and "one decision table per file" in issue.message


def test_business_rule_task_without_decision_names_the_element(engine: WorkflowEngine) -> None:
    [issue] = issues_of(engine, diagram(chain('<bpmn:businessRuleTask id="e1"/>')))
    assert issue.element_id == "e1" and "needs a decision" in issue.message


# ----- structures the library cannot instantiate -----------------------------------------------------
LOOP_WITHOUT_GATEWAY = ('<bpmn:startEvent id="start"/><bpmn:task id="calm"/>'
                        '<bpmn:intermediateCatchEvent id="ask"><bpmn:messageEventDefinition messageRef="m"/>'
                        '</bpmn:intermediateCatchEvent>'
                        '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask"/>'
                        '<bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="calm"/>'
                        '<bpmn:sequenceFlow id="f3" sourceRef="calm" targetRef="ask"/>')


def test_a_loop_without_gateway_is_refused_at_deploy(engine: WorkflowEngine) -> None:
    files = diagram(LOOP_WITHOUT_GATEWAY, extra='<bpmn:message id="m" name="where is it"/>')
    [issue] = issues_of(engine, files)
    assert issue.element_id == "p" and "loops back without a gateway" in issue.message


def test_instantiation_failures_are_workflow_errors() -> None:
    parser = GuichetParser()
    parser.add_bpmn_str(diagram(LOOP_WITHOUT_GATEWAY, extra='<bpmn:message id="m" name="x"/>')["p.bpmn"])
    with pytest.raises(WorkflowError, match="cannot be instantiated"):
        instantiate(parser.get_spec("p"), {})


# ----- script budget: runaway scripts fail fast instead of hanging the request -----------------------
@pytest.mark.parametrize("script, fragment", [
    ("while True:\n    pass", "loop iterations"),
    ("def forever():\n    while True:\n        yield 1\nitems = list(forever())", "loop iterations"),
    ("x = 'a' * 10**9", "items is larger"),
    ("s = 'ab'\nfor i in range(40):\n    s += s", "items is larger"),
    ("n = 10 ** 10 ** 7", "bit integers"),
    ("n = pow(7, 10 ** 8)", "bit integers"),
    ("total = sum(range(10**12))", "range of"),
])
def test_runaway_scripts_fail_fast_naming_the_element(engine: WorkflowEngine, script: str, fragment: str) -> None:
    body = chain(f'<bpmn:scriptTask id="e1"><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>')
    model = engine.parse_deployment(diagram(body))[0]
    ex = engine.start(engine.load_spec(model.spec))
    started = time.monotonic()
    with pytest.raises(WorkflowScriptError) as info:
        ex.run()
    assert info.value.element_id == "e1" and fragment in info.value.message
    assert time.monotonic() - started < 5


def test_the_script_clock_stops_long_loops(engine: WorkflowEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scripts, "MAX_SCRIPT_SECONDS", 0.0)
    body = chain('<bpmn:scriptTask id="e1"><bpmn:script>n = 0\nwhile n &lt; 100000:\n    n += 1</bpmn:script>'
                 '</bpmn:scriptTask>')
    model = engine.parse_deployment(diagram(body))[0]
    with pytest.raises(WorkflowScriptError, match="ran longer than"):
        engine.start(engine.load_spec(model.spec)).run()


def test_bounded_loops_and_sizes_still_run(engine: WorkflowEngine) -> None:
    script = ("total = 0\nfor i in range(100000):\n    total += i\nn = 0\nwhile n < 50000:\n    n += 1\n"
              "rows = [[c for c in range(100)] for r in range(100)]\nline = '-' * 80\nbig = 2 ** 4096 > 0")
    body = chain(f'<bpmn:scriptTask id="e1"><bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>')
    _m, _ex, snap = run_to_wait(engine, diagram(body))
    assert snap.completed
    assert (snap.variables["total"], snap.variables["n"], len(snap.variables["rows"])) == (4999950000, 50000, 100)
    assert snap.variables["line"] == "-" * 80 and snap.variables["big"] is True
