"""The three kinds of users in a real browser: agent, supervisor, analyst (Chromium through Playwright)."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import shot, sign_in
from tests.web.conftest import REVIEW_SCHEMA, six_node_xml

pytestmark = pytest.mark.browser


def two_step_xml() -> bytes:
    """six_node with its last script task turned into a user task: after the review, a next step waits."""
    xml = six_node_xml().decode()
    xml = xml.replace('<bpmn:scriptTask id="Activity_finalize" name="Finalize case">',
                      '<bpmn:userTask id="Activity_finalize" name="Finalize case">')
    xml = re.sub(r'<bpmn:script>status = "approved"</bpmn:script>\s*</bpmn:scriptTask>', '</bpmn:userTask>', xml)
    assert 'userTask id="Activity_finalize"' in xml
    return xml.encode()


def deploy_two_step(api) -> int:  # type: ignore[no-untyped-def]
    import json
    response = api.deploy(("six_node.bpmn", two_step_xml()), ("review-schema.json", json.dumps(REVIEW_SCHEMA).encode()))
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["definitions"][0]["id"])


def start(api, key: str, ssn: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    response = api.post("/process-instances", json={"processDefinitionKey": "six_node", "businessKey": key,
                                                    "variables": {"ssn": ssn, "name": "Durand"}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def test_agent_claims_and_completes_then_supervisor_sees_the_next_step(  # type: ignore[no-untyped-def]
        new_page, analyst, login, make_user):
    deploy_two_step(analyst)
    starter = login("counter", "agent", ["agents"])
    start(starter, "CASE-2026-0041", "1850775123456")
    instance = start(starter, "CASE-2026-0042", "2900675000002")
    start(starter, "CASE-2026-0043", "1700175000003")
    make_user("alice", "agent", ["agents", "reception"])
    make_user("sue", "supervisor", ["supervisors"])

    page = new_page()
    sign_in(page, "alice")
    assert page.url.endswith("/inbox")
    assert page.locator('[data-count-for="agents"]').inner_text() == "3"
    shot(page, "inbox")

    # Find the case by its business key, open it with the keyboard.
    page.fill("#inbox-search", "CASE-2026-0042")
    page.press("#inbox-search", "Enter")
    page.wait_for_load_state()
    rows = page.locator("#task-list .task-row")
    assert rows.count() == 1
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/tasks/\d+$"))
    task_url = page.url
    page.click("#claim-button")
    page.wait_for_selector("#complete-button")
    assert page.locator("#assignee").inner_text() == "alice"
    page.wait_for_selector('#diagram[data-diagram-ready="true"]')
    assert page.locator('.djs-element.active[data-element-id="Activity_review"]').count() == 1

    # Missing required field: the server's message shows beside it, the task stays open.
    page.fill('textarea[name="comment"], input[name="comment"]', "Payslips checked")
    page.click("#complete-button")
    page.wait_for_selector('[data-error-for="approved"]')
    assert "required" in page.locator('[data-error-for="approved"]').inner_text()
    assert page.locator('input[name="comment"]').input_value() == "Payslips checked"
    shot(page, "task-form-error", full_page=True)
    page.goto("/inbox?view=mine")
    assert page.locator("#task-list .task-row").count() == 1

    # Correct submission: the task leaves the inbox.
    page.goto(task_url)
    page.check('input[name="approved"][value="true"]')
    page.fill('input[name="amount"]', "120")
    page.select_option('select[name="channel"]', "counter")
    page.click("#complete-button")
    page.wait_for_url(re.compile(r"/inbox$"))
    assert page.locator(".flash.success").count() == 1
    review_id = task_url.rsplit("/", 1)[1]
    assert page.locator(f'.task-row[data-task-id="{review_id}"]').count() == 0
    # the case moved on to its next step, which waits in the same queue
    assert "Finalize case" in page.locator("#task-list .task-row", has_text="CASE-2026-0042").inner_text()
    shot(page, "inbox-after-completion")

    # Keyboard: j moves to a row, c claims it and opens it.
    page.keyboard.press("j")
    first = page.locator("#task-list li.task-row.selected")
    claimed_id = first.get_attribute("data-task-id")
    page.keyboard.press("c")
    page.wait_for_url(re.compile(rf"/tasks/{claimed_id}$"))
    assert page.locator("#assignee").inner_text() == "alice"

    # The supervisor opens the instance: the next step is marked active, the review completed.
    sup = new_page(locale="fr-FR")  # the supervisor reads French
    sign_in(sup, "sue")
    assert sup.url.endswith("/monitor")
    shot(sup, "monitor-instances")
    sup.fill('input[name="businessKey"]', "CASE-2026-0042")
    sup.click(".filters button[type=submit]")
    sup.wait_for_load_state()
    sup.click(f'a[href="/monitor/instances/{instance["id"]}"]')
    sup.wait_for_selector('#diagram[data-diagram-ready="true"]')
    assert sup.locator('.djs-element.active[data-element-id="Activity_finalize"]').count() == 1
    assert sup.locator('.djs-element.completed[data-element-id="Activity_review"]').count() == 1
    assert sup.locator('.djs-element.active[data-element-id="Activity_review"]').count() == 0
    shot(sup, "monitor-instance", full_page=True)

    assert sup.locator("h1").first.inner_text().startswith("#")
    assert "Historique" in sup.content()
    sup.click("text=Six node benchmark")
    sup.wait_for_selector('#diagram[data-diagram-ready="true"]')
    assert sup.locator(".count-overlay .c-active").count() >= 2
    shot(sup, "monitor-definition")
    sup.emulate_media(reduced_motion="reduce")  # charts drawn at once, not mid-animation
    sup.goto("/monitor/dashboard")
    sup.wait_for_function("document.querySelector('#queue-chart').width > 0")
    shot(sup, "dashboard", full_page=True)


def test_analyst_changes_a_label_validates_and_deploys_version_2(new_page, analyst, make_user):  # type: ignore[no-untyped-def]
    deploy_two_step(analyst)
    make_user("nina", "analyst")
    page = new_page()
    sign_in(page, "nina")
    assert page.url.endswith("/modeler")
    page.wait_for_selector('#canvas[data-modeler-ready="true"]')
    page.click('.def-group[data-key="six_node"] a.def-key')
    page.wait_for_selector('#canvas[data-modeler-ready="true"]')
    assert page.locator('.versions a[data-version="1"].current').count() == 1

    page.click('.djs-element[data-element-id="Activity_review"]', position={"x": 50, "y": 60})
    page.wait_for_selector("#prop-name")
    assert page.locator("#prop-formJsonSchemaFilename").input_value() == "review-schema.json"
    assert page.locator("#prop-dueIn").input_value() == "P2D"

    # A form that does not exist: the server's error is drawn on the element.
    page.fill("#prop-formJsonSchemaFilename", "missing-schema.json")
    page.press("#prop-formJsonSchemaFilename", "Tab")
    page.click("#validate-button")
    page.wait_for_selector('.error-overlay[data-error-element="Activity_review"]')
    assert page.locator('.djs-element.has-error[data-element-id="Activity_review"]').count() == 1
    shot(page, "modeler-validation-error")

    page.click('#status [data-goto="Activity_review"]')  # the error list selects the element
    page.fill("#prop-formJsonSchemaFilename", "review-schema.json")
    page.press("#prop-formJsonSchemaFilename", "Tab")
    page.fill("#prop-dueIn", "P3D")
    page.press("#prop-dueIn", "Tab")
    page.fill("#prop-name", "Review the file")
    page.press("#prop-name", "Tab")
    assert "Review the file" in page.locator('.djs-element[data-element-id="Activity_review"]').text_content()
    page.click("#validate-button")
    page.wait_for_selector("#status .alert.success")
    page.click("#deploy-button")
    page.wait_for_selector('.versions a[data-version="2"].current')
    page.wait_for_selector('#canvas[data-modeler-ready="true"]')
    assert "six_node v2" in page.locator(".flash").inner_text()
    assert "Review the file" in page.locator('.djs-element[data-element-id="Activity_review"]').text_content()
    page.click('.djs-element[data-element-id="Activity_review"]', position={"x": 50, "y": 60})
    assert page.locator("#prop-dueIn").input_value() == "P3D"
    shot(page, "modeler")

    # A new diagram: a user task added after the start event gets Guichet's properties from the side panel.
    page.goto("/modeler")
    page.wait_for_selector('#canvas[data-modeler-ready="true"]')
    page.evaluate("""() => {
      const modeler = window.guichetModeler, registry = modeler.get('elementRegistry');
      const start = registry.get('StartEvent_1');
      const task = modeler.get('autoPlace').append(start, modeler.get('elementFactory').createShape({type: 'bpmn:UserTask'}));
      const end = modeler.get('autoPlace').append(task, modeler.get('elementFactory').createShape({type: 'bpmn:EndEvent'}));
      modeler.get('selection').select(task);
      window.__taskId = task.id;
    }""")
    page.wait_for_selector("#prop-queue")
    for field, value in (("#prop-name", "Check identity"), ("#prop-queue", "reception"), ("#prop-priority", "75"),
                         ("#prop-dueIn", "PT4H"), ("#prop-preScript", "checked = False")):
        page.fill(field, value)
        page.press(field, "Tab")
    page.click(".modeler-canvas", position={"x": 600, "y": 560})  # nothing selected: the process itself
    page.fill("#prop-process-id", "web_made")
    page.press("#prop-process-id", "Tab")
    page.click("#deploy-button")
    page.wait_for_selector('.def-group[data-key="web_made"] .versions a[data-version="1"].current')
    made = analyst.get("/process-definitions?key=web_made").get_json()[0]
    user_tasks = analyst.get(f"/process-definitions/{made['id']}").get_json()["userTasks"]
    assert [(t["name"], t["queue"], t["priority"], t["due_in"]) for t in user_tasks] == \
        [("Check identity", "reception", 75, "PT4H")]
    xml = analyst.get(f"/process-definitions/{made['id']}/xml").get_data(as_text=True)
    assert "<spiffworkflow:preScript>checked = False</spiffworkflow:preScript>" in xml

    # Several files in one deployment, with a progress bar while they upload and deploy.
    other = two_step_xml().replace(b'id="six_node"', b'id="six_node_copy"').replace(
        b'processRef="six_node"', b'processRef="six_node_copy"')
    page.click("#upload-open")
    page.set_input_files("#upload-files", files=[
        {"name": "six_node_copy.bpmn", "mimeType": "application/xml", "buffer": other},
        {"name": "visit.schema.json", "mimeType": "application/json", "buffer": b'{"type": "object"}'}])
    assert page.locator("#upload-list li").count() == 2
    page.click("#upload-start")
    page.wait_for_selector('#upload-status a[href^="/modeler/"]')
    assert "six_node_copy v1" in page.locator("#upload-status").inner_text()
    shot(page, "modeler-upload")
    page.keyboard.press("Escape")

    page.goto("/modeler/forms/review")
    page.wait_for_selector('#preview[data-rendered="true"] [name="approved"]')
    page.click("details summary")
    page.fill("#new-name", "visit_date")
    page.fill("#new-title", "Date of the visit")
    page.select_option("#new-type", "date")
    page.click("#add-field")
    page.wait_for_selector('#preview input[name="visit_date"][type="date"]')
    shot(page, "form-editor")
