"""The facade end to end: every sample runs to completion with a store/restore at each wait."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from workflows import (
    EngineStalledError,
    NoTimerWaitingError,
    TaskLimitError,
    TaskNotFoundError,
    TaskNotReadyError,
    WorkflowEngine,
    WorkflowError,
    WorkflowScriptError,
)

VALID_SSN = "269054958815780"


@pytest.fixture()
def claim(engine, deploy):
    models = deploy("benefit_claim.bpmn", "notify_applicant.bpmn", "benefit_rate.dmn")
    return engine.load_spec(models["benefit_claim"].spec, called={"notify_applicant": models["notify_applicant"].spec})


def start_claim(engine, claim, advance, income=900, children=1):
    ex = engine.start(claim, {"ssn": VALID_SSN, "monthly_income": income, "children": children})
    return advance(claim, ex)


def test_six_node_state_is_small_and_complete(engine, deploy, advance) -> None:
    spec = engine.load_spec(deploy("six_node.bpmn")["six_node"].spec)
    ex, snap = advance(spec, engine.start(spec, {"ssn": VALID_SSN}))
    assert len(snap.state.encode()) <= 3 * 1024, len(snap.state)
    assert "spec" not in json.loads(snap.state) and json.loads(snap.state)["fv"] == 1
    (task,) = snap.user_tasks
    assert (task.element_id, task.queue, task.form_key, task.priority, task.due_in) == \
        ("Activity_review", "agents", "review", 60, "P2D")
    assert task.data == {"ssn": VALID_SSN, "case_number": "C-15", "status": "open"}
    assert task.due_at is not None and abs(task.due_at - datetime.now(UTC) - timedelta(days=2)) < timedelta(minutes=1)
    assert snap.variables == task.data and task.instructions is None
    assert snap.active_element_ids == ["Activity_review"]
    assert snap.completed_element_ids == ["StartEvent_1", "Activity_prepare"]
    assert snap.jobs == [] and snap.waiting == [] and not snap.completed
    ex.complete_user_task(task.task_id, {"approved": True})
    ex, snap = advance(spec, ex)
    assert snap.completed and snap.variables["status"] == "approved" and snap.user_tasks == []
    assert snap.completed_element_ids[-2:] == ["Activity_finalize", "EndEvent_1"]


def test_six_node_rejected_branch(engine, deploy, advance) -> None:
    spec = engine.load_spec(deploy("six_node.bpmn")["six_node"].spec)
    ex, snap = advance(spec, engine.start(spec, {"ssn": VALID_SSN}))
    ex.complete_user_task(snap.user_tasks[0].task_id, {"approved": False})
    ex, snap = advance(spec, ex)
    assert snap.completed and snap.variables["status"] == "open"
    assert "Activity_finalize" not in snap.completed_element_ids


def test_camunda_leave_request_to_completion(engine, deploy, advance) -> None:
    spec = engine.load_spec(deploy("camunda_leave_request.bpmn")["camunda_leave_request"].spec)
    ex, snap = advance(spec, engine.start(spec, {"ssn": VALID_SSN}))
    assert [(t.element_id, t.queue) for t in snap.user_tasks] == [("Activity_submit", "reception")]
    ex.complete_user_task(snap.user_tasks[0].task_id, {"reason": "family", "days": 3})
    ex, snap = advance(spec, ex)
    assert [(t.element_id, t.queue) for t in snap.user_tasks] == [("Activity_approve", "backoffice")]
    assert snap.user_tasks[0].data["days"] == 3
    ex.complete_user_task(snap.user_tasks[0].task_id, {"approved": True})
    ex, snap = advance(spec, ex)
    assert snap.completed
    assert snap.variables["remaining_days"] == 22 and snap.variables["record"]["until"] == "2024-07-04"
    assert "Event_granted" in snap.completed_element_ids and "Event_refused" not in snap.completed_element_ids


def test_camunda_leave_refused(engine, deploy, advance) -> None:
    spec = engine.load_spec(deploy("camunda_leave_request.bpmn")["camunda_leave_request"].spec)
    ex, snap = advance(spec, engine.start(spec, {}))
    ex.complete_user_task(snap.user_tasks[0].task_id, {"reason": "x", "days": 1})
    ex, snap = advance(spec, ex)
    ex.complete_user_task(snap.user_tasks[0].task_id, {"approved": False})
    ex, snap = advance(spec, ex)
    assert snap.completed and "Event_refused" in snap.completed_element_ids


def test_spiff_document_check_to_completion(engine, deploy, advance) -> None:
    spec = engine.load_spec(deploy("spiff_document_check.bpmn")["spiff_document_check"].spec)
    ex, snap = advance(spec, engine.start(spec, {"ssn": VALID_SSN}))
    assert snap.user_tasks[0].form_key == "document-check"
    assert snap.user_tasks[0].instructions.startswith("Check the identity document")
    ex.complete_user_task(snap.user_tasks[0].task_id,
                          {"documents_ok": True, "payslip_count": 3, "id_document_type": "id_card"})
    ex, snap = advance(spec, ex)
    assert [(t.element_id, t.queue) for t in snap.user_tasks] == [("Activity_register", "backoffice")]
    assert snap.variables["complete"] is True and snap.variables["missing"] == []
    ex.complete_user_task(snap.user_tasks[0].task_id, {"fileNumber": "F-001"})
    ex, snap = advance(spec, ex)
    assert snap.completed and snap.variables["fileNumber"] == "F-001"


def test_spiff_document_check_incomplete(engine, deploy, advance) -> None:
    spec = engine.load_spec(deploy("spiff_document_check.bpmn")["spiff_document_check"].spec)
    ex, snap = advance(spec, engine.start(spec, {"ssn": "269054958815781"}))
    ex.complete_user_task(snap.user_tasks[0].task_id,
                          {"documents_ok": True, "payslip_count": 1, "id_document_type": "passport"})
    ex, snap = advance(spec, ex)
    assert snap.completed and snap.variables["missing"] == ["ssn", "payslips"]
    assert "Event_returned" in snap.completed_element_ids


def test_benefit_claim_happy_path(engine, claim, advance) -> None:
    ex, snap = start_claim(engine, claim, advance)
    (job,) = snap.jobs
    assert (job.element_id, job.topic, job.retries) == ("Activity_extract", "ocr.extract_text", 3)
    assert job.input == {"ssn": VALID_SSN, "monthly_income": 900, "children": 1}
    ex.deliver_job_result(job.task_id, {"text": "payslip 900 EUR"})  # camunda: merged as variables
    ex, snap = advance(claim, ex)
    (job,) = snap.jobs
    assert (job.topic, job.input) == ("documents.render_receipt", {"subject": VALID_SSN, "template": "claim_receipt"})
    ex.deliver_job_result(job.task_id, {"url": "/receipts/1.pdf"})  # spiff: under resultVariable
    ex, snap = advance(claim, ex)
    assert snap.variables["receipt"] == {"url": "/receipts/1.pdf"} and snap.variables["text"] == "payslip 900 EUR"
    assert snap.variables["rate"] == 0.8 and snap.variables["band"] == "A"  # DMN
    (review,) = snap.user_tasks
    assert (review.element_id, review.queue, review.form_key) == ("Activity_review", "backoffice", "review_claim")
    (timer,) = snap.waiting
    assert (timer.type, timer.element_id, timer.name) == ("timer", "Event_review_timeout", "48 hours")
    assert abs(timer.due_at - datetime.now(UTC) - timedelta(hours=48)) < timedelta(minutes=1)
    ex.complete_user_task(review.task_id, {"approved": True})
    ex, snap = advance(claim, ex)
    assert snap.user_tasks == [] and snap.jobs == []
    (message,) = snap.waiting
    assert (message.type, message.name, message.element_id) == ("message", "employer_confirmation", "Event_employer")
    assert not ex.correlate_message("someone_else", {})
    assert ex.correlate_message("employer_confirmation", {"employer": "123456749"})
    ex, snap = advance(claim, ex)
    assert snap.completed and snap.waiting == []
    assert snap.variables["employer"] == "123456749"
    assert snap.variables["letter"] == {"to": VALID_SSN, "decision": "granted", "rate": 0.8}
    assert [(e.type, e.name, e.payload) for e in snap.thrown] == \
        [("message", "applicant_notified", {"ssn": VALID_SSN, "decision": "granted"})]
    assert "Activity_notify" in snap.completed_element_ids


def test_dmn_rules(engine, claim, advance) -> None:
    for income, children, rate, band in [(900, 2, 0.9, "A+"), (2000, 0, 0.6, "B"), (5000, 3, 0.4, "C")]:
        ex, snap = start_claim(engine, claim, advance, income, children)
        for _ in range(2):
            ex.deliver_job_result(snap.jobs[0].task_id, {})
            ex, snap = advance(claim, ex)
        assert (snap.variables["rate"], snap.variables["band"]) == (rate, band)


def test_fail_job_caught_by_boundary_error(engine, claim, advance) -> None:
    ex, snap = start_claim(engine, claim, advance)
    ex.deliver_job_result(snap.jobs[0].task_id, {})
    ex, snap = advance(claim, ex)
    job = snap.jobs[0]
    assert not ex.fail_job(job.task_id, "OTHER_CODE", "nope")  # the boundary catches RENDER_FAILED only
    assert ex.fail_job(job.task_id, "RENDER_FAILED", "template missing")
    ex, snap = advance(claim, ex)
    assert snap.jobs == []
    (fix,) = snap.user_tasks
    assert (fix.element_id, fix.form_key, fix.priority) == ("Activity_fix_receipt", "manual_receipt", 90)
    assert fix.data["errorCode"] == "RENDER_FAILED" and fix.data["errorMessage"] == "template missing"
    assert "Event_receipt_failed" in snap.completed_element_ids
    ex.complete_user_task(fix.task_id, {"receipt": "manual"})
    ex, snap = advance(claim, ex)
    assert snap.user_tasks[0].element_id == "Activity_review"


def test_fail_job_without_catcher(engine, claim, advance) -> None:
    ex, snap = start_claim(engine, claim, advance)
    assert not ex.fail_job(snap.jobs[0].task_id, "OCR_FAILED", "unreadable")
    # still parked: the app raises an incident and may retry later
    ex, snap = advance(claim, ex)
    assert snap.jobs[0].element_id == "Activity_extract"


def test_timer_fires_on_demand(engine, claim, advance) -> None:
    ex, snap = start_claim(engine, claim, advance)
    for _ in range(2):
        ex.deliver_job_result(snap.jobs[0].task_id, {})
        ex, snap = advance(claim, ex)
    with pytest.raises(NoTimerWaitingError):
        ex.fire_timer("Activity_review")
    ex.fire_timer("Event_review_timeout")
    ex, snap = advance(claim, ex)
    (escalated,) = snap.user_tasks
    assert (escalated.element_id, escalated.queue, escalated.priority) == ("Activity_escalate", "supervisors", 95)
    assert snap.waiting == []
    assert "Activity_review" not in snap.active_element_ids


def test_due_timers_fire_at_their_time(engine, claim, advance) -> None:
    ex, snap = start_claim(engine, claim, advance)
    for _ in range(2):
        ex.deliver_job_result(snap.jobs[0].task_id, {})
        ex, snap = advance(claim, ex)
    now = datetime.now(UTC)
    assert ex.fire_due_timers(now + timedelta(hours=47)) == []
    ex, snap = advance(claim, ex)
    assert snap.user_tasks[0].element_id == "Activity_review"
    assert ex.fire_due_timers((now + timedelta(hours=49)).replace(tzinfo=None)) == ["Event_review_timeout"]
    ex, snap = advance(claim, ex)
    assert snap.user_tasks[0].element_id == "Activity_escalate"


def test_task_errors(engine, claim, advance) -> None:
    ex, snap = start_claim(engine, claim, advance)
    job = snap.jobs[0]
    with pytest.raises(TaskNotFoundError):
        ex.complete_user_task("not-a-uuid", {})
    with pytest.raises(TaskNotFoundError):
        ex.complete_user_task("00000000-0000-0000-0000-000000000000", {})
    with pytest.raises(TaskNotReadyError):
        ex.complete_user_task(job.task_id, {})  # a service task is not a user task
    ex.deliver_job_result(job.task_id, {})
    with pytest.raises(TaskNotReadyError):
        ex.deliver_job_result(job.task_id, {})  # already delivered
    ex, snap = advance(claim, ex)
    ex.deliver_job_result(snap.jobs[0].task_id, {})
    ex, snap = advance(claim, ex)
    review = snap.user_tasks[0]
    with pytest.raises(TaskNotReadyError):
        ex.deliver_job_result(review.task_id, {})
    ex.complete_user_task(review.task_id, {"approved": True})
    with pytest.raises(TaskNotReadyError):
        ex.complete_user_task(review.task_id, {"approved": True})


def test_cancel(engine, claim, advance) -> None:
    ex, snap = start_claim(engine, claim, advance)
    ex.cancel()
    snap = ex.snapshot()
    assert snap.completed and snap.cancelled and snap.jobs == [] and snap.user_tasks == []
    assert snap.variables == {"ssn": VALID_SSN, "monthly_income": 900, "children": 1}
    assert snap.active_element_ids == [] and snap.waiting == []


def test_load_spec_needs_called_processes(engine, deploy) -> None:
    models = deploy("benefit_claim.bpmn", "notify_applicant.bpmn", "benefit_rate.dmn")
    with pytest.raises(WorkflowError, match="notify_applicant"):
        engine.load_spec(models["benefit_claim"].spec)


def test_restore_rejects_unknown_state(engine, deploy) -> None:
    spec = engine.load_spec(deploy("six_node.bpmn")["six_node"].spec)
    with pytest.raises(WorkflowError):
        engine.restore(spec, '{"fv": 99}')
    with pytest.raises(WorkflowError):
        engine.restore(spec, "not json")


def test_loop_depth_trap_raises_instead_of_hanging(deploy) -> None:
    engine = WorkflowEngine(max_tasks=100_000)
    spec = engine.load_spec(deploy("counter_loop.bpmn")["counter_loop"].spec)
    ex = engine.start(spec, {"limit": 2000})
    with pytest.raises(EngineStalledError, match="Activity_increment"):
        ex.run()


def test_bounded_loop_completes(engine, deploy, advance) -> None:
    spec = engine.load_spec(deploy("counter_loop.bpmn")["counter_loop"].spec)
    _, snap = advance(spec, engine.start(spec, {"limit": 50}))
    assert snap.completed and snap.variables["i"] == 50 and snap.task_count > 100


def test_task_limit(deploy) -> None:
    engine = WorkflowEngine(max_tasks=300)
    spec = engine.load_spec(deploy("counter_loop.bpmn")["counter_loop"].spec)
    with pytest.raises(TaskLimitError):
        engine.start(spec, {"limit": 2000}).run()


def test_failing_gateway_names_the_element(engine, deploy) -> None:
    spec = engine.load_spec(deploy("counter_loop.bpmn")["counter_loop"].spec)
    with pytest.raises(WorkflowScriptError) as info:
        engine.start(spec, {}).run()  # `limit` is missing
    assert info.value.element_id == "Gateway_more" and "limit" in info.value.message


def test_failing_script_names_the_element(engine, deploy) -> None:
    spec = engine.load_spec(deploy("camunda_leave_request.bpmn")["camunda_leave_request"].spec)
    ex = engine.start(spec, {})
    ex.run()
    ex.complete_user_task(ex.snapshot().user_tasks[0].task_id, {"reason": "x"})  # no `days`
    ex.run()
    ex.complete_user_task(ex.snapshot().user_tasks[0].task_id, {"approved": True})
    with pytest.raises(WorkflowScriptError) as info:
        ex.run()
    assert info.value.element_id == "Activity_record" and "days" in info.value.message


def test_script_storing_a_date_is_refused(engine) -> None:
    xml = b"""<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="x">
