"""Monitoring, dashboard and modeler pages through the Flask test client: roles, CSRF, operations, deploys."""
from __future__ import annotations

import json

import pytest

from tests.web.conftest import REVIEW_SCHEMA, deploy_six_node, six_node_xml, start_case

JSON = {"Accept": "application/json"}


@pytest.mark.parametrize("path", ["/modeler", "/modeler/forms", "/monitor", "/monitor/dashboard"])
def test_agents_cannot_open_analyst_or_supervisor_pages(client, web_login, path):  # type: ignore[no-untyped-def]
    web_login("alice", "agent", ["agents"])
    assert client.get(path).status_code == 403


def test_analyst_cannot_operate_and_supervisor_cannot_model(client, web_login):  # type: ignore[no-untyped-def]
    web_login("ana", "analyst")
    assert client.get("/monitor").status_code == 403
    assert client.get("/modeler").status_code == 200
    web_login("sue", "supervisor")
    assert client.get("/modeler").status_code == 403
    assert client.post("/modeler/deploy", json={"files": []}, headers=JSON).status_code == 403


def test_navigation_follows_the_role(client, web_login):  # type: ignore[no-untyped-def]
    web_login("ana", "analyst")
    html = client.get("/modeler").get_data(as_text=True)
    assert 'href="/modeler"' in html and 'href="/monitor"' not in html and 'href="/inbox"' not in html
    web_login("sue", "supervisor")
    html = client.get("/monitor").get_data(as_text=True)
    assert 'href="/monitor/dashboard"' in html and 'href="/inbox"' in html and 'href="/modeler"' not in html


def test_monitor_pages_and_operations(client, analyst, login, web_login):  # type: ignore[no-untyped-def]
    definition_id = deploy_six_node(analyst)["definitions"][0]["id"]
    api = login("starter", "agent", ["agents"])
    first = start_case(api, "CASE-A", ssn="1850775123456")
    start_case(api, "CASE-B")
    web_login("sue", "supervisor")
    listing = client.get("/monitor").get_data(as_text=True)
    assert "CASE-A" in listing and "CASE-B" in listing
    filtered = client.get("/monitor?businessKey=CASE-A&status=running").get_data(as_text=True)
    assert "CASE-A" in filtered and "CASE-B" not in filtered
    by_var = client.get("/monitor?varName=ssn&varValue=1850775123456").get_data(as_text=True)
    assert "CASE-A" in by_var and "CASE-B" not in by_var
    assert "CASE-A" not in client.get("/monitor?status=completed").get_data(as_text=True)
    page = client.get(f"/monitor/instances/{first['id']}").get_data(as_text=True)
    assert "Activity_review" in page and 'id="suspend-button"' in page
    assert client.get(f"/monitor/definitions/{definition_id}/xml").data.startswith(b"<?xml")
    assert client.post(f"/monitor/instances/{first['id']}/suspend").status_code == 302
    assert api.get(f"/process-instances/{first['id']}").get_json()["status"] == "suspended"
    resumed = client.post(f"/monitor/instances/{first['id']}/resume", headers=JSON)
    assert resumed.get_json() == {"id": first["id"], "status": "running"}
    again = client.post(f"/monitor/instances/{first['id']}/resume", headers=JSON)
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert client.post(f"/monitor/instances/{first['id']}/explode").status_code == 404
    definition = client.get(f"/monitor/definitions/{definition_id}").get_data(as_text=True)
    assert "Activity_review" in definition and "data-counts=" in definition
    dashboard = client.get("/monitor/dashboard").get_data(as_text=True)
    assert "Oldest waiting tasks" in dashboard and '"open": [2]' in dashboard.replace("&#34;", '"') or \
        '"open":[2]' in dashboard


def test_modeler_validate_and_deploy(client, analyst, web_login):  # type: ignore[no-untyped-def]
    definition_id = deploy_six_node(analyst)["definitions"][0]["id"]
    web_login("ana", create=False)
    page = client.get(f"/modeler/{definition_id}").get_data(as_text=True)
    assert "six_node" in page and 'data-version="1"' in page
    xml = six_node_xml().decode()
    ok = client.post("/modeler/validate", json={"files": [{"name": "six_node.bpmn", "content": xml}]}, headers=JSON)
    assert ok.status_code == 200 and ok.get_json()["ok"] is True
    bad_xml = xml.replace('sourceRef="Activity_review" targetRef="Gateway_decision"',
                          'sourceRef="Activity_review" targetRef="Nowhere"')
    bad = client.post("/modeler/validate", json={"files": [{"name": "six_node.bpmn", "content": bad_xml}]},
                      headers=JSON)
    assert bad.status_code == 422 and bad.get_json()["errors"]
    changed = xml.replace('name="Review case"', 'name="Review the case"')
    deployed = client.post("/modeler/deploy", json={"files": [{"name": "six_node.bpmn", "content": changed}]},
                           headers=JSON)
    assert deployed.status_code == 201
    assert [(d["key"], d["version"], d["created"]) for d in deployed.get_json()["definitions"]] == \
        [("six_node", 2, True)]
    # validating did not deploy anything: version 2 came from the deploy
    assert 'data-version="2"' in client.get(f"/modeler/{definition_id}").get_data(as_text=True)
    assert client.post("/modeler/deploy", json={"nope": 1}, headers=JSON).status_code == 400