<bpmn:process id="dates" isExecutable="true"><bpmn:startEvent id="S"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:scriptTask id="Store"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
<bpmn:script>when = date(2024, 1, 1)</bpmn:script></bpmn:scriptTask>
<bpmn:endEvent id="E"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="Store"/><bpmn:sequenceFlow id="f2" sourceRef="Store" targetRef="E"/>
</bpmn:process></bpmn:definitions>"""
    spec = engine.load_spec(engine.parse_deployment({"d.bpmn": xml})[0].spec)
    with pytest.raises(WorkflowScriptError) as info:
        engine.start(spec).run()
    assert info.value.element_id == "Store" and "JSON" in info.value.message


SIGNALS = b"""<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="x">
<bpmn:signal id="Sig" name="office_closed" />
<bpmn:process id="signals" isExecutable="true">
<bpmn:startEvent id="S"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:intermediateCatchEvent id="WaitSignal"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
<bpmn:signalEventDefinition signalRef="Sig"/></bpmn:intermediateCatchEvent>
<bpmn:intermediateCatchEvent id="WaitDate"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
<bpmn:timerEventDefinition><bpmn:timeDate>2030-01-01T08:00:00+00:00</bpmn:timeDate></bpmn:timerEventDefinition>
</bpmn:intermediateCatchEvent>
<bpmn:endEvent id="E"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="S" targetRef="WaitSignal"/>
<bpmn:sequenceFlow id="f2" sourceRef="WaitSignal" targetRef="WaitDate"/>
<bpmn:sequenceFlow id="f3" sourceRef="WaitDate" targetRef="E"/>
</bpmn:process></bpmn:definitions>"""


def test_signal_then_date_timer(engine, advance) -> None:
    spec = engine.load_spec(engine.parse_deployment({"s.bpmn": SIGNALS})[0].spec)
    ex, snap = advance(spec, engine.start(spec, {}))
    assert [(w.type, w.name, w.element_id) for w in snap.waiting] == [("signal", "office_closed", "WaitSignal")]
    assert not ex.broadcast_signal("other", {})
    assert ex.broadcast_signal("office_closed", {"reason": "strike"})
    ex, snap = advance(spec, ex)
    (timer,) = snap.waiting
    assert (timer.type, timer.element_id, timer.due_at) == ("timer", "WaitDate", datetime(2030, 1, 1, 8, tzinfo=UTC))
    assert snap.variables["reason"] == "strike"
    assert ex.fire_due_timers(datetime(2029, 12, 31, tzinfo=UTC)) == []
    assert ex.fire_due_timers(datetime(2030, 1, 1, 8, 1, tzinfo=UTC)) == ["WaitDate"]
    ex, snap = advance(spec, ex)
    assert snap.completed


def test_snapshot_consumes_thrown_events_once(engine, claim, advance) -> None:
    ex, snap = start_claim(engine, claim, advance)
    assert snap.thrown == [] and ex.snapshot().thrown == []