def test_multi_file_deployment_and_forms(client, web_login):  # type: ignore[no-untyped-def]
    import io
    web_login("ana", "analyst")
    response = client.post("/modeler/deployments", headers=JSON, content_type="multipart/form-data", data={
        "files": [(io.BytesIO(six_node_xml()), "six_node.bpmn"),
                  (io.BytesIO(json.dumps(REVIEW_SCHEMA).encode()), "review-schema.json")]})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["definitions"][0]["key"] == "six_node"
    forms = client.get("/modeler/forms").get_data(as_text=True)
    assert "review" in forms
    assert "Approved" in client.get("/modeler/forms/review").get_data(as_text=True)
    preview = client.post("/modeler/forms/preview", json={"schema": REVIEW_SCHEMA, "uiSchema": {}})
    assert preview.status_code == 200 and 'name="approved"' in preview.get_data(as_text=True)
    assert client.get("/modeler/forms/unknown").status_code == 404


def test_csrf_is_required_for_form_posts(app, client, web_login):  # type: ignore[no-untyped-def]
    web_login("ana", "analyst")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post("/modeler/validate", json={"files": []}, headers=JSON)
        assert refused.status_code == 400
        assert client.post("/logout").status_code == 400
        page = client.get("/modeler").get_data(as_text=True)
        token = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
        accepted = client.post("/modeler/validate", json={"files": []}, headers={**JSON, "X-CSRFToken": token})
        assert accepted.status_code == 422  # past CSRF: the service refuses an empty deployment
        assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_language_follows_the_choice_then_the_browser(client, web_login):  # type: ignore[no-untyped-def]
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Se connecter" in client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).get_data(as_text=True)
    client.post("/lang", data={"lang": "en", "next": "/login"})
    assert "Sign in" in client.get("/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert client.post("/lang", data={"lang": "fr", "next": "https://evil.example/"}).headers["Location"] == "/"
    french = client.get("/login", headers={"Accept-Language": "en-GB"}).get_data(as_text=True)
    assert '<html lang="fr">' in french and "Identifiant" in french


def test_dates_follow_the_browser_region(client, analyst, login, web_login):  # type: ignore[no-untyped-def]
    deploy_six_node(analyst)
    start_case(login("starter", "agent", ["agents"]), "CASE-R")
    web_login("alice", "agent", ["agents"])
    british = client.get("/inbox", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(as_text=True)
    american = client.get("/inbox", headers={"Accept-Language": "en-US"}).get_data(as_text=True)
    french = client.get("/inbox", headers={"Accept-Language": "fr-FR"}).get_data(as_text=True)
    import re
    assert re.search(r"\d\d/\d\d/\d{4}, \d\d:\d\d", british)  # day first, 24-hour clock
    assert re.search(r"\d{1,2}/\d{1,2}/\d\d, \d{1,2}:\d\d\s?[AP]M", american)
    assert "Corbeille" in french and "Prendre" not in french


def test_incident_is_listed_with_retry(app, client, analyst, login, web_login):  # type: ignore[no-untyped-def]
    from app.extensions import db
    from app.models import Incident
    deploy_six_node(analyst)
    instance = start_case(login("starter", "agent", ["agents"]), "CASE-I")
    with app.app_context():
        incident = Incident(instance_id=instance["id"], element_id="Activity_prepare", message="mail server down")
        db.session.add(incident)
        db.session.commit()
        incident_id = incident.id
    web_login("sue", "supervisor")
    page = client.get(f"/monitor/instances/{instance['id']}").get_data(as_text=True)
    assert "mail server down" in page and f"/monitor/incidents/{incident_id}/retry" in page
    assert "data-failed='[&#34;Activity_prepare&#34;]'" in page
    retried = client.post(f"/monitor/incidents/{incident_id}/retry")
    assert retried.status_code == 302 and retried.headers["Location"].endswith(f"/monitor/instances/{instance['id']}")
    assert client.post("/monitor/incidents/999999/retry").status_code == 404
